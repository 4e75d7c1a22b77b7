"""Reading inbound mail: the corpus (tests/mail/manifest.yaml) as read, and the rules
of quoted history, signatures, file names, loops and bounces, one by one. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mail_corpus import entries, mail_bytes, name

from unisupport.mail_in.automatic import automatic_reason, may_answer, no_answer_reason
from unisupport.mail_in.message import mail_filename, parse
from unisupport.mail_in.quoted_history import is_forward, shown_text

OWN = ("support@provider.example", "unisupport@provider.example")


def test_the_corpus_has_at_least_25_mails_each_with_its_outcome():
    mails = entries()
    assert len(mails) >= 25
    assert all(entry.get("outcome") for entry in mails)
    assert {"fr", "en"} <= {entry["language"] for entry in mails}


@pytest.mark.parametrize("entry", entries(), ids=name)
def test_each_mail_of_the_corpus_reads_as_its_manifest_says(entry):
    mail = parse(mail_bytes(entry))
    for text in entry.get("body_has", []):
        assert text in mail.body, f"{text!r} missing from the body shown:\n{mail.body}"
    for text in entry.get("body_lacks", []):
        assert text not in mail.body, f"{text!r} should be trimmed from:\n{mail.body}"
    if "trimmed" in entry:
        assert mail.trimmed is entry["trimmed"]
    if "html_only" in entry:
        assert mail.html_only is entry["html_only"]
    if "subject" in entry:
        assert mail.subject == entry["subject"]
    if "attachments" in entry:
        names = [("inline:" if a.inline else "") + a.filename for a in mail.attachments]
        assert names == entry["attachments"]
    for note in entry.get("notes_has", []):
        assert any(note in n for n in mail.notes), mail.notes
    reason = automatic_reason(mail, own_addresses=OWN)
    if entry.get("automatic"):
        assert reason is not None and entry["automatic"] in reason
    else:
        assert reason is None, reason
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")


def test_the_original_bytes_are_kept_whole_and_a_mail_without_message_id_gets_a_stable_one():
    raw = mail_bytes({"file": "no_message_id.eml"})
    first, again = parse(raw), parse(raw)
    assert first.synthetic_id and first.message_id == again.message_id
    assert parse(raw + b"\nanother line\n").message_id != first.message_id
    assert first.size == len(raw)


def test_a_ten_megabyte_attachment_is_kept_byte_for_byte():
    mail = parse(mail_bytes({"generate": "attachment_10mb"}))
    (dump,) = mail.attachments
    assert len(dump.data) == 10 * 1024 * 1024 and dump.data.startswith(b"MDMP")


# ------------------------------------------------------------------ quoted history
@pytest.mark.parametrize(
    "text, shown",
    [
        ("Yes.\n\nOn Mon, 1 Jun 2026 at 10:00, Support <s@p.example> wrote:\n> Did it work?", "Yes."),
        ("Oui.\n\nLe lun. 1 juin 2026 à 10:00, Support <s@p.example> a écrit :\n> Alors ?", "Oui."),
        ("Ja.\n\nAm 01.06.2026 um 10:00 schrieb Support <s@p.example>:\n> Und?", "Ja."),
        # Gmail wraps a long attribution over two lines.
        ("Yes.\n\nOn Mon, Jun 1, 2026 at 10:00 AM Support Team <\nsupport@provider.example> wrote:\n> x", "Yes."),
        ("Fixed.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold", "Fixed."),
        ("Réglé.\n\n-----Message d'origine-----\nDe : Support\nEnvoyé : lundi\n\nancien", "Réglé."),
        ("Done\n\nFrom: Support <s@p>\nSent: Monday, June 1, 2026\nTo: Bob\nSubject: RE: x\n\nold", "Done"),
        ("Fait\n\n________________________________\nDe : S\nEnvoyé : lundi\nÀ : B\nObjet : x\n\nvieux", "Fait"),
        ("Thanks\n\n-- \nBob Smith\nContoso", "Thanks"),
        ("It works\n\nSent from my iPhone", "It works"),
        ("Ça marche\n\nEnvoyé de mon iPhone", "Ça marche"),
        ("Top\n\nGet Outlook for Android", "Top"),
        ("New text\n\n> old line\n> older line\n", "New text"),
    ],
)
def test_quoted_history_and_signatures_are_trimmed(text, shown):
    result = shown_text(text)
    assert result.text == shown and result.trimmed


@pytest.mark.parametrize(
    "text",
    [
        # An answer written between the questions keeps the questions.
        "See below.\n\n> Which version?\n16.0.1\n> Since when?\nMonday",
        # "From:" in a sentence, without the header block's other lines, is text.
        "From: our logs we see nothing unusual.\nThe To: field was empty though.",
        # A salutation is not a signature separator: nothing after it is lost.
        "Thanks, that fixed the login. But the sync fails:\n\n    ValueError: bad token\n\nCan you look?",
        "Le problème persiste.\nLe serveur a redémarré à 10 h.",
        "Sent from my laptop the logs yesterday, did they arrive?",
    ],
)
def test_text_that_only_looks_like_a_marker_is_kept_whole(text):
    result = shown_text(text)
    assert result.text == text and not result.trimmed


def test_a_mail_that_is_all_quotation_is_shown_whole_rather_than_empty():
    assert shown_text("> only\n> quoted").text == "> only\n> quoted"


def test_a_forward_keeps_everything_below_it():
    text = "FYI\n\nOn Mon, Jun 1, 2026 at 9:00 AM Dana <d@f.example> wrote:\n> the timeouts are back"
    assert shown_text(text, subject="Fwd: SQL timeouts").text == text
    assert shown_text(
        "FYI\n\n---------- Forwarded message ---------\nFrom: Dana\n\nOn Mon, Dana wrote:\n> x"
    ).text.endswith("> x")
    assert is_forward("TR: incident") and is_forward("RE: Fwd: x") and not is_forward("Re: forward planning")


def test_indentation_of_pasted_output_is_kept():
    text = "Output:\n\n    Identity   Status\n    EX01       Ready\n\nOn Mon, Support wrote:\n> run it"
    assert shown_text(text).text == "Output:\n\n    Identity   Status\n    EX01       Ready"


# ------------------------------------------------------------------ file names
@pytest.mark.parametrize(
    "given_name, kept",
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..\\..\\windows\\system32\\evil.dll", "_.._windows_system32_evil.dll"),
        ("report\r\nBcc: x@y.example.pdf", "report__Bcc_ x@y.example.pdf"),
        ("bell\x07\x00.txt", "bell__.txt"),
        ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override: an invisible character
        ("....", "attachment-3.png"),
        ("", "attachment-3.png"),
        (".hidden", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_file_names_are_names_without_folders_or_control_characters(given_name, kept):
    assert mail_filename(given_name, "image/png", 3) == kept


# ------------------------------------------------------------------ loops and bounces
def _mail(headers: str, body: str = "hello") -> bytes:
    return (headers.strip() + "\nMessage-ID: <m@x.example>\n\n" + body).encode()


@pytest.mark.parametrize(
    "headers, reason",
    [
        ("From: a@x.example\nAuto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("From: a@x.example\nAuto-Submitted: auto-generated; owner-email=x@y", "Auto-Submitted: auto-generated"),
        ("From: a@x.example\nPrecedence: bulk", "Precedence: bulk"),
        ("From: a@x.example\nPrecedence: list", "Precedence: list"),
        ("From: a@x.example\nPrecedence: junk", "Precedence: junk"),
        ("From: a@x.example\nX-Autoreply: yes", "X-Autoreply"),
        ("From: a@x.example\nX-Autorespond: 1", "X-Autorespond"),
        ("From: MAILER-DAEMON@mx.example", "a bounce (mailer-daemon)"),
        ("From: postmaster@mx.example", "a bounce (postmaster)"),
        ("From: a@x.example\nReturn-Path: <>", "empty Return-Path"),
        ("From: a@x.example\nSubject: Out of Office: back Monday", "automatic reply"),
        ("From: a@x.example\nSubject: Réponse automatique : absent", "automatic reply"),
        ("From: a@x.example\nSubject: Automatic reply: x", "automatic reply"),
        ("From: a@x.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=b", "report"),
        ("From: unisupport@provider.example", "our own mail"),
        ("Subject: nobody sent this", "no sender"),
    ],
)
def test_mail_written_by_programs_is_recognised(headers, reason):
    found = automatic_reason(parse(_mail(headers)), own_addresses=OWN)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "headers",
    [
        "From: a@x.example\nAuto-Submitted: no",
        "From: a@x.example\nPrecedence: first-class",
        "From: a@x.example\nX-Autoreply: no",
        "From: a@x.example\nSubject: Re: out of the office tomorrow, can we talk today?",
        "From: a@x.example\nReturn-Path: <a@x.example>",
    ],
)
def test_mail_written_by_people_is_not_taken_for_automatic(headers):
    assert automatic_reason(parse(_mail(headers)), own_addresses=OWN) is None


@pytest.mark.parametrize(
    "headers, why",
    [
        ("From: a@x.example\nList-Id: <team.x.example>", "mailing-list"),
        ("From: no-reply@x.example", "does not read answers"),
        ("From: noreply@x.example", "does not read answers"),
        ("From: a@x.example\nX-Auto-Response-Suppress: OOF, AutoReply", "X-Auto-Response-Suppress"),
    ],
)
def test_some_mail_from_people_is_never_answered_automatically(headers, why):
    mail = parse(_mail(headers))
    reason = no_answer_reason(mail, automatic_reason(mail, own_addresses=OWN))
    assert reason is not None and why in reason


def test_a_mail_to_a_crowd_is_not_answered():
    to = ", ".join(f"p{i}@x.example" for i in range(51))
    mail = parse(_mail(f"From: a@x.example\nTo: {to}"))
    assert len(mail.recipients) == 51 and "51 recipients" in no_answer_reason(mail, None)


def test_at_most_one_answer_per_sender_per_hour():
    now = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    assert may_answer(None, None, now)
    assert not may_answer(None, now - timedelta(minutes=59, seconds=59), now)
    assert may_answer(None, now - timedelta(hours=1), now)
    assert not may_answer("a bounce", None, now)


# ------------------------------------------------------------------ never a crash
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_at_all_are_read_without_raising(raw):
    mail = parse(raw)
    assert mail.message_id and mail.size == len(raw)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Content-Type: multipart/mixed; boundary=x\n",
                "Content-Type: text/plain; charset=bogus\n",
                "Content-Transfer-Encoding: base64\n",
                "Content-Transfer-Encoding: quoted-printable\n",
                "Subject: =?utf-8?b?!!!?=\n",
                "From: <<@>>\n",
                "From: =?x-unknown?q?a?= <a@b.example>\n",
                "Message-ID: <<<>>>\n",
                "References: <a@b> <c@d\n",
                "Content-Disposition: attachment; filename*=utf-8''%FF%FE\n",
                "Content-Type: message/rfc822\n",
                "\n--x\nContent-Type: text/html\n\n<p>hi\n",
                "\n--x--\n",
                "\nbody =C3=A9 =ZZ\n",
            ]
        ),
        max_size=12,
    )
)
def test_broken_headers_and_mime_are_read_without_raising(pieces):
    mail = parse("".join(pieces).encode())
    assert isinstance(mail.body, str) and isinstance(mail.notes, tuple)
