"""The worker says when mail cannot go out, and the operator can see and retry it:
real ``unisupport`` processes on SQLite and PostgreSQL, against an SMTP port that
refuses (nothing listens there) and then a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cli_process import clean_environment, unisupport
from sqlalchemy import select
from test_notifications import MAIL_FROM, free_port, queue, smtp_server  # noqa: F401  (fixtures)

from unisupport.clock import FixedClock
from unisupport.storage.tables import AuditEvent, OutboxRow

RECIPIENTS = ["claire@contoso.example", "john@contoso.example"]


@pytest.fixture
def cli(fresh_database, tmp_path):
    """``unisupport …`` on ``fresh_database``; ``smtp=`` sets UNISUPPORT_SMTP_URL."""
    url = fresh_database.engine.url.render_as_string(hide_password=False)
    base = clean_environment(
        UNISUPPORT_DATABASE_URL=url, UNISUPPORT_MAIL_FROM=MAIL_FROM, UNISUPPORT_ACTOR="ops@provider"
    )

    def run(*args: str, smtp: str | None = None) -> subprocess.CompletedProcess:
        done = unisupport(*args, env=base | ({"UNISUPPORT_SMTP_URL": smtp} if smtp else {}), cwd=tmp_path)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    return run


@pytest.fixture
def queued(fresh_database) -> list[int]:
    """Two breach notifications, due a minute ago (the CLI runs on the system clock)."""
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=1))
    return [queue(fresh_database, clock, recipient=r, language="en") for r in RECIPIENTS]  # type: ignore[misc]


def test_a_refusing_smtp_port_is_said_line_by_line_summed_up_and_exits_1(cli, queued):
    closed = f"smtp://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    done = cli("worker", "--once", smtp=closed)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == len(queued)  # one line per mail, nothing else
    for outbox_id, recipient, line in zip(queued, RECIPIENTS, lines, strict=True):
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d WARNING mail {outbox_id} \(incident\.breached\) to {recipient} "
            r"not sent, attempt 1: cannot send: ConnectionRefusedError: \[Errno 111\] Connection refused; "
            r"next try at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
            line,
        ), line
    assert done.stdout.splitlines()[-1] == (
        "mail: 0 sent, 2 failed (2 to retry, 0 for good); 2 waiting; see `unisupport outbox list --stuck`"
    )


def test_the_operator_sees_what_is_stuck_retries_it_and_the_worker_sends_it(cli, queued, smtp_server):  # noqa: F811
    cli("worker", "--once", smtp=f"smtp://127.0.0.1:{free_port()}")
    stuck = json.loads(cli("outbox", "list", "--stuck", "--json").stdout)
    assert stuck["total"] == 2
    assert [(m["id"], m["recipient"], m["status"], m["attempts"]) for m in stuck["mail"]] == [
        (queued[0], RECIPIENTS[0], "pending", 1),
        (queued[1], RECIPIENTS[1], "pending", 1),
    ]
    assert all("Connection refused" in m["last_error"] and m["kind"] == "incident.breached" for m in stuck["mail"])
    assert all(datetime.fromisoformat(m["next_attempt"]) > datetime.now(UTC) for m in stuck["mail"])  # backoff
    shown = cli("outbox", "list").stdout
    assert f"{queued[0]}  incident.breached to {RECIPIENTS[0]} · pending, 1 attempt · next try " in shown
    assert "last error: cannot send: ConnectionRefusedError: [Errno 111] Connection refused" in shown

    # Waiting for its backoff, nothing is sent; after a retry, the next pass sends both.
    assert "mail: 0 sent, 0 failed; 2 waiting" in cli("worker", "--once", smtp=smtp_server.url).stdout
    retried = cli("outbox", "retry", "--all")
    assert retried.returncode == 0 and retried.stdout.splitlines()[-1] == "2 mails due now"
    done = cli("worker", "--once", smtp=smtp_server.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == "mail: 2 sent, 0 failed; 0 waiting"
    assert sorted(m["To"] for m in smtp_server.messages) == RECIPIENTS
    assert cli("outbox", "list").stdout.strip() == "the outbox is empty: every mail was sent"
    sent = cli("outbox", "retry", str(queued[0]))
    assert sent.returncode == 2 and sent.stderr.startswith(f"error: ID: mail {queued[0]} was sent at ")


def test_a_refused_recipient_fails_for_good_until_retried(cli, fresh_database, smtp_server):  # noqa: F811
    clock = FixedClock(datetime.now(UTC) - timedelta(minutes=1))
    outbox_id = queue(fresh_database, clock, recipient="refused@contoso.example", language="en")
    done = cli("worker", "--once", smtp=smtp_server.url)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and " ERROR mail " in done.stderr and "550" in done.stderr
    assert f"failed for good (unisupport outbox retry {outbox_id} sends it again)" in done.stderr
    assert done.stdout.splitlines()[-1] == (
        "mail: 0 sent, 1 failed (0 to retry, 1 for good); 0 waiting, 1 failed for good; "
        "see `unisupport outbox list --stuck`"
    )
    listed = cli("outbox", "list", "--stuck").stdout
    assert f"failed for good: `unisupport outbox retry {outbox_id}` tries again" in listed

    retried = json.loads(cli("outbox", "retry", str(outbox_id), "--json").stdout)
    assert [(m["id"], m["status"], m["attempts"]) for m in retried] == [(outbox_id, "pending", 0)]
    with fresh_database.reading() as session:
        row = session.get_one(OutboxRow, outbox_id)
        assert (row.status, row.attempts) == ("pending", 0) and "550" in (row.last_error or "")
        audit = session.scalars(select(AuditEvent).where(AuditEvent.tag == "outbox:retried")).one()
        assert (audit.subject_id, audit.actor, audit.before["status"]) == (outbox_id, "ops@provider", "failed")


def test_retry_needs_ids_or_all_and_names_a_missing_one(cli, queued):
    for args, message in [
        ((), "error: ID: give outbox ids or --all (not both)"),
        (("--all", str(queued[0])), "error: ID: give outbox ids or --all (not both)"),
        (("999999",), "error: ID: no mail 999999 in the outbox"),
    ]:
        done = cli("outbox", "retry", *args)
        assert (done.returncode, done.stderr.strip()) == (2, message)
