"""Notifications through the outbox, delivered to a real SMTP server (aiosmtpd on
127.0.0.1), on SQLite and on PostgreSQL. The claims must really commit, so these
tests use ``fresh_database``.

SQLite deployments run one delivery worker (claims there are serialised by
``BEGIN IMMEDIATE`` anyway); PostgreSQL deployments may run several, which
``SELECT … FOR UPDATE SKIP LOCKED`` keeps apart."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from unisupport.clock import FixedClock
from unisupport.errors import InvalidInput
from unisupport.notifications.delivery import DeliveryReport, deliver_pending
from unisupport.notifications.mailer import TEMPLATES, SmtpMailer, render
from unisupport.notifications.outbox import (
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    claim,
    customer_not_before,
    enqueue,
    mark_failed,
)
from unisupport.notifications.wording import (
    format_datetime,
    format_day,
    format_duration,
    mail_language,
)
from unisupport.settings import Settings
from unisupport.sla.calendar import Calendar
from unisupport.storage.base import Base
from unisupport.storage.tables import CustomerRow, OutboxRow, SiteRow

PARIS = ZoneInfo("Europe/Paris")
MAIL_FROM = "Unified Support <support@unisupport.example>"
# Friday 27 November 2026, 10:00 in Paris.
FRIDAY_MORNING = datetime(2026, 11, 27, 10, 0, tzinfo=PARIS)
DUE = "2026-11-30T10:15:00+01:00"  # Monday 30 November 2026, 10:15 in Paris


# ---------------------------------------------------------------------- the SMTP server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts (and each one's
    envelope recipients), and refuses recipients whose address starts with ``refused``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)


@contextmanager
def serving(inbox: Inbox) -> Iterator[Inbox]:
    """A real SMTP server on a free loopback port delivering to ``inbox`` (its ``url``)."""
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"  # type: ignore[attr-defined]
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with serving(Inbox()) as inbox:
        yield inbox


@pytest.fixture
def mailer(smtp_server) -> SmtpMailer:
    return SmtpMailer(smtp_server.url, MAIL_FROM, timeout=10)


# ---------------------------------------------------------------------- data
def breach_payload(**changes) -> dict:
    payload = {
        "incident_number": "INC-2026-0042",
        "title": "SQL cluster down",
        "severity": "B",
        "customer_name": "Contoso",
        "first_response_due": DUE,
        "target_minutes": 120,
        "timezone": "Europe/Paris",
    }
    payload.update(changes)
    return payload


def setup_customer(database) -> tuple[int, int]:
    """A customer with a support site in Paris: (customer id, site id)."""
    with database.transaction() as session:
        customer = CustomerRow(code="CONTOSO", name="Contoso", created_at=FRIDAY_MORNING)
        session.add(customer)
        session.flush()
        site = SiteRow(
            customer_id=customer.id,
            code="PAR",
            name="Paris HQ",
            country="FR",
            timezone="Europe/Paris",
            language="fr",
            calendar={},
        )
        session.add(site)
        session.flush()
        return customer.id, site.id


def queue(
    database,
    clock,
    *,
    recipient="client@contoso.example",
    language="fr",
    key=None,
    payload=None,
    not_before=None,
    customer_id=None,
    site_id=None,
    kind="incident.breached",
) -> int | None:
    with database.transaction() as session:
        return enqueue(
            session,
            kind=kind,
            recipient=recipient,
            language=language,
            subject_type="incident",
            subject_id=42,
            payload=payload or breach_payload(),
            dedupe_key=key or f"incident:42:breached:first-response:{recipient}",
            not_before=not_before or clock.now(),
            customer_id=customer_id,
            now=clock.now(),
            business_hours_site_id=site_id,
        )


def outbox_row(database, outbox_id: int) -> OutboxRow:
    with database.transaction() as session:
        return session.get_one(OutboxRow, outbox_id)


def outbox_count(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxRow))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FRIDAY_MORNING.astimezone(UTC))


# ---------------------------------------------------------------------- delivery
def test_a_queued_notification_is_sent_once_in_the_recipients_language(fresh_database, mailer, smtp_server, clock):
    customer_id, _ = setup_customer(fresh_database)
    fr = queue(fresh_database, clock, recipient="claire@contoso.example", language="fr", customer_id=customer_id)
    en = queue(fresh_database, clock, recipient="john@contoso.example", language="en", customer_id=customer_id)

    report = deliver_pending(fresh_database, mailer, worker="w1", clock=clock)

    assert report == DeliveryReport(sent=2, failed=0, retried=0)
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    french, english = by_recipient["claire@contoso.example"], by_recipient["john@contoso.example"]
    assert french["Subject"] == "[INC-2026-0042] Objectif de première réponse dépassé (gravité B)"
    assert "lundi 30 novembre 2026 à 10:15 (Europe/Paris)" in french.get_content()
    assert "« SQL cluster down », gravité B" in french.get_content()
    assert french["Content-Language"] == "fr"
    assert english["Subject"] == "[INC-2026-0042] First-response target missed (severity B)"
    assert "Monday 30 November 2026 at 10:15 (Europe/Paris)" in english.get_content()
    assert english["Auto-Submitted"] == "auto-generated"
    assert english["From"] == MAIL_FROM

    # Once: a second run finds nothing to send.
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock) == DeliveryReport()
    assert len(smtp_server.messages) == 2
    for outbox_id, message in ((fr, french), (en, english)):
        row = outbox_row(fresh_database, outbox_id)
        assert (row.status, row.attempts, row.sent_at) == ("sent", 1, clock.now())
        assert row.message_id == message["Message-ID"]
        assert row.message_id.startswith(f"<outbox-{outbox_id}.") and row.message_id.endswith("@unisupport.example>")


def test_the_same_notification_queued_twice_is_one_row_and_one_mail(fresh_database, mailer, smtp_server, clock):
    first = queue(fresh_database, clock, key="incident:42:breached:first-response:client@contoso.example")
    again = queue(fresh_database, clock, key="incident:42:breached:first-response:client@contoso.example")
    assert first is not None and again is None

    deliver_pending(fresh_database, mailer, worker="w1", clock=clock)
    # Queued again after it was sent: still nothing new.
    assert queue(fresh_database, clock, key="incident:42:breached:first-response:client@contoso.example") is None
    deliver_pending(fresh_database, mailer, worker="w1", clock=clock)

    assert outbox_count(fresh_database) == 1
    assert len(smtp_server.messages) == 1


def test_concurrent_enqueues_of_one_notification_never_raise(fresh_database, clock):
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def watcher() -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(queue(fresh_database, clock, key="incident:42:warning:first-response:ops@example"))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcomes.append(exc)

    threads = [threading.Thread(target=watcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert outcomes.count(None) == 3
    assert outbox_count(fresh_database) == 1


def test_a_held_notification_is_not_sent_before_not_before(fresh_database, mailer, smtp_server, clock):
    outbox_id = queue(fresh_database, clock, not_before=clock.now() + timedelta(hours=2))

    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock).sent == 0
    clock.advance(hours=1, minutes=59)
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock).sent == 0
    assert smtp_server.messages == []
    clock.advance(minutes=1)
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock).sent == 1
    assert outbox_row(fresh_database, outbox_id).status == "sent"


def test_customer_not_before_of_a_friday_night_breach_in_paris_is_monday_nine():
    paris = Calendar(country="FR", timezone="Europe/Paris")
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=PARIS)
    assert customer_not_before(paris, friday_night) == datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
    # While the site is open, at once.
    assert customer_not_before(paris, FRIDAY_MORNING) == FRIDAY_MORNING


def test_a_business_hours_notification_due_while_the_worker_was_down_waits_for_the_next_opening(
    fresh_database, mailer, smtp_server, clock
):
    """No reminder at midnight (Zammad #4432): a customer notification held to the
    site's hours that the worker only reaches after closing goes back to the queue
    until the next opening, instead of being mailed at night."""
    customer_id, site_id = setup_customer(fresh_database)
    friday_late = datetime(2026, 11, 27, 17, 20, tzinfo=PARIS)
    outbox_id = queue(fresh_database, clock, not_before=friday_late, customer_id=customer_id, site_id=site_id)

    clock.at = datetime(2026, 11, 27, 23, 40, tzinfo=PARIS).astimezone(UTC)  # the worker is back, late
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock) == DeliveryReport()
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.attempts) == ("pending", 0)
    assert row.not_before == datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)

    clock.at = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS).astimezone(UTC)
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock).sent == 1
    assert len(smtp_server.messages) == 1


def test_two_workers_delivering_at_once_send_each_message_once(backend, fresh_database, mailer, smtp_server, clock):
    """PostgreSQL: SKIP LOCKED gives each worker its own rows. (On SQLite, where
    deployments run a single worker, BEGIN IMMEDIATE serialises the claims; the
    test runs there too.)"""
    ids = [queue(fresh_database, clock, recipient=f"user{i}@contoso.example") for i in range(40)]
    barrier = threading.Barrier(2)
    reports: dict[str, DeliveryReport] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            reports[name] = deliver_pending(fresh_database, mailer, worker=name, clock=clock, limit=3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)

    assert errors == []
    assert sum(r.sent for r in reports.values()) == 40
    seen = smtp_server.message_ids()
    assert len(seen) == 40 and set(seen.values()) == {1}
    with fresh_database.transaction() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids))).all()
        assert {row.status for row in rows} == {"sent"}
        assert {row.message_id for row in rows} == set(seen)
        assert {row.attempts for row in rows} == {1}


class WorkerCrash(BaseException):
    """The process dies: nothing in the delivery loop catches this."""


class CrashAfterSending:
    """A mailer whose worker dies right after the SMTP server accepted the message,
    before ``mark_sent`` could commit."""

    def __init__(self, inner: SmtpMailer):
        self.inner = inner
        self.mail_from = inner.mail_from

    def send(self, message):
        self.inner.send(message)
        raise WorkerCrash("killed between DATA accepted and mark_sent")


def test_a_crash_after_the_server_accepted_resends_with_the_same_message_id(
    backend, fresh_database, mailer, smtp_server, clock
):
    """At least once, recognisably once: the re-sent message has the Message-ID of the
    first, so the recipient's mail store or client (which de-duplicate by Message-ID)
    show one message; the server here keeps both, and sees one id twice. The crashed
    run's claim is free at once on PostgreSQL (its claim key is no longer locked); on
    SQLite, where one worker runs, when that worker starts again — a worker of another
    name waits for the lease."""
    outbox_id = queue(fresh_database, clock)
    with pytest.raises(WorkerCrash):
        deliver_pending(fresh_database, CrashAfterSending(mailer), worker="doomed", clock=clock)
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.claimed_by, row.sent_at) == ("sending", "doomed", None)

    rescuer = "rescuer"
    if backend == "sqlite":
        clock.advance(seconds=LEASE_SECONDS - 1)
        assert deliver_pending(fresh_database, mailer, worker="rescuer", clock=clock) == DeliveryReport()
        rescuer = "doomed"  # the one worker, started again
    assert deliver_pending(fresh_database, mailer, worker=rescuer, clock=clock).sent == 1

    assert len(smtp_server.messages) == 2
    [(message_id, count)] = smtp_server.message_ids().items()
    assert count == 2
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.claimed_by, row.attempts, row.message_id) == ("sent", rescuer, 2, message_id)
    assert smtp_server.messages[0].get_content() == smtp_server.messages[1].get_content()


def test_past_the_lease_another_worker_takes_a_lost_claim_over(fresh_database, mailer, smtp_server, clock):
    outbox_id = queue(fresh_database, clock)
    with fresh_database.transaction() as session:  # a claim made without a claim key: only the lease frees it
        assert [r.id for r in claim(session, worker="stuck", now=clock.now())] == [outbox_id]
    clock.advance(seconds=LEASE_SECONDS - 1)
    assert deliver_pending(fresh_database, mailer, worker="rescuer", clock=clock) == DeliveryReport()
    clock.advance(seconds=2)
    assert deliver_pending(fresh_database, mailer, worker="rescuer", clock=clock).sent == 1
    assert outbox_row(fresh_database, outbox_id).claimed_by == "rescuer"


class HeldSend:
    """A mailer that waits, inside ``send``, until the test lets it go on."""

    def __init__(self, inner: SmtpMailer):
        self.inner, self.mail_from = inner, inner.mail_from
        self.sending, self.go = threading.Event(), threading.Event()

    def send(self, message):
        self.sending.set()
        assert self.go.wait(timeout=60)
        return self.inner.send(message)


def test_the_claims_of_a_live_worker_stay_its_own(fresh_database, mailer, smtp_server, clock):
    outbox_id = queue(fresh_database, clock)
    held = HeldSend(mailer)
    reports: list[DeliveryReport] = []
    worker = threading.Thread(
        target=lambda: reports.append(deliver_pending(fresh_database, held, worker="w1", clock=clock))
    )
    worker.start()
    try:
        assert held.sending.wait(timeout=60)
        assert deliver_pending(fresh_database, mailer, worker="w2", clock=clock) == DeliveryReport()
    finally:
        held.go.set()
        worker.join(timeout=60)
    assert reports == [DeliveryReport(sent=1)]
    assert len(smtp_server.messages) == 1 and outbox_row(fresh_database, outbox_id).claimed_by == "w1"


def test_a_worker_whose_lease_ran_out_cannot_settle_the_row_it_lost(fresh_database, clock):
    outbox_id = queue(fresh_database, clock)
    with fresh_database.transaction() as session:
        assert [r.id for r in claim(session, worker="slow", now=clock.now())] == [outbox_id]
    clock.advance(seconds=LEASE_SECONDS + 1)
    with fresh_database.transaction() as session:
        assert [r.id for r in claim(session, worker="fast", now=clock.now())] == [outbox_id]
    with fresh_database.transaction() as session:
        assert (
            mark_failed(
                session, outbox_id, worker="slow", error="timeout", now=clock.now(), retry_after=timedelta(minutes=1)
            )
            is None
        )
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.claimed_by) == ("sending", "fast")


def test_an_unreachable_smtp_server_is_retried_with_backoff_then_the_row_fails(fresh_database, clock):
    down = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", MAIL_FROM, timeout=5)  # nothing listens there
    outbox_id = queue(fresh_database, clock)
    delays = []
    for attempt in range(1, MAX_ATTEMPTS):
        report = deliver_pending(fresh_database, down, worker="w1", clock=clock)
        assert report == DeliveryReport(retried=1)
        row = outbox_row(fresh_database, outbox_id)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "ConnectionRefusedError" in row.last_error
        delays.append(row.not_before - clock.now())
        # Not before its time…
        assert deliver_pending(fresh_database, down, worker="w1", clock=clock) == DeliveryReport()
        clock.at = row.not_before
    assert [d // timedelta(minutes=1) for d in delays] == [1, 2, 4, 8, 16, 32, 60]

    assert deliver_pending(fresh_database, down, worker="w1", clock=clock) == DeliveryReport(failed=1)
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    clock.advance(days=1)
    assert deliver_pending(fresh_database, down, worker="w1", clock=clock) == DeliveryReport()


def test_a_notification_retried_during_an_outage_is_sent_once_the_server_is_back(
    fresh_database, mailer, smtp_server, clock
):
    down = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", MAIL_FROM, timeout=5)
    outbox_id = queue(fresh_database, clock)
    assert deliver_pending(fresh_database, down, worker="w1", clock=clock).retried == 1
    clock.advance(minutes=1)
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock).sent == 1
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp_server.messages) == 1


def test_a_recipient_the_server_refuses_fails_at_once(fresh_database, mailer, smtp_server, clock):
    outbox_id = queue(fresh_database, clock, recipient="refused@contoso.example")
    assert deliver_pending(fresh_database, mailer, worker="w1", clock=clock) == DeliveryReport(failed=1)
    row = outbox_row(fresh_database, outbox_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error
    assert smtp_server.messages == []


def test_a_template_missing_a_field_fails_that_row_only(fresh_database, mailer, smtp_server, clock):
    incomplete = breach_payload()
    del incomplete["first_response_due"]
    bad = queue(fresh_database, clock, recipient="a@contoso.example", payload=incomplete)
    bad_date = queue(
        fresh_database,
        clock,
        recipient="b@contoso.example",
        payload=breach_payload(first_response_due="Monday morning"),
    )
    good = queue(fresh_database, clock, recipient="c@contoso.example")

    report = deliver_pending(fresh_database, mailer, worker="w1", clock=clock)

    assert report == DeliveryReport(sent=1, failed=2)
    assert [m["To"] for m in smtp_server.messages] == ["c@contoso.example"]
    assert outbox_row(fresh_database, good).status == "sent"
    row = outbox_row(fresh_database, bad)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "first_response_due" in row.last_error and "incident.breached.fr" in row.last_error
    row = outbox_row(fresh_database, bad_date)
    assert row.status == "failed" and "'Monday morning' is not an ISO 8601 date and time" in row.last_error


# ---------------------------------------------------------------------- enqueue
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "de"}, "language"),
        ({"kind": "incident.unknown"}, "kind"),
        ({"recipient": "not an address"}, "recipient"),
        (
            {"payload": breach_payload(first_response_due=datetime(2026, 11, 30, 9, 15, tzinfo=UTC))},
            "payload.first_response_due",
        ),
        ({"dedupe_key": ""}, "dedupe_key"),
    ],
)
def test_enqueue_refuses_what_could_never_be_sent(session, change, field):
    now = FRIDAY_MORNING
    arguments = {
        "kind": "incident.breached",
        "recipient": "client@contoso.example",
        "language": "fr",
        "subject_type": "incident",
        "subject_id": 42,
        "payload": breach_payload(),
        "dedupe_key": "k",
        "not_before": now,
        "customer_id": None,
        "now": now,
    }
    with pytest.raises(InvalidInput) as refused:
        enqueue(session, **{**arguments, **change})
    assert refused.value.field == field


def test_the_outbox_migration_matches_the_table(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, Base.metadata) if "outbox" in repr(d)]
    assert differences == []


# ---------------------------------------------------------------------- wording and templates
def test_dates_are_worded_in_the_sites_zone_with_the_zone_shown():
    assert format_datetime(DUE, "Europe/Paris", "fr") == "lundi 30 novembre 2026 à 10:15 (Europe/Paris)"
    assert format_datetime(DUE, "Europe/Paris", "en") == "Monday 30 November 2026 at 10:15 (Europe/Paris)"
    assert format_datetime(DUE, "America/New_York", "en") == "Monday 30 November 2026 at 04:15 (America/New_York)"
    assert format_day("2026-12-01", "fr") == "mardi 1er décembre 2026"
    assert format_duration(150, "fr") == "2 heures 30 minutes"
    assert format_duration(60, "en") == "1 hour"
    with pytest.raises(InvalidInput):
        format_datetime("2026-11-30T10:15:00", "Europe/Paris", "en")  # no offset


def test_recipients_are_written_to_in_french_or_else_english():
    assert [mail_language(code) for code in ("fr", "FR", "fr-CA", "en", "ja", None)] == [
        "fr",
        "fr",
        "fr",
        "en",
        "en",
        "en",
    ]


def test_every_kind_renders_in_both_languages():
    incident = {
        "incident_number": "INC-1",
        "title": "Down",
        "severity": "A",
        "customer_name": "Contoso",
        "timezone": "Europe/Paris",
    }
    payloads = {
        "incident.acknowledged": {
            **incident,
            "opened_at": DUE,
            "first_response_due": DUE,
            "target_minutes": 60,
            "coverage": "24x7",
        },
        "incident.warning": {**incident, "first_response_due": DUE, "minutes_left": 15},
        "incident.breached": {**incident, "first_response_due": DUE, "target_minutes": 60},
        "incident.escalated": {**incident, "escalated_at": DUE, "reason": "no progress"},
        "incident.customer_response_missed": {**incident, "requested_at": DUE, "response_due": DUE},
        "incident.breach_withdrawn": {**incident, "first_response_at": DUE, "first_response_due": DUE},
        "incident.update_warning": {
            **incident,
            "update_due": DUE,
            "update_minutes": 480,
            "coverage": "bh",
            "minutes_left": 30,
        },
        "incident.update_breached": {**incident, "update_due": DUE, "update_minutes": 60, "coverage": "24x7"},
        "incident.reply": {
            **incident,
            "incident_id": 1,
            "opened_at": DUE,
            "body": "The mailbox database is back.",
            "author": "Eva Engineer",
            "written_at": DUE,
            "to": "marie.dupont@contoso.example",
            "copies": "",
            "files": "trace.log (2 KB)",
        },
        "mail_in.refused": {  # says no date: the French check below is on its words
            "subject": "Help",
            "sender": "someone@elsewhere.example",
            "reason": "not-a-contact",
            "reply_address": "support@provider.example",
            "portal_url": "",
        },
        "booking.cancelled": {
            "booking_id": 7,
            "service": "Workshop",
            "customer_name": "Contoso",
            "site_name": "Paris HQ",
            "scheduled_on": "2026-12-01",
            "cancelled_at": DUE,
            "cancelled_by": "customer",
            "fee": "1200.5",
            "fee_unit": "credits",
            "timezone": "Europe/Paris",
        },
        "outage.notice": {
            "reference": "VN4S-1Z8",
            "title": "Storage degraded",
            "message": "Fix deployed",
            "notice": "update",
            "sequence": 2,
            "customer_name": "Contoso",
            "affected_en": "Azure Storage",
            "affected_fr": "Stockage Azure",
            "regions": "West Europe",
            "at": DUE,
            "timezone": "Europe/Paris",
        },
        "webhook.disabled": {
            "subscription_id": 3,
            "url": "https://itsm.contoso.example/hook",
            "reason": "gave-up",
            "failures": 13,
            "last_error": "http-error 500: down",
            "disabled_at": DUE,
            "timezone": "Europe/Paris",
        },
    }
    # Optional mail (R-COM-1): the delivery adds its unsubscribe and preferences links (and a survey's answer link).
    links = {"unsubscribe_url": "https://x/unsubscribe/t", "preferences_url": "https://x/preferences"}
    broadcast = {"subject": "News", "body": "Text", "customer_name": "Contoso"} | links
    payloads |= {kind: broadcast for kind in ("announcement", "newsletter", "briefing")}
    payloads["survey"] = links | {
        "survey_url": "https://x/surveys/answer/t",
        "survey_id": 1,
        "expires_at": DUE,
        "occasion": "incident",
        "reference": "INC-000001",
        "title": "Down",
        "about": "INC-000001 Down",
        "contact_name": "Marie",
        "timezone": "Europe/Paris",
    }
    assert {f"{kind}.{language}.txt" for kind in payloads for language in ("en", "fr")} == {
        p.name for p in TEMPLATES.glob("*.txt")
    }
    for kind, payload in payloads.items():
        for language in ("en", "fr"):
            subject, body = render(kind, language, payload)
            assert subject and "\n" not in subject and body.strip()
            french = {
                "mail_in.refused": "Bonjour",
                **dict.fromkeys(("announcement", "newsletter", "briefing"), "Vous recevez"),
            }.get(kind, "lundi")
            assert (french in subject + body) == (language == "fr"), (kind, language)
    assert "1\u202f200,50 crédits" in render("booking.cancelled", "fr", payloads["booking.cancelled"])[1]
    assert "1,200.50 credits" in render("booking.cancelled", "en", payloads["booking.cancelled"])[1]


# ---------------------------------------------------------------------- settings
def test_smtp_settings_are_validated_naming_the_variable():
    settings = Settings.from_env({})
    assert (settings.smtp_url, settings.mail_from) == ("", "unisupport@localhost")
    ok = Settings.from_env(
        {
            "UNISUPPORT_SMTP_URL": "smtps://bot:s%40cret@mail.example.com:465",
            "UNISUPPORT_MAIL_FROM": "Support <support@example.com>",
        }
    )
    assert ok.smtp_url.startswith("smtps://") and ok.mail_from == "Support <support@example.com>"
    assert SmtpMailer(ok.smtp_url, ok.mail_from).endpoint.password == "s@cret"
    for bad in (
        "http://mail.example.com:25",
        "smtp://mail.example.com",
        "smtp://bot@mail.example.com:25",
        "smtp://bot:secret@mail.example.com",
    ):
        with pytest.raises(InvalidInput) as refused:
            Settings.from_env({"UNISUPPORT_SMTP_URL": bad})
        assert refused.value.field == "UNISUPPORT_SMTP_URL"
        assert "secret" not in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({"UNISUPPORT_MAIL_FROM": "support"})
    assert refused.value.field == "UNISUPPORT_MAIL_FROM"
