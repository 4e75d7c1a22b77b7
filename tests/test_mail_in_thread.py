"""Where an inbound mail goes (mail_in.thread.decide): the threading rules, checked
on every combination of facts, then rule by rule. Pure: no database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from unisupport.mail_in.thread import (
    ContactOf,
    Facts,
    Outcome,
    Refusal,
    Thread,
    decide,
    incident_title,
    is_our_address,
    reply_token,
    stated_severity,
)
from unisupport.sla.severity import Severity

NOW = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
OPEN = Thread(11, customer_id=1, status="open")
MITIGATED = Thread(12, customer_id=1, status="mitigated")
CLOSED_RECENT = Thread(13, customer_id=1, status="closed", closed_at=NOW - timedelta(days=3))
CLOSED_OLD = Thread(14, customer_id=1, status="closed", closed_at=NOW - timedelta(days=30))
OTHER_CUSTOMERS = Thread(21, customer_id=2, status="open")
OPENER_1 = ContactOf(customer_id=1, contact_id=101, may_open=True)
WATCHER_1 = ContactOf(customer_id=1, contact_id=102, may_open=False)
OPENER_2 = ContactOf(customer_id=2, contact_id=201, may_open=True)

THREADS = [None, OPEN, MITIGATED, CLOSED_RECENT, CLOSED_OLD, OTHER_CUSTOMERS]
CONTACTS = [(), (OPENER_1,), (WATCHER_1,), (OPENER_2,), (OPENER_1, OPENER_2)]


def every_combination():
    for automatic, too_large, crowd, token, by_token, by_refs, by_subject, contacts, may_answer in itertools.product(
        [None, "Auto-Submitted: auto-replied"],
        [None, "the mail is 31.0 MB"],
        [None, "sent to 500 recipients"],
        [None, "tok"],
        THREADS,
        THREADS,
        THREADS,
        CONTACTS,
        [True, False],
    ):
        if by_token is not None and token is None:
            continue  # a thread found by token needs a token
        yield Facts(
            now=NOW,
            sender="someone@x.example",
            contacts=contacts,
            token=token,
            by_token=by_token,
            by_references=by_refs,
            by_subject=by_subject,
            automatic=automatic,
            may_answer=may_answer,
            too_large=too_large,
            too_many_recipients=crowd,
        )


ALL = list(every_combination())


def test_the_combinations_are_many():
    assert len(ALL) > 20_000


def test_an_automatic_mail_opens_reopens_and_answers_nothing():
    for f in ALL:
        d = decide(f)
        if f.automatic:
            assert d.outcome is Outcome.IGNORED and not d.answer, f


def test_no_answer_goes_where_the_loop_rules_forbid_it():
    for f in ALL:
        d = decide(f)
        if d.answer:
            assert f.may_answer and not f.automatic and not f.too_many_recipients, f


def test_only_a_designated_contact_who_may_open_opens_an_incident():
    for f in ALL:
        d = decide(f)
        if d.outcome in (Outcome.OPENED, Outcome.OPENED_LINKED):
            opener = next(c for c in f.contacts if c.contact_id == d.contact_id)
            assert opener.may_open and opener.customer_id == d.customer_id, f


def test_a_stranger_never_opens_reopens_or_joins_by_number():
    for f in ALL:
        if f.contacts:
            continue
        d = decide(f)
        assert d.outcome not in (Outcome.OPENED, Outcome.OPENED_LINKED, Outcome.REOPENED), f
        if d.outcome is Outcome.ATTACHED:
            assert d.via in ("reply-token", "references"), f


def test_the_subject_number_counts_only_for_a_contact_of_that_customer():
    for f in ALL:
        d = decide(f)
        if d.via == "subject":
            assert any(c.customer_id == f.by_subject.customer_id for c in f.contacts), f
            assert f.by_token is None and f.by_references is None


def test_the_reply_token_comes_first_then_the_references_then_the_subject():
    for f in ALL:
        d = decide(f)
        if d.outcome not in (Outcome.ATTACHED, Outcome.REOPENED, Outcome.OPENED_LINKED):
            continue
        if f.by_token is not None:
            assert (d.incident_id, d.via) == (f.by_token.incident_id, "reply-token"), f
        elif f.by_references is not None:
            assert (d.incident_id, d.via) == (f.by_references.incident_id, "references"), f
        else:
            assert d.via == "subject"


def test_an_unknown_token_is_refused_unless_the_references_find_the_thread():
    for f in ALL:
        if f.token and f.by_token is None and not (f.automatic or f.too_large or f.too_many_recipients):
            d = decide(f)
            if f.by_references is None and not _subject_counts(f):
                assert d.refusal is Refusal.UNKNOWN_TOKEN, f
            else:
                assert d.outcome is not Outcome.OPENED


def _subject_counts(f: Facts) -> bool:
    return f.by_subject is not None and any(c.customer_id == f.by_subject.customer_id for c in f.contacts)


def test_every_refusal_says_why():
    for f in ALL:
        d = decide(f)
        assert d.reason
        assert (d.outcome is Outcome.REFUSED) == (d.refusal is not None)


# ------------------------------------------------------------------ rule by rule
def facts(**kw) -> Facts:
    return Facts(**{"now": NOW, "sender": "marie@contoso.example", "may_answer": True} | kw)


def test_an_open_or_mitigated_incident_takes_the_mail_as_a_message():
    for thread in (OPEN, MITIGATED):
        d = decide(facts(token="t", by_token=thread))
        assert (d.outcome, d.incident_id, d.via) == (Outcome.ATTACHED, thread.incident_id, "reply-token")


def test_a_closed_incident_reopens_within_the_days_and_is_followed_up_after_them():
    closed = NOW - timedelta(days=7)
    exactly = Thread(13, 1, "closed", closed_at=closed)
    just_after = Thread(13, 1, "closed", closed_at=closed - timedelta(seconds=1))
    assert decide(facts(by_references=exactly, contacts=(OPENER_1,))).outcome is Outcome.REOPENED
    later = decide(facts(by_references=just_after, contacts=(OPENER_1,)))
    assert (later.outcome, later.incident_id, later.customer_id) == (Outcome.OPENED_LINKED, 13, 1)
    assert decide(facts(by_references=exactly, contacts=(OPENER_1,), reopen_days=3)).outcome is Outcome.OPENED_LINKED


def test_a_closed_incident_does_not_reopen_for_someone_who_is_not_its_customers_contact():
    d = decide(facts(token="t", by_token=CLOSED_RECENT, contacts=(OPENER_2,)))
    assert (d.outcome, d.refusal, d.rule) == (Outcome.REFUSED, Refusal.CLOSED, "R-ORD-4")


def test_a_new_mail_from_a_contact_opens_and_from_anyone_else_is_refused_with_one_answer():
    opened = decide(facts(contacts=(OPENER_1,)))
    assert (opened.outcome, opened.customer_id, opened.contact_id) == (Outcome.OPENED, 1, 101)
    stranger = decide(facts())
    assert (stranger.outcome, stranger.refusal, stranger.answer, stranger.rule) == (
        Outcome.REFUSED,
        Refusal.NOT_A_CONTACT,
        True,
        "R-ORD-4",
    )
    assert not decide(facts(may_answer=False)).answer
    assert decide(facts(contacts=(WATCHER_1,))).refusal is Refusal.MAY_NOT_OPEN
    assert decide(facts(contacts=(OPENER_1, OPENER_2))).refusal is Refusal.SEVERAL_CUSTOMERS


def test_a_forged_number_from_a_stranger_or_another_customer_joins_nothing():
    assert decide(facts(by_subject=OPEN)).refusal is Refusal.NOT_A_CONTACT
    other = decide(facts(by_subject=OPEN, contacts=(OPENER_2,)))
    assert (other.outcome, other.customer_id) == (Outcome.OPENED, 2)  # their own new incident
    own = decide(facts(by_subject=OPEN, contacts=(OPENER_1,)))
    assert (own.outcome, own.incident_id, own.via) == (Outcome.ATTACHED, 11, "subject")


def test_too_large_and_crowd_mails_are_refused_and_only_the_first_answered():
    assert decide(facts(too_large="31 MB", contacts=(OPENER_1,))).refusal is Refusal.TOO_LARGE
    assert decide(facts(too_large="31 MB")).answer
    crowd = decide(facts(too_many_recipients="sent to 500 recipients", contacts=(OPENER_1,), by_references=OPEN))
    assert (crowd.refusal, crowd.answer) == (Refusal.MASS_MAILING, False)


def test_an_automatic_reply_on_a_thread_is_noted_on_it():
    d = decide(facts(automatic="Auto-Submitted: auto-replied", by_references=OPEN, contacts=(OPENER_1,)))
    assert (d.outcome, d.incident_id, d.answer) == (Outcome.IGNORED, 11, False)


# ------------------------------------------------------------------ subjects and addresses
@pytest.mark.parametrize(
    "subject, severity",
    [
        ("[Sev A] Exchange down", Severity.SEV_A),
        ("[Sev 1] Azure down", Severity.SEV_1),
        ("[sev b] slow", Severity.SEV_B),
        ("[Sévérité B] Lenteurs", Severity.SEV_B),
        ("[Severite C] question", Severity.SEV_C),
        ("[Severity: A] x", Severity.SEV_A),
        ("[Gravité A] panne", Severity.SEV_A),
        ("Sev A without brackets", None),
        ("[Sev D] no such", None),
        ("", None),
    ],
)
def test_the_severity_a_subject_states(subject, severity):
    assert stated_severity(subject) == severity


def test_the_title_of_an_incident_opened_by_mail():
    assert incident_title("Fwd: RE: [Sev A] [#42] Exchange down", fallback="-") == "Exchange down"
    assert incident_title("   ", fallback="(no subject)") == "(no subject)"
    assert len(incident_title("x" * 500, fallback="-")) == 200


def test_the_reply_token_is_read_from_the_plus_address_of_the_reply_address_only():
    reply = "support@provider.example"
    token = "a" * 32
    assert reply_token([f"Support+{token.upper()}@Provider.Example"], reply) == token  # case folded by servers
    assert reply_token(["other+AbC@provider.example", "support@provider.example"], reply) is None
    assert reply_token([f"support+{token}@elsewhere.example"], reply) is None
    assert reply_token(["jonas@contoso.example", f"support+{token}@provider.example"], reply) == token
    # A plus address of ours with no well-formed token still names a token: refused as unknown.
    assert reply_token(["support+../etc@provider.example"], reply) == "../etc"
    assert is_our_address("SUPPORT+x@provider.example", reply) and is_our_address(reply, reply)
    assert not is_our_address("sales@provider.example", reply)
