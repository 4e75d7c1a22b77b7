"""Mail after a worker crash (issue 12), on SQLite and PostgreSQL, with real processes: a
real ``unisupport worker`` sends acknowledgements to a real, slow SMTP server (aiosmtpd),
is killed with SIGKILL part-way, and ``unisupport worker --once`` delivers the rest at
once — not after the ten-minute lease. At most the one mail in flight at the kill is
sent twice, with the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from test_notifications import Inbox, serving

from unisupport.access import SYSTEM, Principal, Role
from unisupport.incidents.requests import ClosureIn, IncidentIn
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services.mail_preferences import set_preference
from unisupport.services.orders import import_order
from unisupport.storage.tables import CustomerRow, OutboxRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
SRC = Path(__file__).resolve().parents[1] / "src"
INCIDENTS = 40
KILL_AFTER = 15
SMTP_DELAY = 0.15  # seconds per message: slow on purpose, so the kill lands mid-run


class SlowInbox(Inbox):
    """Accepts every message after a delay; tells when ``count`` messages have come."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count, self.reached = count, threading.Event()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_DELAY)
        reply = await super().handle_DATA(server, session, envelope)
        with self.lock:
            if len(self.messages) >= self.count:
                self.reached.set()
        return reply


@pytest.fixture
def slow_smtp():
    with serving(SlowInbox(KILL_AFTER)) as inbox:
        yield inbox


def _queue_acknowledgements(database) -> None:
    """40 incidents opened (then closed, so that no clock of theirs runs out while the
    worker sweeps): 40 acknowledgements queued, due since 25 November 2026."""
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    with database.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="setup", now=opened)
        # No satisfaction surveys on closing (R-CSAT-1): this test counts the acknowledgements.
        set_preference(
            session,
            address="marie.dupont@contoso.example",
            kind="survey",
            receives=False,
            actor="setup",
            now=opened,
            how="test setup",
        )
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        marie = Principal(
            user_id=1, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        for n in range(INCIDENTS):
            data = IncidentIn(
                site="paris", product="exchange-online", severity="C", title=f"Case {n}", business_impact="b"
            )
            incident = svc.open_incident(session, marie, data, now=opened)
            svc.close(session, SYSTEM, incident.id, ClosureIn(summary="done"), now=opened)


def _environment(database, smtp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "UNISUPPORT_DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "UNISUPPORT_SMTP_URL": smtp_url,
        "UNISUPPORT_MAIL_FROM": "Unified Support <support@unisupport.example>",
    }


def _statuses(database) -> Counter:
    with database.transaction() as session:
        return Counter(dict(session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()))


def test_a_killed_workers_mail_is_sent_at_once_by_the_next_worker(backend, fresh_database, slow_smtp):
    _queue_acknowledgements(fresh_database)
    assert _statuses(fresh_database) == Counter({"pending": INCIDENTS})
    env = _environment(fresh_database, slow_smtp.url)
    command = [sys.executable, "-m", "unisupport.cli.main", "worker"]
    worker = subprocess.Popen(
        [*command, "--name", "w1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert slow_smtp.reached.wait(timeout=120), "the worker sent fewer than 15 messages"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    with slow_smtp.lock:
        at_kill = len(slow_smtp.messages)
    assert KILL_AFTER <= at_kill < INCIDENTS
    assert _statuses(fresh_database)["sending"] > 0  # the dead worker's claims

    # SQLite runs one worker: it starts again under its name. PostgreSQL: any other
    # worker takes the dead one's claims over.
    name = "w1" if backend == "sqlite" else "w2"
    started = time.monotonic()
    done = subprocess.run(
        [*command, "--once", "--name", name], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 120  # far from the 600-second lease

    ids = Counter(m["Message-ID"] for m in slow_smtp.messages)
    assert len(ids) == INCIDENTS  # every acknowledgement delivered
    assert sum(ids.values()) - INCIDENTS <= 1  # at most the one in flight at the kill, twice…
    assert all(count == 1 for message_id, count in ids.items() if count != 2)
    assert _statuses(fresh_database) == Counter({"sent": INCIDENTS})
    with fresh_database.transaction() as session:
        rows = session.scalars(select(OutboxRow)).all()
        assert {r.message_id for r in rows} == set(ids)  # …and with the same Message-ID
        assert {r.claimed_by for r in rows} <= {"w1", name}
