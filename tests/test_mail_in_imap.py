"""Mail in against real parts: a real Dovecot (``.ci/start-dovecot.sh``, the URL in
``UNISUPPORT_TEST_IMAP_URL``) fed with IMAP APPEND, and ``unisupport mail-in`` run as
a process — on stdin with the exit codes MTAs understand, against the mailbox with
``--once``, ``--status`` and ``--retry-failed``, and killed with SIGKILL half-way
through a batch, then restarted: no mail lost, none recorded twice."""

from __future__ import annotations

import imaplib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from conftest import IN_CI
from mail_corpus import NOW, PROVIDER, build_world, entries, mail_bytes
from sqlalchemy import func, select

from unisupport.clock import FixedClock
from unisupport.mail_in.imap import FAILED, HANDLED, Mailbox
from unisupport.services.mail_intake import poll
from unisupport.mail_in.settings import MailInSettings, imap_endpoint
from unisupport.services.incidents import IncidentSettings
from unisupport.storage.tables import InboundMailRow, MessageRow

IMAP = os.environ.get("UNISUPPORT_TEST_IMAP_URL")
SRC = Path(__file__).resolve().parents[1] / "src"
REPLY = f"support@{PROVIDER}"


@pytest.fixture
def imap_url() -> str:
    """A fresh, empty folder of the test Dovecot's mailbox."""
    if not IMAP:
        if IN_CI:
            raise RuntimeError("CI must run the mail-in tests on Dovecot: set UNISUPPORT_TEST_IMAP_URL")
        pytest.skip("no Dovecot here: set UNISUPPORT_TEST_IMAP_URL (.ci/start-dovecot.sh prints one)")
    folder = f"test-{uuid.uuid4().hex[:10]}"
    with _client(IMAP) as client:
        assert client.create(f'"{folder}"')[0] == "OK"
    parts = urlsplit(IMAP)
    return urlunsplit(parts._replace(path=f"/{folder}"))


class _client:
    def __init__(self, url: str):
        self.endpoint = imap_endpoint(url)

    def __enter__(self) -> imaplib.IMAP4:
        self.imap = imaplib.IMAP4(self.endpoint.host, self.endpoint.port)
        self.imap.login(self.endpoint.username, self.endpoint.password)
        return self.imap

    def __exit__(self, *exc) -> None:
        self.imap.logout()


def append(url: str, mails: list[bytes], folder: str | None = None) -> None:
    """Put mails into the mailbox as an MTA's delivery would (IMAP APPEND, CRLF lines)."""
    box = folder or imap_endpoint(url).mailbox
    with _client(url) as client:
        for raw in mails:
            crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            status, data = client.append(f'"{box}"', None, None, crlf)
            assert status == "OK", data


def flags(url: str, folder: str | None = None) -> list[str]:
    with _client(url) as client:
        _status, exists = client.select(f'"{folder or imap_endpoint(url).mailbox}"')
        if int(exists[0]) == 0:
            return []
        _status, data = client.fetch("1:*", "(FLAGS)")
        return [d.decode() for d in data if isinstance(d, bytes)]


def settings_for(url: str, tmp_path: Path, **kw) -> MailInSettings:
    return MailInSettings(
        reply_address=REPLY,
        mail_from=f"unisupport@{PROVIDER}",
        blob_dir=tmp_path / "blobs",
        incident=IncidentSettings(reply_address=REPLY),
        imap_url=url,
        **kw,
    )


def count(db, table, *where) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


MAIL_IN = [sys.executable, "-m", "unisupport.cli.main", "mail-in"]


