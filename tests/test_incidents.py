"""The incident lifecycle on a real database, SQLite and PostgreSQL (R-INC-*, R-SEV-*,
R-SLA-*, R-RCA-*, R-PIR-1, R-EVT-1/2, R-ORD-4), with the multi-country example order:
UER, MCSAP Plus, ARR, Security Plus and an Azure event, sites in Paris, Munich, Tokyo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import NotFound
from unisupport.incidents.requests import ClosureIn, CommunicationIn, IncidentIn, MitigationIn, SeverityChangeIn
from unisupport.orders.validation import read_order_document
from unisupport.refusal import Refused
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.storage.tables import CustomerRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER, teams=frozenset({"standard-support"}))
ADMIN = Principal(user_id=1, email="admin@provider.example", role=Role.ADMIN)


@pytest.fixture
def contoso(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    marie = Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
    )
    return session, marie


def sev(
    session, who, severity="B", product="exchange-online", opened=datetime(2026, 11, 27, 16, 45, tzinfo=PARIS), **kw
):
    data = IncidentIn(
        site=kw.pop("site", "paris"),
        product=product,
        severity=severity,
        title="Mail flow stopped",
        business_impact="Orders are not confirmed to customers",
        **kw,
    )
    return svc.open_incident(session, who, data, now=opened)


def test_sev_b_on_a_french_site_friday_1645_is_due_monday_1015_with_the_reason(contoso):
    session, marie = contoso
    incident = sev(session, marie)
    view = svc.incident_view(session, incident, now=datetime(2026, 11, 27, 16, 46, tzinfo=PARIS))
    fr = view["first_response"]
    assert fr["due"] == "2026-11-30T10:15:00+01:00" and fr["coverage"] == "business_hours" and fr["state"] == "pending"
    assert {c["plan"] for c in fr["explanation"]["considered"]} >= {"base", "unified-enhanced-response"}
    assert view["contact"] == "marie.dupont@contoso.example" and view["team"] == "standard-support"
    comms = svc.communications(session, incident)
    assert comms[0].automated and not comms[0].first_response  # the acknowledgement never counts (R-SEV-2)


def test_only_a_non_automated_phone_or_email_contact_from_the_provider_is_the_first_response(contoso):
    session, marie = contoso
    incident = sev(session, marie)
    later = datetime(2026, 11, 30, 9, 5, tzinfo=PARIS)
    svc.add_communication(
        session, ENGINEER, incident.id, CommunicationIn(medium="portal", body="Looking into it"), now=later
    )
    assert incident.first_response_at is None
    svc.add_communication(session, marie, incident.id, CommunicationIn(medium="email", body="Any news?"), now=later)
    assert incident.first_response_at is None  # inbound
    svc.add_communication(
        session, ENGINEER, incident.id, CommunicationIn(medium="phone", body="Called Marie"), now=later
    )
    assert incident.first_response_at == later
    assert svc.first_response_state(incident, later) == "met"


def test_a_call_logged_after_the_fact_counts_at_its_own_time_and_is_audited(contoso):
    session, marie = contoso
    incident = sev(session, marie)
    called = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
    logged = datetime(2026, 11, 30, 11, 0, tzinfo=PARIS)
    svc.add_communication(
        session, ENGINEER, incident.id, CommunicationIn(medium="phone", body="Called", at=called), now=logged
    )
    assert svc.first_response_state(incident, logged) == "met"
    kinds = [e.kind for e in svc.timeline(session, ENGINEER, incident.id)]
    assert "communication-logged-late" in kinds and "first-response" in kinds


def test_a_late_first_response_records_the_breach(contoso):
    session, marie = contoso
    incident = sev(session, marie)
    late = datetime(2026, 11, 30, 10, 30, tzinfo=PARIS)
    svc.add_communication(session, ENGINEER, incident.id, CommunicationIn(medium="email", body="Hello"), now=late)
    assert svc.first_response_state(incident, late) == "late"
    assert incident.breached_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def test_an_upgrade_restarts_the_target_but_never_makes_it_later(contoso):
    session, marie = contoso
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = sev(session, marie, severity="A", product="dynamics-365", opened=opened)  # UER: 30 min
    assert incident.first_response_due == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    changed = datetime(2026, 11, 25, 10, 20, tzinfo=PARIS)
    svc.change_severity(
        session, ENGINEER, incident.id, SeverityChangeIn(severity="1", reason="outage spreads"), now=changed
    )
    # UER Sev 1 other products: 30 minutes from 10:20 would be 10:50: later than 10:30, so 10:30 stands.
    assert incident.first_response_due == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    event = [e for e in svc.timeline(session, ENGINEER, incident.id) if e.kind == "severity-changed"][0]
    assert (
        event.before["severity"] == "A"
        and event.after["severity"] == "1"
        and "never makes the due time later" in event.after["target"]
    )
    assert incident.highest_severity == "1"


def test_an_upgrade_before_the_first_response_restarts_from_the_change(contoso):
    session, marie = contoso
    incident = sev(session, marie, severity="C", opened=datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))  # due 14:00
    changed = datetime(2026, 11, 25, 10, 10, tzinfo=PARIS)
    svc.change_severity(session, marie, incident.id, SeverityChangeIn(severity="A", reason="now blocking"), now=changed)
    assert incident.first_response_due == datetime(2026, 11, 25, 9, 40, tzinfo=UTC)  # UER Sev A: 30 min, 24x7
    assert incident.coverage == "24x7" and incident.explanation["severity"] == "A"
    assert incident.escalated_at is not None  # R-INC-2


def test_a_downgrade_needs_grounds(contoso):
    session, marie = contoso
    incident = sev(session, marie, severity="A", opened=datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    at = datetime(2026, 11, 25, 10, 5, tzinfo=PARIS)
    with pytest.raises(Refused) as info:
        svc.change_severity(
            session, ENGINEER, incident.id, SeverityChangeIn(severity="B", reason="less urgent"), now=at
        )
    assert info.value.rule == "R-SEV-3"
    with pytest.raises(Refused) as info:
        svc.change_severity(
            session,
            ENGINEER,
            incident.id,
            SeverityChangeIn(severity="B", reason="x", grounds="customer-response-missed"),
            now=at,
        )
    assert info.value.rule == "R-SLA-4"
    with pytest.raises(Forbidden):
        svc.change_severity(
            session, marie, incident.id, SeverityChangeIn(severity="B", reason="x", grounds="customer-agreed"), now=at
        )
    svc.change_severity(
        session,
        ENGINEER,
        incident.id,
        SeverityChangeIn(severity="B", reason="agreed on the phone", grounds="customer-agreed"),
        now=at,
    )
    assert incident.first_response_due == datetime(2026, 11, 25, 11, 5, tzinfo=UTC)  # 120 business minutes from 10:05


def test_the_customer_side_clock_shows_a_miss(contoso):
    from unisupport.services.watcher import sweep

    session, marie = contoso
    incident = sev(session, marie, opened=datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    asked = datetime(2026, 11, 25, 10, 30, tzinfo=PARIS)
    comm = svc.add_communication(
        session,
        ENGINEER,
        incident.id,
        CommunicationIn(medium="email", body="Please approve the change", requests_customer_action=True),
        now=asked,
    )
    assert comm.customer_response_due == datetime(2026, 11, 25, 13, 30, tzinfo=UTC)  # Sev B: 4 business hours
    report = sweep(session, now=datetime(2026, 11, 25, 14, 31, tzinfo=PARIS))
    assert report.customer_missed == 1 and comm.missed_at is not None
    view = svc.incident_view(session, incident, now=datetime(2026, 11, 25, 15, 0, tzinfo=PARIS))
    assert view["customer_misses"] == 1
    svc.change_severity(
        session,
        ENGINEER,
        incident.id,
        SeverityChangeIn(severity="C", reason="no approval", grounds="customer-response-missed"),
        now=datetime(2026, 11, 25, 15, 0, tzinfo=PARIS),
    )
    assert incident.severity == "C"


def test_routing_follows_the_plans_that_apply(contoso):
    session, marie = contoso
    mcsap = sev(session, marie, severity="B", product="azure-storage", opened=datetime(2026, 11, 25, 10, tzinfo=PARIS))
    assert mcsap.team == "mcsap-engineers"
    security = sev(
        session,
        marie,
        severity="A",
        product="intune",
        tenant="contoso.onmicrosoft.com",
        opened=datetime(2026, 11, 25, 10, tzinfo=PARIS),
    )
    assert security.team == "security-engineers" and security.target_minutes == 15
    uer = sev(session, marie, severity="1", product="dynamics-365", opened=datetime(2026, 11, 25, 10, tzinfo=PARIS))
    roles = {
        a["role"]
        for a in svc.incident_view(session, uer, now=datetime(2026, 11, 25, 10, 1, tzinfo=PARIS))["assignments"]
    }
    assert {"eim", "senior-incident-manager", "critical-situation-manager"} <= roles


def test_azure_events_sev_1_starts_a_second_clock(contoso):
    session, marie = contoso
    opened = datetime(2026, 11, 27, 20, 0, tzinfo=PARIS)
    incident = sev(
        session, marie, severity="1", product="azure-app-service", opened=opened, description="AEM checkout down"
    )
    assert incident.critical_resource_due == datetime(2026, 11, 27, 19, 30, tzinfo=UTC)
    assert incident.first_response_due == datetime(2026, 11, 27, 19, 15, tzinfo=UTC)
    summary = svc.event_summary(session, marie, "ESO-2026-0042", "black-friday-2026")
    assert [c["id"] for c in summary["cases"]] == [str(incident.id)] and summary["all_resolved"] is False


def test_the_azure_event_window_holds_from_its_first_instant_to_just_before_its_end(contoso):
    """Opening reads only the events within a day of the opening: the window's edges,
    local midnights in the site's zone, still decide (R-EVT-2)."""
    from unisupport.services.mission_critical import event_plans
    from unisupport.services.orders import order_by_number

    session, marie = contoso
    (plan,) = event_plans(session, order_by_number(session, "ESO-2026-0042"))
    second = timedelta(seconds=1)
    for opened, covered in (
        (plan.window_start - second, False),
        (plan.window_start, True),
        (plan.window_end - second, True),
        (plan.window_end, False),
    ):
        incident = sev(
            session, marie, severity="1", product="azure-app-service", opened=opened, description="AEM checkout down"
        )
        assert (incident.critical_resource_due is not None) is covered, opened


