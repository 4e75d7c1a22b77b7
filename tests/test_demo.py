"""The demo data `unisupport serve` loads on a fresh database (SQLite and PostgreSQL):
the two example orders moved to the current year, one user per role with a token,
open incidents of every severity with explained targets, and a platform outage told
to Contoso's outage contacts; loading again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from unisupport import demo
from unisupport.services import incidents as svc
from unisupport.services import remote_access
from unisupport.services.users import principal_for_password
from unisupport.storage.tables import (
    ApiTokenRow,
    IncidentRow,
    OrderRow,
    OutboxRow,
    PlatformOutageRow,
    SurveyRow,
    UserRow,
)

NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)


def test_the_demo_loads_once_with_something_to_click_for_every_role(session):
    result = demo.load(session, now=NOW)
    assert result.created and {login.role for login in result.logins} == {
        "admin",
        "engineer",
        "incident-manager",
        "csam",
        "support-administrator",
        "reactive-contact",
    }
    assert (
        session.scalar(select(func.count()).select_from(ApiTokenRow))
        == len(result.logins)
        == session.scalar(select(func.count()).select_from(UserRow))
    )
    assert principal_for_password(session, "marie.dupont@contoso.example", demo.PASSWORD) is not None
    orders = session.scalars(select(OrderRow).where(OrderRow.status == "active")).all()
    assert {o.number for o in orders} >= {"ESO-2026-0042"} and all(
        o.term_start <= NOW.date() <= o.term_end for o in orders
    )
    everything = session.scalars(select(IncidentRow)).all()
    incidents = [i for i in everything if i.status != "closed"]
    assert sorted(i.severity for i in incidents) == ["1", "A", "B", "B", "C"]
    # Months of history (demo.history) and the recent closed ones, each closed incident with its satisfaction
    # survey, two answered (R-CSAT-1): the reports and the CSAM's survey page have results.
    closed = [i.id for i in everything if i.status == "closed"]
    assert len(closed) >= 8
    answers = session.scalars(select(SurveyRow.score).where(SurveyRow.subject_id.in_(closed))).all()
    assert len(answers) == len(closed) and sorted(a for a in answers if a) == [3, 5]
    assert all(i.explanation["considered"] and i.first_response_due for i in incidents)
    # A Sev 1 with its next update due and why; an incident awaiting Marie, its update clock paused (R-INC-2).
    sev_1 = next(i for i in incidents if i.severity == "1")
    due = svc.incident_view(session, sev_1, now=NOW)["update_target"]
    assert due["state"] == "pending" and due["target_minutes"] == 30 and due["explanation"]["reason"]
    waiting = next(i for i in incidents if i.product == "azure-storage")
    paused = svc.incident_view(session, waiting, now=NOW)["update_target"]
    assert waiting.state == "awaiting_customer" and paused["state"] == "paused" and paused["due"] is None
    outage = session.scalars(select(PlatformOutageRow)).one()
    assert outage.status == "resolved"
    told = set(session.scalars(select(OutboxRow.recipient).where(OutboxRow.kind == "outage.notice")))
    assert told == {"marie.dupont@contoso.example", "cloud-ops@contoso.example"}

    again = demo.load(session, now=NOW)
    assert not again.created and session.scalar(select(func.count()).select_from(IncidentRow)) == len(everything)


def test_an_engineer_sees_remote_access_authorised_and_a_flagged_product_on_the_demo(session):
    """Issue 13: remote access to a named system until a given time (R-RA-1); an order
    with an annex A, and the incident for a product none of it covers flagged (R-SUP-1)."""
    demo.load(session, now=NOW)
    engineer = principal_for_password(session, "engineer@provider.example", demo.PASSWORD)
    checkout = session.scalar(select(IncidentRow).where(IncidentRow.title == "Checkout database unreachable"))
    seen = remote_access.remote_access_view(
        session, engineer, checkout.id, now=NOW, calendar=svc.calendar_of(session, checkout)
    )
    assert seen["may_connect_now"] and seen["systems_now"] == ["sql-checkout-01"]
    assert seen["until"] == "2027-03-10T14:30:00+01:00"  # four hours after loading, in Paris
    flagged = {i.title: (i.entitlement or {}).get("state") for i in session.scalars(select(IncidentRow))}
    assert flagged["Blob uploads intermittently fail"] == "to-check"
    assert flagged["Shared mailbox not syncing"] == "covered"
