"""The SLA watcher on a real database, SQLite and PostgreSQL: breaches marked at the
due instant, warnings at 75 % of the target (in business time for business-hours
targets), escalation, idempotent passes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from watchers_at_once import sweep_twice_at_once

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput
from unisupport.incidents.requests import IncidentIn
from unisupport.notifications.outbox import Fanout, enqueue_fanout
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services.incident_notifications import incident_number, queue
from unisupport.services.orders import import_order
from unisupport.services.users import add_to_team, create_team, create_user, update_user
from unisupport.services.watcher import sweep
from unisupport.storage.tables import CustomerRow, OutboxRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"


@pytest.fixture
def marie(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
    )


def open_b(session, who, at):
    return svc.open_incident(
        session,
        who,
        IncidentIn(site="paris", product="exchange-online", severity="B", title="t", business_impact="b"),
        now=at,
    )


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
    events = {e.kind: e for e in svc.timeline(session, marie, incident.id)}
    kinds = [e.kind for e in svc.timeline(session, marie, incident.id)]
    assert kinds.count("warned") == 1 and kinds.count("breached") == 1 and "escalated" in kinds
    breached, escalated, warned = events["breached"], events["escalated"], events["warned"]
    assert (breached.at, breached.actor, breached.rule, breached.before) == (
        incident.first_response_due,
        "watcher",
        "R-SLA-1",
        None,
    )
    assert breached.after == {"clock": "first-response", "due": "2026-11-30T09:15:00+00:00"}
    assert escalated.at == datetime(2026, 11, 30, 10, 20, tzinfo=PARIS) and escalated.rule == "R-INC-2"
    assert escalated.after == {"escalation": "incident-manager", "team": incident.team}
    assert warned.at == datetime(2026, 11, 30, 9, 45, tzinfo=PARIS) and warned.after["due"] == breached.after["due"]


def test_a_second_pass_changes_nothing(session, marie):
    open_b(session, marie, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    later = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
    first = sweep(session, now=later)
    assert first.breached == 1
    assert sweep(session, now=later).to_dict() == {
        "breached": 0,
        "warned": 0,
        "escalated": 0,
        "critical_resource_missed": 0,
        "customer_missed": 0,
        "update_warned": 0,
        "update_breached": 0,
        "queued": 0,
    }


def test_answered_incidents_never_breach(session, marie):
    from unisupport.incidents.requests import CommunicationIn

    engineer = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)
    incident = open_b(session, marie, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    svc.add_communication(
        session,
        engineer,
        incident.id,
        CommunicationIn(medium="phone", body="called"),
        now=datetime(2026, 11, 25, 10, 30, tzinfo=PARIS),
    )
    assert sweep(session, now=datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)).breached == 0


def _outbox(session) -> dict[tuple[str, str], OutboxRow]:
    return {
        (row.kind, row.recipient): row
        for row in session.scalars(select(OutboxRow).where(OutboxRow.kind != "incident.acknowledged"))
    }


def test_each_notification_of_a_sweep_goes_once_to_each_person_in_their_language(session, marie):
    """The fan-out of a sweep, row by row: the team and the incident managers (active
    ones only, a manager in the team hearing once), the customer contact held to the
    site's business hours for a business-hours incident, one dedupe key each."""
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    b = open_b(session, marie, datetime(2026, 11, 27, 16, 45, tzinfo=PARIS))  # due Monday 10:15, warned at 09:45
    a = svc.open_incident(
        session,
        marie,
        IncidentIn(site="paris", product="exchange-online", severity="A", title="down", business_impact="b"),
        now=datetime(2026, 11, 30, 8, 0, tzinfo=PARIS),
    )
    assert a.coverage == "24x7" and b.coverage == "business_hours"
    for team in {a.team, b.team}:
        create_team(session, code=team, name=team, actor="setup", now=setup)
    people = [
        ("eva@provider.example", Role.ENGINEER, "fr", True),
        ("tom@provider.example", Role.ENGINEER, "en", True),
        ("zoe@provider.example", Role.ENGINEER, "fr", False),
        ("ines@provider.example", Role.INCIDENT_MANAGER, "fr", True),
        ("ian@provider.example", Role.INCIDENT_MANAGER, "en", False),
        ("ivy@provider.example", Role.INCIDENT_MANAGER, "en", False),
    ]
    for email, role, language, in_team in people:
        create_user(
            session, email=email, name=email.split("@")[0], role=role, language=language, actor="setup", now=setup
        )
        if in_team:
            for team in {a.team, b.team}:
                add_to_team(session, email=email, team_code=team, actor="setup", now=setup)
    update_user(session, email="zoe@provider.example", active=False, actor="setup", now=setup)
    update_user(session, email="ian@provider.example", active=False, actor="setup", now=setup)

    # Monday 09:50: B is at risk (warned), A (due within the hour of 08:00) has breached.
    monday = datetime(2026, 11, 30, 9, 50, tzinfo=PARIS)
    assert a.first_response_due <= monday < b.first_response_due
    report = sweep(session, now=monday, queue=queue)
    assert (report.warned, report.breached) == (1, 1)
    rows = _outbox(session)
    team = {"eva@provider.example": "fr", "tom@provider.example": "en", "ines@provider.example": "fr"}
    managers = {"ines@provider.example": "fr", "ivy@provider.example": "en"}
    expected = {("incident.warning", e): (lang, b.id) for e, lang in (team | managers).items()}
    expected |= {("incident.breached", e): (lang, a.id) for e, lang in team.items()}
    expected |= {("incident.escalated", e): (lang, a.id) for e, lang in managers.items()}
    expected[("incident.breached", "marie.dupont@contoso.example")] = ("fr", a.id)
    assert {k: (r.language, r.subject_id) for k, r in rows.items()} == expected
    assert report.queued == len(expected) == 10
    for (kind, email), row in rows.items():
        assert row.dedupe_key == f"incident:{row.subject_id}:{kind}:{email}"
        assert (row.status, row.attempts, row.not_before, row.business_hours_site_id) == ("pending", 0, monday, None)
        assert (
            row.payload["incident_number"] == incident_number(row.subject_id)
            and row.payload["timezone"] == "Europe/Paris"
        )
    assert rows[("incident.warning", "tom@provider.example")].payload["minutes_left"] == 25
    escalation = rows[("incident.escalated", "ivy@provider.example")].payload
    assert datetime.fromisoformat(escalation["escalated_at"]) == monday and "R-INC-2" in escalation["reason"]
    breach = rows[("incident.breached", "eva@provider.example")].payload
    assert datetime.fromisoformat(breach["first_response_due"]) == a.first_response_due.replace(microsecond=0)
    assert breach["coverage"] == "24x7" and breach["target_minutes"] == a.target_minutes and breach["severity"] == "A"
    assert breach["customer_name"] and breach["title"] == "down" and "minutes_left" not in breach

    # Monday 23:00: B breaches; its customer mail waits for Tuesday 09:00, the site's opening.
    night = datetime(2026, 11, 30, 23, 0, tzinfo=PARIS)
    assert sweep(session, now=night, queue=queue).queued == 6
    rows = _outbox(session)
    held = [
        r
        for r in rows.values()
        if r.subject_id == b.id and r.kind == "incident.breached" and r.recipient.endswith("contoso.example")
    ]
    assert [(r.not_before, r.business_hours_site_id) for r in held] == [
        (datetime(2026, 12, 1, 9, 0, tzinfo=PARIS), b.site_id)
    ]
    # A repeated queue adds nothing: one row per dedupe key.
    assert queue(session, [a.id, b.id], "incident.breached", night) == 0
    assert len([r for r in _all_outbox(session) if r.kind != "incident.acknowledged"]) == 16