def test_rca_before_closure_for_base_and_uer_only(contoso):
    session, marie = contoso
    incident = sev(
        session, marie, severity="A", product="dynamics-365", opened=datetime(2026, 11, 25, 10, tzinfo=PARIS)
    )
    svc.close(session, ENGINEER, incident.id, ClosureIn(summary="fixed"), now=datetime(2026, 11, 25, 12, tzinfo=PARIS))
    with pytest.raises(Refused) as info:
        svc.request_rca(session, marie, incident.id, now=datetime(2026, 11, 25, 13, tzinfo=PARIS))
    assert info.value.rule == "R-RCA-1"


def test_mcsap_rca_until_seven_days_after_closure_for_critical_production_incidents(contoso):
    session, marie = contoso
    opened = datetime(2026, 11, 25, 10, tzinfo=PARIS)
    impact = sev(session, marie, severity="A", product="azure-storage", opened=opened, production_impact=True)
    svc.mitigate(
        session, ENGINEER, impact.id, MitigationIn(summary="failover"), now=datetime(2026, 11, 25, 11, tzinfo=PARIS)
    )
    svc.close(session, ENGINEER, impact.id, ClosureIn(summary="done"), now=datetime(2026, 11, 25, 12, tzinfo=PARIS))
    rca = svc.request_rca(session, marie, impact.id, now=datetime(2026, 12, 2, 11, tzinfo=PARIS))
    # Requested Wednesday 2 December: 10 business days later is Wednesday 16 December, end of day.
    assert rca.rule == "R-RCA-2" and rca.due_at == datetime(2026, 12, 16, 16, 30, tzinfo=UTC)
    late = sev(session, marie, severity="A", product="azure-storage", opened=opened, production_impact=True)
    svc.close(session, ENGINEER, late.id, ClosureIn(summary="done"), now=datetime(2026, 11, 25, 12, tzinfo=PARIS))
    with pytest.raises(Refused, match="7 calendar days") as info:
        svc.request_rca(session, marie, late.id, now=datetime(2026, 12, 2, 12, 1, tzinfo=PARIS))
    assert info.value.rule == "R-RCA-2"
    calm = sev(session, marie, severity="A", product="azure-storage", opened=opened, production_impact=False)
    svc.close(session, ENGINEER, calm.id, ClosureIn(summary="done"), now=datetime(2026, 11, 25, 12, tzinfo=PARIS))
    with pytest.raises(Refused, match="production impact"):
        svc.request_rca(session, marie, calm.id, now=datetime(2026, 11, 26, 12, tzinfo=PARIS))


