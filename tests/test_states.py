"""Incident states and update targets on a real database, SQLite and PostgreSQL
(incidents/state.py, services/incidents/states.py, services/incidents/updates.py,
services/update_watch.py; R-INC-1, R-INC-2, R-INC-4, R-SLA-4; docs/decisions.md D93–D98).
Clocks pinned: every instant is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from watchers_at_once import sweep_twice_at_once

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, Refused
from unisupport.incidents.requests import (
    ClosureIn,
    CommunicationIn,
    IncidentIn,
    MessageIn,
    SeverityChangeIn,
    StateChangeIn,
    ThirdPartyIn,
)
from unisupport.incidents.state import TRANSITIONS, State, check, parse
from unisupport.orders.validation import read_order_document
from unisupport.services import incidents as svc
from unisupport.services.conversation import post_message
from unisupport.services.incident_notifications import queue
from unisupport.services.incidents.updates import recalculate_all, targets_of
from unisupport.services.orders import import_order
from unisupport.services.third_parties import request_collaboration
from unisupport.services.users import add_to_team, create_team, create_user
from unisupport.services.watcher import sweep
from unisupport.storage.tables import CustomerRow, IncidentEventRow, OutboxRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
ENGINEER = Principal(user_id=2, email="eva@provider.example", role=Role.ENGINEER)


@pytest.fixture
def marie(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
    )


def open_incident(session, who, at, severity="1", product="exchange-online"):
    return svc.open_incident(
        session,
        who,
        IncidentIn(site="paris", product=product, severity=severity, title="Mail down", business_impact="b"),
        now=at,
    )


def reply(session, incident, at, *, needs_answer=False, who=ENGINEER, body="We are on it."):
    return post_message(session, who, incident.id, MessageIn(body=body, needs_answer=needs_answer), now=at)


def kinds(session, incident) -> list[str]:
    return [
        e.kind
        for e in session.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident.id)
            .order_by(IncidentEventRow.at, IncidentEventRow.id)
        )
    ]


# --------------------------------------------------------------------------- the table
def test_the_transitions_are_a_table_and_anything_else_is_refused_naming_the_field_and_rule():
    assert (State.OPEN, State.IN_PROGRESS) in TRANSITIONS
    assert (State.CLOSED, State.REOPENED) in TRANSITIONS
    with pytest.raises(Refused) as info:
        check(State.CLOSED, State.IN_PROGRESS)
    assert (info.value.field, info.value.rule) == ("state", "R-INC-1")
    assert "reopened" in info.value.message  # says what is allowed
    with pytest.raises(InvalidInput) as bad:
        parse("sleeping")
    assert bad.value.field == "state"
    assert {s.status for s in State} == {"open", "mitigated", "closed"}


# --------------------------------------------------------------------------- states by themselves
def test_a_reply_starts_the_work_asking_the_customer_pauses_and_their_answer_resumes(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)  # contoso holds UER: a Sev 1 update every 30 minutes
    assert incident.state == "open"
    reply(session, incident, opened + timedelta(minutes=10))
    assert (incident.state, incident.status) == ("in_progress", "open")
    [first] = targets_of(session, incident.id)
    assert (first.plan, first.target_minutes, first.coverage) == ("unified-enhanced-response", 30, "24x7")
    assert first.due_at == (opened + timedelta(minutes=40)).astimezone(UTC)

    # An internal note is no update.
    post_message(session, ENGINEER, incident.id, MessageIn(body="checking", visibility="internal"), now=opened)
    assert len(targets_of(session, incident.id)) == 1

    reply(session, incident, opened + timedelta(minutes=20), needs_answer=True, body="Send us the logs?")
    assert incident.state == "awaiting_customer"
    first, second = targets_of(session, incident.id)
    assert first.met_at == (opened + timedelta(minutes=20)).astimezone(UTC) and first.met_late is False
    assert second.paused_since is not None and second.due_at is None and second.warn_at is None

    # Marie answers 45 minutes later: the 30 minutes start over from then.
    answer = opened + timedelta(minutes=65)
    post_message(session, marie, incident.id, MessageIn(body="Here they are."), now=answer)
    session.refresh(second)
    assert incident.state == "in_progress"
    assert second.paused_since is None and second.paused_seconds == 45 * 60
    assert second.due_at == (answer + timedelta(minutes=30)).astimezone(UTC)
    assert second.pauses == [
        [(opened + timedelta(minutes=20)).astimezone(UTC).isoformat(), answer.astimezone(UTC).isoformat()]
    ]
    # The first-response clock never paused.
    assert incident.first_response_at == (opened + timedelta(minutes=10)).astimezone(UTC)
    timeline = kinds(session, incident)
    for kind in (
        "state-changed",
        "update-target-started",
        "update-given",
        "update-clock-paused",
        "update-clock-resumed",
    ):
        assert kind in timeline
    changes = session.scalars(
        select(IncidentEventRow).where(
            IncidentEventRow.incident_id == incident.id, IncidentEventRow.kind == "state-changed"
        )
    ).all()
    assert [(e.before["state"], e.after["state"], e.actor) for e in changes] == [
        ("open", "in_progress", ENGINEER.email),
        ("in_progress", "awaiting_customer", ENGINEER.email),
        ("awaiting_customer", "in_progress", marie.email),
    ]
    assert changes[2].reason == "the customer answered" and changes[1].rule == "R-SLA-4"


def test_a_logged_call_is_an_update_and_an_inbound_one_is_not(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened, severity="A")
    call = CommunicationIn(medium="phone", body="called Marie")
    svc.add_communication(session, ENGINEER, incident.id, call, now=opened + timedelta(minutes=5))
    assert len(targets_of(session, incident.id)) == 1
    inbound = CommunicationIn(medium="phone", direction="inbound", body="Marie called")
    svc.add_communication(session, ENGINEER, incident.id, inbound, now=opened + timedelta(minutes=30))
    assert len(targets_of(session, incident.id)) == 1 and incident.state == "in_progress"


# --------------------------------------------------------------------------- the state control
def test_the_state_control_refuses_what_has_no_grounds_and_records_the_reason(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened, severity="A")
    at = opened + timedelta(minutes=5)
    with pytest.raises(Refused) as info:
        svc.change_state(session, ENGINEER, incident.id, StateChangeIn(state="awaiting_customer", reason="x"), now=at)
    assert (info.value.field, info.value.rule) == ("state", "R-SLA-4")
    with pytest.raises(Refused) as info:
        svc.change_state(
            session, ENGINEER, incident.id, StateChangeIn(state="awaiting_third_party", reason="x"), now=at
        )
    assert (info.value.field, info.value.rule) == ("state", "R-INC-4")
    request_collaboration(session, marie, incident.id, ThirdPartyIn(vendor="SAN Vendor"), now=at)
    svc.change_state(
        session, ENGINEER, incident.id, StateChangeIn(state="awaiting_third_party", reason="the SAN vendor"), now=at
    )
    assert incident.state == "awaiting_third_party"
    with pytest.raises(Refused) as info:
        svc.change_state(session, ENGINEER, incident.id, StateChangeIn(state="reopened", reason="x"), now=at)
    assert info.value.field == "state"
    with pytest.raises(Exception) as forbidden:
        svc.change_state(session, marie, incident.id, StateChangeIn(state="in_progress", reason="x"), now=at)
    assert getattr(forbidden.value, "status", None) == 403
    svc.change_state(session, ENGINEER, incident.id, StateChangeIn(state="mitigated", reason="array fixed"), now=at)
    assert (incident.state, incident.status, incident.mitigated_at) == ("mitigated", "mitigated", at.astimezone(UTC))


def test_closing_ends_the_update_target_and_reopening_starts_a_new_one(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)
    reply(session, incident, opened + timedelta(minutes=5))
    svc.close(session, ENGINEER, incident.id, ClosureIn(summary="fixed"), now=opened + timedelta(minutes=20))
    [first] = targets_of(session, incident.id)
    assert first.ended_at is not None and first.met_at is None and first.breached_at is None
    assert incident.state == "closed"
    svc.change_state(
        session,
        ENGINEER,
        incident.id,
        StateChangeIn(state="reopened", reason="it broke again"),
        now=opened + timedelta(hours=1),
    )
    assert (incident.state, incident.status) == ("reopened", "open")
    assert len(targets_of(session, incident.id)) == 2
    reply(session, incident, opened + timedelta(hours=1, minutes=5))
    assert incident.state == "in_progress"


# --------------------------------------------------------------------------- the watcher
def _team(session, incident):
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    create_team(session, code=incident.team, name=incident.team, actor="setup", now=setup)
    create_user(
        session, email="tom@provider.example", name="Tom", role=Role.ENGINEER, language="en", actor="s", now=setup
    )
    create_user(
        session,
        email="ines@provider.example",
        name="Ines",
        role=Role.INCIDENT_MANAGER,
        language="fr",
        actor="s",
        now=setup,
    )
    add_to_team(session, email="tom@provider.example", team_code=incident.team, actor="s", now=setup)


def _update_mail(session):
    return sorted(
        (r.kind, r.recipient, r.dedupe_key)
        for r in session.scalars(select(OutboxRow).where(OutboxRow.kind.like("incident.update%")))
    )


def test_the_watcher_warns_then_breaches_at_the_due_instant_once_and_never_a_paused_target(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)
    _team(session, incident)
    reply(session, incident, opened + timedelta(minutes=5))  # next update due 10:35, warned from 10:27:30
    assert sweep(session, now=opened + timedelta(minutes=27), queue=queue).update_warned == 0
    report = sweep(session, now=opened + timedelta(minutes=28), queue=queue)
    assert (report.update_warned, report.update_breached) == (1, 0)
    report = sweep(session, now=opened + timedelta(minutes=50), queue=queue)
    assert (report.update_warned, report.update_breached) == (0, 1)
    assert sweep(session, now=opened + timedelta(minutes=51), queue=queue).update_breached == 0  # once
    [target] = targets_of(session, incident.id)
    assert target.breached_at == (opened + timedelta(minutes=35)).astimezone(UTC)  # at the due instant
    # The events, written by the database (D148): one each, with the target, its due
    # instant and, for the warning, the minutes left.
    events = session.scalars(
        select(IncidentEventRow)
        .where(IncidentEventRow.incident_id == incident.id, IncidentEventRow.actor == "watcher")
        .order_by(IncidentEventRow.id)
    ).all()
    due = "2026-11-25T09:35:00+00:00"
    assert [(e.kind, e.at, e.actor, e.after, e.rule, e.customer_id) for e in events] == [
        ("update-warned", (opened + timedelta(minutes=28)).astimezone(UTC), "watcher",
         {"target": 1, "due": due, "minutes_left": 7}, "R-INC-2", incident.customer_id),
        ("update-breached", (opened + timedelta(minutes=35)).astimezone(UTC), "watcher",
         {"target": 1, "due": due}, "R-INC-2", incident.customer_id),
    ]  # fmt: skip
    breach = session.scalars(
        select(OutboxRow).where(
            OutboxRow.kind == "incident.update_breached", OutboxRow.recipient == "tom@provider.example"
        )
    ).one()
    assert datetime.fromisoformat(breach.payload["update_due"]) == datetime.fromisoformat(due)
    assert (breach.payload["update_minutes"], breach.payload["minutes_left"], breach.payload["coverage"]) == (
        30,
        0,
        "24x7",
    )
    assert breach.payload["incident_number"] == f"INC-{incident.id:06d}" and breach.business_hours_site_id is None
    mail = _update_mail(session)
    assert [(k, r) for k, r, _ in mail] == [
        ("incident.update_breached", "ines@provider.example"),
        ("incident.update_breached", "tom@provider.example"),
        ("incident.update_warning", "tom@provider.example"),
    ]
    assert all(key.endswith(f":1:{r}") for _, r, key in mail)
    # The late update is recorded as late; the breach stays.
    reply(session, incident, opened + timedelta(minutes=55), needs_answer=True)
    session.refresh(target)
    assert (target.met_late, target.breached_at is not None) == (True, True)
    # Awaiting the customer: the new target is paused and never breaches, however long.
    assert sweep(session, now=opened + timedelta(days=3), queue=queue).update_breached == 0


def test_two_watchers_sweeping_update_targets_at_once_never_mark_or_mail_twice(fresh_database, backend):
    """The update targets are claimed with FOR UPDATE SKIP LOCKED (D148): a sweep
    holding its ten does not block a second one, which takes the other twenty; each
    breach is marked once, with one event and one mail per person."""
    from sqlalchemy import func

    if backend == "sqlite":
        pytest.skip("SQLite runs one watcher (docs/deployment.md): its writers take turns, they never overlap")
    db = fresh_database
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    with db.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
        who = Principal(
            user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
        )
        incidents = [open_incident(session, who, opened) for _ in range(30)]
        _team(session, incidents[0])
        for incident in incidents:
            reply(session, incident, opened + timedelta(minutes=5))  # next update due 10:35
    later = opened + timedelta(minutes=50)
    reports = dict(zip(("first", "second"), sweep_twice_at_once(db, later, queue), strict=True))
    assert (reports["first"].update_breached, reports["second"].update_breached) == (10, 20)
    with db.reading() as session:
        per_incident = session.execute(
            select(IncidentEventRow.incident_id, func.count())
            .where(IncidentEventRow.kind == "update-breached")
            .group_by(IncidentEventRow.incident_id)
        ).all()
        assert len(per_incident) == 30 and {n for _, n in per_incident} == {1}
        keys = [key for _, _, key in _update_mail(session)]
        assert len(keys) == 60 and len(set(keys)) == 60  # Tom and Ines, once per target
        assert reports["first"].queued + reports["second"].queued == 60
    with db.transaction() as session:
        assert sweep(session, now=later, queue=queue).update_breached == 0


def test_a_business_hours_warning_waits_for_the_sites_opening(session, marie):
    monday = datetime(2026, 11, 30, 10, 45, tzinfo=PARIS)
    incident = open_incident(session, marie, monday, severity="B")
    _team(session, incident)
    reply(session, incident, monday + timedelta(minutes=15))  # 480 business minutes from Monday 11:00
    [target] = targets_of(session, incident.id)
    assert target.coverage == "business_hours" and target.plan == "base"
    # Monday 11:00–17:30 counts 390 minutes: warned at 360 (17:00), due Tuesday 10:30.
    assert target.warn_at == datetime(2026, 11, 30, 17, 0, tzinfo=PARIS).astimezone(UTC)
    assert target.due_at == datetime(2026, 12, 1, 10, 30, tzinfo=PARIS).astimezone(UTC)
    night = datetime(2026, 11, 30, 23, 30, tzinfo=PARIS)  # the watcher was down at 17:00
    assert sweep(session, now=night, queue=queue).update_warned == 0  # not at midnight
    assert _update_mail(session) == []
    opening = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    assert sweep(session, now=opening, queue=queue).update_warned == 1
    [(kind, _, _)] = _update_mail(session)
    row = session.scalars(select(OutboxRow).where(OutboxRow.kind == kind)).one()
    assert row.business_hours_site_id == incident.site_id and row.not_before == opening.astimezone(UTC)
    assert row.payload["minutes_left"] == 90 and row.payload["coverage"] == "bh"


# --------------------------------------------------------------------------- recalculation
def test_a_severity_change_recalculates_the_pending_target_and_never_a_met_one(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened, severity="A")  # UER A: every 60 minutes
    reply(session, incident, opened + timedelta(minutes=5))
    reply(session, incident, opened + timedelta(minutes=15))
    first, second = targets_of(session, incident.id)
    met = (first.met_at, first.due_at)
    assert second.target_minutes == 60
    at = opened + timedelta(minutes=25)
    svc.change_severity(session, ENGINEER, incident.id, SeverityChangeIn(severity="1", reason="all mailboxes"), now=at)
    session.refresh(first)
    session.refresh(second)
    assert (first.met_at, first.due_at) == met
    assert second.target_minutes == 30 and second.started_at == (opened + timedelta(minutes=15)).astimezone(UTC)
    assert second.due_at == (opened + timedelta(minutes=45)).astimezone(UTC)
    event = session.scalars(
        select(IncidentEventRow).where(
            IncidentEventRow.incident_id == incident.id, IncidentEventRow.kind == "update-target-recalculated"
        )
    ).one()
    assert event.before["target_minutes"] == 60 and event.after["target_minutes"] == 30
    assert "the severity changed from A to 1" in event.reason
    # Down to C: no update target at all; the pending one ends, saying why.
    svc.change_severity(
        session,
        ENGINEER,
        incident.id,
        SeverityChangeIn(severity="C", reason="a workaround", grounds="customer-agreed"),
        now=at + timedelta(minutes=1),
    )
    session.refresh(second)
    assert second.ended_at is not None and "no update target at severity C" in second.end_reason


def test_recalculate_all_changes_nothing_when_nothing_changed(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)
    reply(session, incident, opened + timedelta(minutes=5))
    assert recalculate_all(session, now=opened + timedelta(minutes=6), why="calendars edited") == 0


def test_the_incident_answer_shows_the_state_and_the_paused_update_with_why(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)
    reply(session, incident, opened + timedelta(minutes=5), needs_answer=True)
    view = svc.incident_view(session, incident, now=opened + timedelta(minutes=20))
    assert view["state"] == "awaiting_customer"
    update = view["update_target"]
    assert update["state"] == "paused" and update["due"] is None
    assert update["pauses"][0]["to"] is None and update["paused_minutes"] == 15
    assert update["explanation"]["plan"] == "unified-enhanced-response"
    assert update["explanation"]["site"]["timezone"] == "Europe/Paris"
    assert {c["plan"] for c in update["explanation"]["considered"]} >= {"unified-enhanced-response", "base"}


def test_the_customers_mail_answer_resumes_the_update_clock(session, marie, tmp_path):
    from unisupport.services.conversation import record_inbound_message
    from unisupport.storage.blobs import BlobStore

    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened)
    reply(session, incident, opened + timedelta(minutes=5), needs_answer=True)
    assert incident.state == "awaiting_customer"
    received = opened + timedelta(minutes=25)
    record_inbound_message(
        session,
        incident,
        sender_email="marie.dupont@contoso.example",
        contact=None,
        body="All mailboxes, since 09:50.",
        message_id="<answer@contoso.example>",
        in_reply_to=None,
        references=[],
        received_at=received,
        attachments=[],
        original_eml=b"From: marie\r\n\r\nAll mailboxes\r\n",
        now=received,
        blobs=BlobStore(tmp_path / "blobs"),
    )
    assert incident.state == "in_progress"
    [target] = targets_of(session, incident.id)
    assert target.paused_seconds == 20 * 60
    assert target.due_at == (received + timedelta(minutes=30)).astimezone(UTC)


def test_an_order_amendment_that_ends_a_plan_recalculates_the_pending_update(session, marie):
    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incident = open_incident(session, marie, opened, severity="A", product="dynamics-365")  # UER A: every 60 min
    reply(session, incident, opened + timedelta(minutes=5))
    [target] = targets_of(session, incident.id)
    assert (target.plan, target.target_minutes) == ("unified-enhanced-response", 60)
    document = read_order_document(CONTOSO)
    for line in document["lines"]:
        if line["service"] == "unified-enhanced-response":
            line["end"] = "2026-11-24"  # UER ended the day before
    at = opened + timedelta(minutes=10)
    result = import_order(session, document, actor="ops", now=at, reason="UER ended")
    assert result.outcome == "amended"
    session.refresh(target)
    assert (target.plan, target.target_minutes) == ("base", 120)
    assert target.due_at == (opened + timedelta(minutes=125)).astimezone(UTC)  # from its own start
    event = session.scalars(
        select(IncidentEventRow).where(
            IncidentEventRow.incident_id == incident.id, IncidentEventRow.kind == "update-target-recalculated"
        )
    ).one()
    assert event.before["plan"] == "unified-enhanced-response" and "amended" in event.reason


def test_a_page_of_incidents_is_viewed_in_five_queries_with_the_same_answers_as_one_by_one(session, marie):
    """The list answer (GET /api/v1/incidents) preloads the rows of every incident on
    the page (load_related_many) instead of five queries per incident: same views,
    a statement count that does not grow with the page."""
    from sqlalchemy import event

    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    incidents = [open_incident(session, marie, opened + timedelta(minutes=i), severity="1AB"[i % 3]) for i in range(6)]
    reply(session, incidents[0], opened + timedelta(minutes=30), needs_answer=True)  # paused update target
    reply(session, incidents[1], opened + timedelta(minutes=31))  # a running one
    reply(session, incidents[1], opened + timedelta(minutes=40))  # ... met, and the next one started
    request_collaboration(
        session, marie, incidents[2].id, ThirdPartyIn(vendor="Contoso Networks", note="the router"), now=opened
    )
    session.flush()
    now = opened + timedelta(hours=2)
    one_by_one = [svc.incident_view(session, i, now=now, related=svc.load_related(session, i)) for i in incidents]
    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        related = svc.load_related_many(session, incidents)
        many = [svc.incident_view(session, i, now=now, related=related[i.id]) for i in incidents]
        few = len(statements)
        statements.clear()
        svc.load_related_many(session, incidents[:2])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert many == one_by_one
    assert many[0]["update_target"]["state"] == "paused" and many[1]["update_target"]["seq"] == 2
    assert many[2]["third_parties"] and many[3]["update_target"] is None
    assert few == len(statements) == 5
    assert svc.load_related_many(session, []) == {}


def test_the_acknowledgement_is_in_the_contacts_users_language_else_the_contacts(session, marie):
    """R-SEV-2's acknowledgement: the language of the user tied to the contact when
    there is one (read with the opening's one query), else the contact's own."""
    from unisupport.storage.tables import OutboxRow as Outbox

    opened = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    first = open_incident(session, marie, opened)
    create_user(
        session,
        email="marie.dupont@contoso.example",
        name="Marie Dupont",
        role="reactive-contact",
        customer_code="contoso",
        language="en",
        actor="ops",
        now=opened,
    )
    second = open_incident(session, marie, opened + timedelta(minutes=1))
    languages = {
        row.subject_id: row.language
        for row in session.scalars(select(Outbox).where(Outbox.kind == "incident.acknowledged"))
    }
    assert languages == {first.id: "fr", second.id: "en"}
