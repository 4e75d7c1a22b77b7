"""The SLA watcher on a real database, SQLite and PostgreSQL: breaches marked at the
due instant, warnings at 75 % of the target (in business time for business-hours
targets), escalation, idempotent passes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from unisupport.access import Principal, Role
from unisupport.incidents.requests import IncidentIn
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.services.watcher import sweep
from unisupport.storage.tables import CustomerRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"


@pytest.fixture
def marie(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id)


def open_b(session, who, at):
    return svc.open_incident(session, who, IncidentIn(site="paris", product="exchange-online", severity="B", title="t", business_impact="b"), now=at)


def test_the_warning_comes_at_75_percent_of_business_time_and_the_breach_at_the_due_instant(session, marie):
    incident = open_b(session, marie, datetime(2026, 11, 27, 16, 45, tzinfo=PARIS))  # due Monday 10:15
    # 75 % of 120 business minutes = 90: 45 on Friday, 45 on Monday → 09:45, not Friday night.
    assert incident.first_response_warn_at == datetime(2026, 11, 30, 8, 45, tzinfo=UTC)
    assert sweep(session, now=datetime(2026, 11, 28, 3, 0, tzinfo=PARIS)).warned == 0
    report = sweep(session, now=datetime(2026, 11, 30, 9, 45, tzinfo=PARIS))
    assert (report.warned, report.breached) == (1, 0)
    report = sweep(session, now=datetime(2026, 11, 30, 10, 20, tzinfo=PARIS))
    assert (report.warned, report.breached, report.escalated) == (0, 1, 1)
    session.refresh(incident)
    assert incident.breached_at == incident.first_response_due  # at the due instant, not at the sweep
    kinds = [e.kind for e in svc.timeline(session, marie, incident.id)]
    assert kinds.count("warned") == 1 and kinds.count("breached") == 1 and "escalated" in kinds


def test_a_second_pass_changes_nothing(session, marie):
    open_b(session, marie, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    later = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
    first = sweep(session, now=later)
    assert first.breached == 1
    assert sweep(session, now=later).to_dict() == {"breached": 0, "warned": 0, "escalated": 0, "critical_resource_missed": 0,
                                                   "customer_missed": 0, "queued": 0}


def test_answered_incidents_never_breach(session, marie):
    from unisupport.incidents.requests import CommunicationIn

    engineer = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)
    incident = open_b(session, marie, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    svc.add_communication(session, engineer, incident.id, CommunicationIn(medium="phone", body="called"), now=datetime(2026, 11, 25, 10, 30, tzinfo=PARIS))
    assert sweep(session, now=datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)).breached == 0