def test_every_uer_sev_1_gets_a_post_incident_review_at_closure(contoso):
    session, marie = contoso
    incident = sev(
        session, marie, severity="1", product="dynamics-365", opened=datetime(2026, 11, 25, 10, tzinfo=PARIS)
    )
    svc.close(session, ENGINEER, incident.id, ClosureIn(summary="fixed"), now=datetime(2026, 11, 25, 12, tzinfo=PARIS))
    view = svc.incident_view(session, incident, now=datetime(2026, 11, 25, 12, 1, tzinfo=PARIS))
    assert view["post_incident_review"]["rule"] == "R-PIR-1"


def test_only_designated_contacts_open_incidents(contoso):
    session, marie = contoso
    stranger = Principal(
        user_id=11, email="stranger@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=marie.customer_id
    )
    with pytest.raises(Refused) as info:
        sev(session, stranger)
    assert info.value.rule == "R-ORD-4"
    with pytest.raises(Refused, match="cloud portal"):
        _cloud_admin_by_phone(session)


def _cloud_admin_by_phone(session):
    # A contact who is only a cloud administrator opens incidents through the cloud portal only.
    from unisupport.storage.tables import ContactRow

    contact = session.scalar(select(ContactRow).where(ContactRow.email == "cloud-ops@contoso.example"))
    contact.roles = ["cloud-administrator"]
    session.flush()
    svc.open_incident(
        session,
        ENGINEER,
        IncidentIn(
            order="ESO-2026-0042",
            site="paris",
            contact="cloud-ops@contoso.example",
            channel="phone",
            product="azure-storage",
            severity="B",
            title="t",
            business_impact="b",
        ),
        now=datetime(2026, 11, 25, 10, tzinfo=PARIS),
    )