def environment(db_url: str, tmp_path: Path, imap: str = "", **env: str) -> dict[str, str]:
    """What ``unisupport mail-in`` runs with: the test's database and mailbox."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SRC),
        "UNISUPPORT_DATABASE_URL": db_url,
        "UNISUPPORT_DATA_DIR": str(tmp_path / "data"),
        "UNISUPPORT_MAIL_REPLY_ADDRESS": REPLY,
        "UNISUPPORT_MAIL_FROM": f"unisupport@{PROVIDER}",
        "UNISUPPORT_IMAP_URL": imap,
    } | env


def command(db_url: str, tmp_path: Path, *args: str, imap: str = "", stdin: bytes | None = None, **env: str):
    result = subprocess.run(
        [*MAIL_IN, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environment(db_url, tmp_path, imap, **env),
        timeout=300,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def url_of(db) -> str:
    return db.engine.url.render_as_string(hide_password=False)


# ------------------------------------------------------------------ the mailbox
def test_one_pass_handles_the_corpus_from_dovecot_and_marks_every_mail(fresh_database, imap_url, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    corpus = [e for e in entries() if e.get("generate") != "attachment_30mb"]
    append(imap_url, [mail_bytes(e, world.threads) for e in corpus])
    settings = settings_for(imap_url, tmp_path)
    with Mailbox(imap_endpoint(imap_url)) as mailbox:
        report = poll(fresh_database, mailbox, settings=settings, clock=FixedClock(NOW), batch=7)
        assert mailbox.pending() == []
    assert report.outcomes == Counter(e["outcome"] for e in corpus) and report.failed == 0
    assert all(HANDLED in f and "\\Seen" in f for f in flags(imap_url))
    assert count(fresh_database, InboundMailRow) == len(corpus)
    with Mailbox(imap_endpoint(imap_url)) as mailbox:  # a second pass finds nothing to do
        assert poll(fresh_database, mailbox, settings=settings, clock=FixedClock(NOW)).handled == 0


def test_handled_mail_moves_to_the_done_folder(fresh_database, imap_url, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    append(imap_url, [mail_bytes({"file": f}, world.threads) for f in ("gmail_reply_fr.eml", "stranger_new.eml")])
    done = imap_endpoint(imap_url).mailbox + "-done"
    settings = settings_for(imap_url, tmp_path, imap_done_folder=done)
    with Mailbox(imap_endpoint(imap_url), done_folder=done) as mailbox:
        mailbox.ensure_folder(done)
        mailbox.ensure_folder(done)  # twice: it exists already, fine
        assert poll(fresh_database, mailbox, settings=settings, clock=FixedClock(NOW)).handled == 2
    assert flags(imap_url) == [] and len(flags(imap_url, done)) == 2


def test_a_mail_that_cannot_be_handled_stays_flagged_is_listed_and_is_tried_again(fresh_database, imap_url, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    append(imap_url, [mail_bytes({"file": "inline_image_and_pdf.eml"}, world.threads)])
    (tmp_path / "blob-file").write_text("a file where the blob folder should be")
    db_url = url_of(fresh_database)
    broken = command(db_url, tmp_path, "--once", imap=imap_url, UNISUPPORT_BLOB_DIR=str(tmp_path / "blob-file"))
    assert broken.returncode == 0, broken.stderr
    assert "1 could not be handled" in broken.stdout
    (flagged,) = flags(imap_url)
    assert FAILED in flagged and "\\Flagged" in flagged and HANDLED not in flagged
    status = command(db_url, tmp_path, "--status", imap=imap_url)
    assert status.returncode == 0 and "Could not be handled" in status.stdout
    assert "CAK5inline+pdf+01@mail.gmail.example" in status.stdout and "Error" in status.stdout
    # Fixed: the operator asks for another try.
    again = command(db_url, tmp_path, "--retry-failed", "--once", imap=imap_url)
    assert again.returncode == 0 and "1 failed mails will be tried again" in again.stdout, again.stderr
    assert "1 attached" in again.stdout
    (handled,) = flags(imap_url)
    assert HANDLED in handled and FAILED not in handled
    assert "No mail is waiting" in command(db_url, tmp_path, "--status").stdout


def test_an_unreachable_mailbox_is_a_temporary_failure(fresh_database, tmp_path):
    result = command(url_of(fresh_database), tmp_path, "--once", imap="imap://u:p@127.0.0.1:1/INBOX")
    assert result.returncode == 75 and "temporary failure" in result.stdout


def test_killed_half_way_through_a_batch_and_restarted_nothing_is_lost_or_doubled(fresh_database, imap_url, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    template = mail_bytes({"file": "gmail_reply_fr.eml"}, world.threads)
    total = 400
    mails = [
        template.replace(b"<CAGx8fZ1qv0Jm0p=3Qk2v-KxZ@", f"<kill-{n:04d}@".encode()).replace(
            b"Bonjour,", f"Bonjour ({n}),".encode(), 1
        )
        for n in range(total)
    ]
    append(imap_url, mails)
    db_url = url_of(fresh_database)
    first = subprocess.Popen(
        [*MAIL_IN, "--once"],
        env=environment(db_url, tmp_path, imap_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while count(fresh_database, InboundMailRow) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = count(fresh_database, InboundMailRow)
    assert 0 < killed_at < total, "the process must be killed half-way"
    again = command(db_url, tmp_path, "--once", imap=imap_url)
    assert again.returncode == 0, again.stderr
    with fresh_database.reading() as session:
        ids = session.scalars(select(InboundMailRow.message_id)).all()
        messages = session.scalars(
            select(MessageRow.mail_message_id).where(MessageRow.mail_message_id.like("<kill-%"))
        ).all()
    expected = {f"<kill-{n:04d}@mail.gmail.example>" for n in range(total)}
    assert len(ids) == len(set(ids)) == total and set(ids) == expected  # none lost, none twice
    assert len(messages) == len(set(messages)) == total
    assert all(HANDLED in f for f in flags(imap_url))


# ------------------------------------------------------------------ an MTA's pipe
def test_the_pipe_answers_with_the_exit_codes_mtas_understand(fresh_database, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    db_url = url_of(fresh_database)
    accepted = command(db_url, tmp_path, "--stdin", stdin=mail_bytes({"file": "gmail_reply_fr.eml"}, world.threads))
    assert accepted.returncode == 0 and "attached" in accepted.stderr, accepted.stderr
    again = command(db_url, tmp_path, "--stdin", stdin=mail_bytes({"file": "gmail_reply_fr.eml"}, world.threads))
    assert again.returncode == 0  # delivered twice: recorded once, accepted both times
    refused = command(db_url, tmp_path, "--stdin", stdin=mail_bytes({"file": "stranger_new.eml"}))
    assert refused.returncode == 0 and "refused" in refused.stderr  # recorded; the one answer is queued
    unknown = command(db_url, tmp_path, "--stdin", stdin=mail_bytes({"file": "unknown_token.eml"}))
    assert unknown.returncode == 67 and "names no incident" in unknown.stderr
    elsewhere = command(
        db_url, tmp_path, "--stdin", "--recipient", "sales@provider.example", stdin=b"Subject: x\n\nhello\n"
    )
    assert elsewhere.returncode == 67
    (tmp_path / "blob-file").write_text("not a folder")
    failing = command(
        db_url,
        tmp_path,
        "--stdin",
        stdin=mail_bytes({"file": "inline_image_and_pdf.eml"}, world.threads),
        UNISUPPORT_BLOB_DIR=str(tmp_path / "blob-file"),
    )
    assert failing.returncode == 75 and "could not be handled" in failing.stderr
    down = command(
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing", tmp_path, "--stdin", stdin=b"Subject: x\n\nhello\n"
    )
    assert down.returncode == 75 and "temporary failure" in down.stderr
    with fresh_database.reading() as session:
        outcomes = Counter(session.scalars(select(InboundMailRow.outcome)))
    assert outcomes == Counter({"attached": 1, "refused": 2, "failed": 1})
