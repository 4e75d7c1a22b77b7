"""The demo data `unisupport serve` loads on a fresh database (SQLite and PostgreSQL):
the two example orders moved to the current year, one user per role with a token,
open incidents of every severity with explained targets, and a platform outage told
to Contoso's outage contacts; loading again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from unisupport import demo
from unisupport.services.users import principal_for_password
from unisupport.storage.tables import (
    SurveyRow,
    ApiTokenRow,
    IncidentRow,
    OrderRow,
    OutboxRow,
    PlatformOutageRow,
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
    incidents = session.scalars(select(IncidentRow).where(IncidentRow.status != "closed")).all()
    assert sorted(i.severity for i in incidents) == ["1", "A", "B", "B", "C"]
    # Closed ones, each with its satisfaction survey, two answered (R-CSAT-1): the CSAM's page has results.
    closed = session.scalars(select(IncidentRow.id).where(IncidentRow.status == "closed")).all()
    answers = session.scalars(select(SurveyRow.score).where(SurveyRow.subject_id.in_(closed))).all()
    assert len(closed) == len(answers) == 3 and sorted(a for a in answers if a) == [3, 5]
    assert all(i.explanation["considered"] and i.first_response_due for i in incidents)
    outage = session.scalars(select(PlatformOutageRow)).one()
    assert outage.status == "resolved"
    told = set(session.scalars(select(OutboxRow.recipient).where(OutboxRow.kind == "outage.notice")))
    assert told == {"marie.dupont@contoso.example", "cloud-ops@contoso.example"}

    again = demo.load(session, now=NOW)
    assert not again.created and session.scalar(select(func.count()).select_from(IncidentRow)) == len(incidents) + len(
        closed
    )