def test_another_tenant_sees_nothing_as_if_it_did_not_exist(contoso):
    session, marie = contoso
    incident = sev(session, marie)
    other = Principal(
        user_id=12, email="x@other.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=marie.customer_id + 999
    )
    for call in (
        lambda: svc.get_incident(session, other, incident.id),
        lambda: svc.add_communication(
            session,
            other,
            incident.id,
            CommunicationIn(medium="portal", body="hi"),
            now=datetime(2026, 11, 30, tzinfo=UTC),
        ),
        lambda: svc.timeline(session, other, incident.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert svc.list_incidents(session, other, svc.IncidentFilter(), now=datetime(2026, 11, 30, tzinfo=UTC))[0] == []
    csam = Principal(
        user_id=13, email="csam@provider.example", role=Role.CSAM, assigned_customers=frozenset({marie.customer_id})
    )
    assert svc.get_incident(session, csam, incident.id).id == incident.id
    with pytest.raises(NotFound):
        svc.get_incident(session, Principal(user_id=14, email="c2@provider.example", role=Role.CSAM), incident.id)


def test_only_an_admin_may_backdate_an_opening_and_it_is_audited(contoso):
    session, marie = contoso
    with pytest.raises(Forbidden):
        sev(
            session,
            ENGINEER,
            order="ESO-2026-0042",
            contact="marie.dupont@contoso.example",
            opened_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
    incident = sev(
        session,
        ADMIN,
        order="ESO-2026-0042",
        contact="marie.dupont@contoso.example",
        opened_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
    )
    assert incident.opened_at == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert "history-imported" in [e.kind for e in svc.timeline(session, ADMIN, incident.id)]


def test_listing_filters_and_paginates_with_a_cursor(contoso):
    session, marie = contoso
    made = [
        sev(session, marie, severity=s, opened=datetime(2026, 11, 25, 10, tzinfo=PARIS)) for s in ("B", "C", "B", "A")
    ]
    now = datetime(2026, 11, 25, 10, 1, tzinfo=PARIS)
    page, cursor = svc.list_incidents(session, ENGINEER, svc.IncidentFilter(severity="B"), now=now, limit=1)
    assert [r.id for r in page] == [made[2].id] and cursor
    page, cursor = svc.list_incidents(
        session, ENGINEER, svc.IncidentFilter(severity="B"), now=now, cursor=cursor, limit=1
    )
    assert [r.id for r in page] == [made[0].id] and cursor is None
    breached, _ = svc.list_incidents(session, ENGINEER, svc.IncidentFilter(breached=True), now=now + timedelta(hours=5))
    assert {r.id for r in breached} == {m.id for m in made}


def test_an_mcsap_milestone_is_completed_once_and_not_in_the_future(contoso):
    from unisupport.services import mission_critical as mc
    from unisupport.services.orders import order_by_number
    from unisupport.errors import InvalidInput

    session, _ = contoso
    order = order_by_number(session, "ESO-2026-0042")
    now = datetime(2026, 1, 10, tzinfo=UTC)
    code = mc.milestones(session, order, as_of=now.date())[0].code
    with pytest.raises(InvalidInput, match="future"):
        mc.complete_milestone(session, order, code, completed_on=datetime(2026, 1, 11).date(), actor="csam", now=now)
    mc.complete_milestone(session, order, code, completed_on=now.date(), actor="csam", now=now)
    assert mc.milestones(session, order, as_of=now.date())[0].status == "done"
    with pytest.raises(Refused) as info:
        mc.complete_milestone(session, order, code, completed_on=now.date(), actor="csam", now=now)
    assert info.value.rule == "R-MCSAP-2"
