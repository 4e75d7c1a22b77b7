"""The worker end to end, SQLite and PostgreSQL, with a real SMTP server (aiosmtpd):
a Sev B opened on a French site at 16:45 on a Friday gets its warning on Monday at
09:45 and its breach at 10:15 — each mailed once, in each recipient's language, and
nothing to the customer in the middle of the night."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from test_notifications import MAIL_FROM, mailer, smtp_server  # noqa: F401  (fixtures)
from unisupport.access import Principal, Role
from unisupport.clock import FixedClock
from unisupport.incidents.requests import IncidentIn
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.services.users import add_to_team, create_team, create_user
from unisupport.storage.tables import CustomerRow
from unisupport.worker import run_once

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"


def _setup(database) -> int:
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="setup", now=setup)
        create_team(session, code="standard-support", name="Standard support", actor="setup", now=setup)
        create_user(
            session,
            email="eva@provider.example",
            name="Eva",
            role=Role.ENGINEER,
            language="fr",
            actor="setup",
            now=setup,
        )
        add_to_team(session, email="eva@provider.example", team_code="standard-support", actor="setup", now=setup)
        create_user(
            session,
            email="ian@provider.example",
            name="Ian",
            role=Role.INCIDENT_MANAGER,
            language="en",
            actor="setup",
            now=setup,
        )
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        marie = Principal(
            user_id=99, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        incident = svc.open_incident(
            session,
            marie,
            IncidentIn(
                site="paris", product="exchange-online", severity="B", title="Mail flow stopped", business_impact="b"
            ),
            now=datetime(2026, 11, 27, 16, 45, tzinfo=PARIS),
        )
        return incident.id


def test_the_worker_mails_a_warning_and_a_breach_once_each(fresh_database, mailer, smtp_server):  # noqa: F811
    incident_id = _setup(fresh_database)
    clock = FixedClock(datetime(2026, 11, 27, 16, 46, tzinfo=PARIS))
    run_once(fresh_database, mailer, clock=clock, name="w1")
    assert [m["To"] for m in smtp_server.messages] == ["marie.dupont@contoso.example"]  # the acknowledgement
    assert (
        "automatic acknowledgement" in smtp_server.messages[0].get_content().lower()
        or "accusé" in smtp_server.messages[0].get_content().lower()
    )

    clock.at = datetime(2026, 11, 28, 3, 0, tzinfo=PARIS)  # Saturday night: nothing
    run_once(fresh_database, mailer, clock=clock, name="w1")
    assert len(smtp_server.messages) == 1

    for _ in range(2):  # twice: nothing is sent twice
        clock.at = datetime(2026, 11, 30, 9, 46, tzinfo=PARIS)  # 75 % of 120 business minutes
        run_once(fresh_database, mailer, clock=clock, name="w1")
    warnings = [
        m
        for m in smtp_server.messages
        if "First response due" in m["Subject"] or "première réponse" in m["Subject"].lower()
    ]
    assert sorted(m["To"] for m in warnings) == ["eva@provider.example", "ian@provider.example"]

    for name in ("w1", "w2"):
        clock.at = datetime(2026, 11, 30, 10, 16, tzinfo=PARIS)
        run_once(fresh_database, mailer, clock=clock, name=name)
    recipients = Counter(m["To"] for m in smtp_server.messages)
    # Eva: warning + breach; Ian: warning + escalation; Marie: acknowledgement + breach.
    assert recipients == Counter(
        {"eva@provider.example": 2, "ian@provider.example": 2, "marie.dupont@contoso.example": 2}
    )
    assert all(count == 1 for count in smtp_server.message_ids().values())
    eva_breach = [m for m in smtp_server.messages if m["To"] == "eva@provider.example"][-1]
    assert eva_breach["Content-Language"] == "fr" and f"INC-{incident_id:06d}" in eva_breach["Subject"]
    assert "10:15" in eva_breach.get_content() and "Europe/Paris" in eva_breach.get_content()


def test_a_business_hours_breach_found_at_night_reaches_the_customer_next_morning(fresh_database, mailer, smtp_server):  # noqa: F811
    _setup(fresh_database)
    with fresh_database.transaction() as session:
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        marie = Principal(
            user_id=99, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        # Due Monday 17:30; the worker was down and only sweeps at 23:00.
        svc.open_incident(
            session,
            marie,
            IncidentIn(site="paris", product="exchange-online", severity="B", title="Late one", business_impact="b"),
            now=datetime(2026, 11, 30, 15, 30, tzinfo=PARIS),
        )
    clock = FixedClock(datetime(2026, 11, 30, 23, 0, tzinfo=PARIS))
    run_once(fresh_database, mailer, clock=clock, name="w1")
    night = Counter(m["To"] for m in smtp_server.messages if "Late one" in m.get_content())
    # The team and the incident managers hear at once; the customer only got the acknowledgement.
    assert night == Counter({"eva@provider.example": 1, "ian@provider.example": 1, "marie.dupont@contoso.example": 1})
    clock.at = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    run_once(fresh_database, mailer, clock=clock, name="w1")
    to_marie = [
        m for m in smtp_server.messages if m["To"] == "marie.dupont@contoso.example" and "Late one" in m.get_content()
    ]
    assert len(to_marie) == 2  # the acknowledgement (sent at once) and the breach, held until 09:00