def test_a_missed_customer_answer_is_told_to_the_contact_once_per_request(session, marie):
    from unisupport.incidents.requests import CommunicationIn

    engineer = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)
    incident = open_b(session, marie, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    for minute in (5, 10):
        svc.add_communication(
            session,
            engineer,
            incident.id,
            CommunicationIn(medium="email", body="please send the logs", requests_customer_action=True),
            now=datetime(2026, 11, 25, 10, minute, tzinfo=PARIS),
        )
    report = sweep(session, now=datetime(2026, 11, 27, 12, 0, tzinfo=PARIS), queue=queue)
    assert report.customer_missed == 2 and report.incidents["customer_missed"] == [incident.id]
    missed = [r for r in _all_outbox(session) if r.kind == "incident.customer_response_missed"]
    assert len(missed) == 2 and {r.recipient for r in missed} == {"marie.dupont@contoso.example"}
    assert len({r.dedupe_key for r in missed}) == 2 and all(r.language == "fr" for r in missed)
    assert all(r.payload["response_due"] > r.payload["requested_at"] for r in missed)


def _all_outbox(session) -> list[OutboxRow]:
    return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_a_fanout_to_an_unknown_audience_or_without_a_template_writes_nothing(session):
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput) as error:
        enqueue_fanout(
            session, [Fanout("incident.warning", "incident", 1, None, {}, now, audience="nobody")], {}, now=now
        )
    assert error.value.field == "audience"
    with pytest.raises(InvalidInput) as error:
        enqueue_fanout(
            session,
            [Fanout("no.such.kind", "incident", 1, None, {}, now, audience="team")],
            {"team": [("eva@provider.example", "fr")]},
            now=now,
        )
    assert error.value.field == "kind"
    with pytest.raises(InvalidInput) as error:
        enqueue_fanout(
            session,
            [Fanout("incident.warning", "incident", 1, None, {}, now, audience="team")],
            {"team": [("not an address", "fr")]},
            now=now,
        )
    assert error.value.field == "recipient"
    assert _all_outbox(session) == []


