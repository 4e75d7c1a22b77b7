"""Remote-access authorisations (R-RA-1), on SQLite and PostgreSQL: a designated contact
authorises systems, a tool and a window; engineers see whether they may connect now and
log sessions only within an authorisation (to the minute, on a pinned clock); the
customer withdraws it at any time; a tool not approved needs the customer's
acknowledgement of responsibility for its data; every step on the timeline and in the
audit log; and the same over real HTTP, tenant isolation included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from api_server import start, stop
from sqlalchemy import select

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import DataFileError, InvalidInput, NotFound, Refused
from unisupport.incidents import remote_access as ra
from unisupport.incidents.requests import (
    ClosureIn,
    IncidentIn,
    RemoteAccessIn,
    RemoteAccessWithdrawalIn,
    RemoteSessionEndIn,
    RemoteSessionIn,
)
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services import remote_access as svc_ra
from unisupport.services.orders import import_order
from unisupport.storage.base import Base
from unisupport.storage.tables import AuditEvent, CustomerRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
UNTIL = datetime(2026, 11, 30, 18, 0, tzinfo=PARIS)
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)


@pytest.fixture
def marie(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=customer.id
    )


@pytest.fixture
def incident(session, marie):
    return svc.open_incident(
        session,
        marie,
        IncidentIn(site="paris", product="azure-sql-database", severity="B", title="Slow queries", business_impact="b"),
        now=MONDAY,
    )


def _authorise(session, marie, incident, **change):
    data = {"systems": ["SQL-PROD-01, sql-prod-02"], "tool": "teams-screen-sharing", "valid_until": UNTIL} | change
    return svc_ra.authorise(session, marie, incident.id, RemoteAccessIn.model_validate(data), now=MONDAY)


def test_the_window_is_enforced_to_the_minute(session, marie, incident):
    """From valid_from (included) to valid_until (excluded): 17:59 starts, 18:00 is refused."""
    grant = _authorise(session, marie, incident, valid_from=MONDAY + timedelta(minutes=30))
    assert grant.systems == ["SQL-PROD-01", "sql-prod-02"] and grant.tool_approved
    system = RemoteSessionIn(system="sql-prod-01")
    with pytest.raises(Refused) as early:
        svc_ra.start_session(session, ENGINEER, incident.id, system, now=MONDAY + timedelta(minutes=29))
    assert early.value.rule == "R-RA-1" and "no authorisation is in force now" in early.value.message
    started = svc_ra.start_session(session, ENGINEER, incident.id, system, now=MONDAY + timedelta(minutes=30))
    assert (started.system, started.engineer, started.authorisation_id) == ("SQL-PROD-01", ENGINEER.email, grant.id)
    svc_ra.end_session(
        session, ENGINEER, incident.id, started.id, RemoteSessionEndIn(), now=UNTIL - timedelta(minutes=2)
    )
    last = svc_ra.start_session(session, ENGINEER, incident.id, system, now=UNTIL - timedelta(minutes=1))
    assert last.started_at == UNTIL - timedelta(minutes=1)
    with pytest.raises(Refused) as late:
        svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="sql-prod-02"), now=UNTIL)
    assert late.value.rule == "R-RA-1"


def test_engineers_see_whether_they_may_connect_now_and_until_when(session, marie, incident):
    calendar = svc.calendar_of(session, incident)
    before = svc_ra.remote_access_view(session, ENGINEER, incident.id, now=MONDAY, calendar=calendar)
    assert (before["may_connect_now"], before["systems_now"], before["until"]) == (False, [], None)
    _authorise(session, marie, incident)
    now = svc_ra.remote_access_view(session, ENGINEER, incident.id, now=MONDAY, calendar=calendar)
    assert now["may_connect_now"] and now["systems_now"] == ["SQL-PROD-01", "sql-prod-02"]
    assert now["until"] == "2026-11-30T18:00:00+01:00" and now["authorisations"][0]["state"] == "in-force"
    after = svc_ra.remote_access_view(session, ENGINEER, incident.id, now=UNTIL, calendar=calendar)
    assert not after["may_connect_now"] and after["authorisations"][0]["state"] == "ended"


def test_a_system_not_authorised_is_refused_naming_what_is(session, marie, incident):
    _authorise(session, marie, incident)
    with pytest.raises(Refused) as refused:
        svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="dc-01"), now=MONDAY)
    assert refused.value.rule == "R-RA-1" and "has not authorised dc-01" in refused.value.message
    assert "SQL-PROD-01" in refused.value.message


def test_no_session_without_an_authorisation(session, incident):
    with pytest.raises(Refused) as refused:
        svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="sql-prod-01"), now=MONDAY)
    assert refused.value.rule == "R-RA-1" and "has not authorised any remote access" in refused.value.message


def test_withdrawal_ends_open_sessions_and_refuses_further_starts(session, marie, incident):
    grant = _authorise(session, marie, incident)
    open_one = svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="SQL-PROD-01"), now=MONDAY)
    at = MONDAY + timedelta(minutes=10)
    svc_ra.withdraw(session, marie, incident.id, grant.id, RemoteAccessWithdrawalIn(note="done for today"), now=at)
    session.refresh(open_one)
    assert (open_one.ended_at, open_one.ended_by, open_one.end_reason) == (at, marie.email, "withdrawn")
    with pytest.raises(Refused):
        svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="SQL-PROD-01"), now=at)
    with pytest.raises(Refused):
        svc_ra.withdraw(session, marie, incident.id, grant.id, RemoteAccessWithdrawalIn(), now=at)
    kinds = [e.kind for e in svc.timeline(session, marie, incident.id) if e.rule == "R-RA-1"]
    assert kinds == ["remote-access-authorised", "remote-session-started", "remote-access-withdrawn"]
    audited = session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "remote-access")).all()
    assert [a.tag for a in audited] == kinds and all(a.rule == "R-RA-1" for a in audited)
    withdrawn = next(e for e in svc.timeline(session, marie, incident.id) if e.kind == "remote-access-withdrawn")
    assert withdrawn.after["sessions_ended"] == [open_one.id] and withdrawn.reason == "done for today"


def test_another_tool_needs_the_customers_acknowledgement(session, marie, incident):
    with pytest.raises(Refused) as refused:
        _authorise(session, marie, incident, tool="other", other_tool="AnyDesk")
    assert refused.value.rule == "R-RA-1" and refused.value.field == "acknowledge_data_responsibility"
    with pytest.raises(InvalidInput) as unnamed:
        _authorise(session, marie, incident, tool="other", acknowledge_data_responsibility=True)
    assert unnamed.value.field == "other_tool"
    with pytest.raises(InvalidInput) as unknown:
        _authorise(session, marie, incident, tool="anydesk")
    assert unknown.value.field == "tool" and "teams-screen-sharing" in unknown.value.message
    grant = _authorise(
        session, marie, incident, tool="other", other_tool="AnyDesk", acknowledge_data_responsibility=True
    )
    assert (grant.tool, grant.tool_approved, grant.data_responsibility_acknowledged) == ("AnyDesk", False, True)
    event = next(e for e in svc.timeline(session, marie, incident.id) if e.kind == "remote-access-authorised")
    assert "responsible for the integrity and security of its data" in event.reason


def test_only_the_customers_designated_contacts_authorise(session, marie, incident):
    with pytest.raises(Forbidden):
        _authorise(session, ENGINEER, incident)
    stranger = Principal(
        user_id=11, email="nobody@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=marie.customer_id
    )
    with pytest.raises(Refused) as refused:
        _authorise(session, stranger, incident)
    assert refused.value.rule == "R-RA-1"
    grant = _authorise(session, marie, incident)
    with pytest.raises(Forbidden):
        svc_ra.start_session(session, marie, incident.id, RemoteSessionIn(system="sql-prod-01"), now=MONDAY)
    with pytest.raises(Forbidden):
        svc_ra.withdraw(session, ENGINEER, incident.id, grant.id, RemoteAccessWithdrawalIn(), now=MONDAY)


def test_a_window_that_is_over_or_inverted_is_refused(session, marie, incident):
    with pytest.raises(InvalidInput) as inverted:
        _authorise(session, marie, incident, valid_from=UNTIL, valid_until=UNTIL - timedelta(hours=1))
    assert inverted.value.field == "valid_until"
    with pytest.raises(InvalidInput):
        _authorise(session, marie, incident, valid_until=MONDAY)
    with pytest.raises(InvalidInput) as blank:
        _authorise(session, marie, incident, systems=[" , "])
    assert blank.value.field == "systems"
    with pytest.raises(InvalidInput) as long_name:
        _authorise(session, marie, incident, systems=["x" * 201])
    assert long_name.value.field == "systems"


def test_nothing_is_authorised_on_a_closed_incident(session, marie, incident):
    svc.close(session, ENGINEER, incident.id, ClosureIn(summary="fixed"), now=MONDAY + timedelta(minutes=5))
    with pytest.raises(Refused):
        _authorise(session, marie, incident)


def test_another_tenant_cannot_see_or_touch_remote_access(session, marie, incident):
    grant = _authorise(session, marie, incident)
    started = svc_ra.start_session(session, ENGINEER, incident.id, RemoteSessionIn(system="sql-prod-01"), now=MONDAY)
    stranger = Principal(
        user_id=50, email="alex@fabrikam.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=marie.customer_id + 1000
    )
    calendar = svc.calendar_of(session, incident)
    for action in (
        lambda: _authorise(session, stranger, incident),
        lambda: svc_ra.withdraw(session, stranger, incident.id, grant.id, RemoteAccessWithdrawalIn(), now=MONDAY),
        lambda: svc_ra.remote_access_view(session, stranger, incident.id, now=MONDAY, calendar=calendar),
    ):
        with pytest.raises(NotFound):
            action()
    csam = Principal(user_id=51, email="csam@provider.example", role=Role.CSAM)  # assigned to nobody
    with pytest.raises((NotFound, Forbidden)):
        svc_ra.end_session(session, csam, incident.id, started.id, RemoteSessionEndIn(), now=MONDAY)


def test_the_tool_list_is_validated_at_load(tmp_path):
    assert "teams-screen-sharing" in ra.approved_tools() and ra.approved_tools().name("quick-assist", "fr")
    bad = tmp_path / "remote-tools.yaml"
    bad.write_text('version: "1"\ntools:\n  Bad Code:\n    en: x\n    fr: y\n', encoding="utf-8")
    with pytest.raises(DataFileError) as error:
        ra.ApprovedTools.load(bad)
    assert "Bad Code" in str(error.value)
    bad.write_text('version: "1"\ntools:\n  ok:\n    en: x\n', encoding="utf-8")
    with pytest.raises(DataFileError) as missing:
        ra.ApprovedTools.load(bad)
    assert "fr" in str(missing.value)


def test_the_migration_matches_the_tables(engine):
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    watched = ("remote_access", "reproduction_steps", "environment", "entitlement", "diagnostic")
    assert [d for d in differences if any(w in repr(d) for w in watched)] == []


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY)
    yield server
    stop(uv, thread, server)


def test_the_api_authorises_logs_and_refuses_with_the_rule(api):
    with api.client("contoso_admin") as c:
        incident = c.post(
            "/api/v1/incidents",
            json={
                "site": "paris",
                "product": "azure-sql-database",
                "severity": "B",
                "title": "t",
                "business_impact": "b",
            },
        ).json()
        base = f"/api/v1/incidents/{incident['id']}"
        assert incident["links"]["remote_access"] == base + "/remote-access"
        tools = c.get("/api/v1/remote-access/tools").json()
        assert tools["other"] == "other" and any(t["code"] == "azure-bastion" for t in tools["items"])
        r = c.post(
            base + "/remote-access",
            json={"systems": ["sql-prod-01"], "tool": "azure-bastion", "valid_until": UNTIL.isoformat()},
        )
        assert r.status_code == 200, r.text
        grant = r.json()["remote_access"]["authorisations"][0]
        r = c.post(base + "/remote-sessions", json={"system": "sql-prod-01"})
        assert r.status_code == 403
    with api.client("engineer") as c:
        seen = c.get(base + "/remote-access").json()
        assert seen["may_connect_now"] and seen["until"] == "2026-11-30T18:00:00+01:00"
        r = c.post(base + "/remote-sessions", json={"system": "web-01"})
        assert r.status_code == 409 and r.json()["rule"] == "R-RA-1"
        r = c.post(base + "/remote-sessions", json={"system": "SQL-PROD-01"})
        assert r.status_code == 200, r.text
        opened = r.json()["remote_access"]["sessions"][0]
        api.clock.at = UNTIL - timedelta(minutes=1)
        r = c.post(base + f"/remote-sessions/{opened['id']}/end", json={})
        assert r.status_code == 200 and r.json()["remote_access"]["sessions"][0]["end_reason"] == "ended"
        api.clock.at = UNTIL
        r = c.post(base + "/remote-sessions", json={"system": "SQL-PROD-01"})
        assert r.status_code == 409 and r.json()["rule"] == "R-RA-1"
        api.clock.at = MONDAY
    with api.client("fabrikam_admin") as c:
        for method, path, body in (
            ("GET", base + "/remote-access", None),
            (
                "POST",
                base + "/remote-access",
                {"systems": ["x"], "tool": "quick-assist", "valid_until": UNTIL.isoformat()},
            ),
            ("POST", base + f"/remote-access/{grant['id']}/withdrawal", {}),
            ("POST", base + "/remote-sessions", {"system": "sql-prod-01"}),
            ("POST", base + f"/remote-sessions/{opened['id']}/end", {}),
        ):
            assert c.request(method, path, json=body).status_code == 404, path
    with api.client("contoso_admin") as c:
        r = c.post(base + f"/remote-access/{grant['id']}/withdrawal", json={"note": "enough"})
        assert r.status_code == 200 and r.json()["remote_access"]["authorisations"][0]["state"] == "withdrawn"