def test_the_database_builds_the_same_payload_as_python(session, marie):
    """Breach payloads are built by SQL, acknowledgements and missed answers by
    Python (``incident_payload``): same fields, same values (instants compared as instants)."""
    from unisupport.services.incident_notifications import incident_payload
    from unisupport.sla.site_calendar import site_calendar
    from unisupport.storage.tables import SiteRow

    incident = open_b(session, marie, datetime(2026, 11, 27, 16, 45, 12, 345_678, tzinfo=PARIS))
    create_team(session, code=incident.team, name="t", actor="setup", now=datetime(2026, 1, 1, tzinfo=UTC))
    create_user(
        session,
        email="eva@provider.example",
        name="Eva",
        role=Role.ENGINEER,
        language="fr",
        teams=[incident.team],
        actor="setup",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert queue(session, [incident.id], "incident.breached", datetime(2026, 11, 30, 11, 0, tzinfo=PARIS)) == 2
    row = session.scalars(
        select(OutboxRow).where(OutboxRow.kind == "incident.breached", OutboxRow.recipient == "eva@provider.example")
    ).one()
    site = session.get(SiteRow, incident.site_id)
    customer = session.get(CustomerRow, incident.customer_id)
    expected = incident_payload(incident, site, customer.name, site_calendar(site))
    instants = ("opened_at", "first_response_due")
    assert {k: v for k, v in row.payload.items() if k not in instants} == {
        k: v for k, v in expected.items() if k not in instants
    }
    for key in instants:
        assert datetime.fromisoformat(row.payload[key]) == datetime.fromisoformat(expected[key]).replace(microsecond=0)


def test_two_watchers_sweeping_at_once_never_mark_or_notify_twice(fresh_database, backend):
    """Several `unisupport worker` on PostgreSQL (docs/deployment.md): a sweep holding
    its claimed incidents (FOR UPDATE SKIP LOCKED) does not block a second sweep, which
    takes the others; together they mark each breach once, with one timeline entry and
    one notification per person each."""
    from sqlalchemy import func

    from unisupport.storage.tables import IncidentEventRow, IncidentRow

    if backend == "sqlite":
        pytest.skip("SQLite runs one watcher (docs/deployment.md): its writers take turns, they never overlap")
    db = fresh_database
    with db.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        who = Principal(
            user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        setup = datetime(2026, 1, 1, tzinfo=UTC)
        create_user(
            session, email="ines@provider.example", name="ines", role=Role.INCIDENT_MANAGER, actor="setup", now=setup
        )
        for _ in range(30):
            open_b(session, who, datetime(2026, 11, 25, 10, 0, tzinfo=PARIS))
    later = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
    reports = dict(zip(("first", "second"), sweep_twice_at_once(db, later, queue), strict=True))
    assert (reports["first"].breached, reports["second"].breached) == (10, 20)
    with db.reading() as session:
        assert session.scalar(select(func.count()).where(IncidentRow.breached_at.is_not(None))) == 30
        per_incident = session.execute(
            select(IncidentEventRow.incident_id, func.count())
            .where(IncidentEventRow.kind == "breached")
            .group_by(IncidentEventRow.incident_id)
        ).all()
        assert len(per_incident) == 30 and {n for _, n in per_incident} == {1}
        keys = session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.kind != "incident.acknowledged")).all()
        assert keys and len(keys) == len(set(keys))
        assert reports["first"].queued + reports["second"].queued == len(keys)
    with db.transaction() as session:
        assert sweep(session, now=later, queue=queue).to_dict() == dict.fromkeys(reports["first"].to_dict(), 0)


def test_the_sweep_plans_each_execution_and_other_transactions_keep_the_servers_choice(fresh_database):
    """D154: on PostgreSQL the connections keep plan_cache_mode=auto (a creation's
    statements reuse their plans); the sweep asks for a plan per execution for the rest
    of its own transaction only."""
    from sqlalchemy import text

    setting = text("SELECT current_setting('plan_cache_mode')")
    postgres = fresh_database.engine.dialect.name == "postgresql"
    with fresh_database.transaction() as session:
        if postgres:
            assert session.execute(setting).scalar() == "auto"
        sweep(session, now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # nothing to set on SQLite, and no error
        if postgres:
            assert session.execute(setting).scalar() == "force_custom_plan"
    if postgres:
        with fresh_database.transaction() as session:
            assert session.execute(setting).scalar() == "auto"  # SET LOCAL: that transaction's own


def test_the_sweeps_bulk_writes_reuse_their_plans_and_the_setting_comes_back(fresh_database):
    """D147: inside ``writing_in_bulk`` (the events, webhook events and notifications of
    a sweep) PostgreSQL reuses plans, its foreign-key checks' included, and compiles
    nothing; after it, the sweep's own setting (a plan each execution, D154) is back."""
    from sqlalchemy import text

    from unisupport.services.watch_marks import writing_in_bulk
    from unisupport.storage.database import plan_each_execution

    with fresh_database.transaction() as session:
        if fresh_database.engine.dialect.name != "postgresql":
            with writing_in_bulk(session):  # nothing to set on SQLite, and no error
                return
        settings = text("SELECT current_setting('plan_cache_mode'), current_setting('jit')")
        plan_each_execution(session)
        before = tuple(session.execute(settings).one())
        with writing_in_bulk(session):
            assert tuple(session.execute(settings).one()) == ("auto", "off")
        assert tuple(session.execute(settings).one()) == before == ("force_custom_plan", before[1])
