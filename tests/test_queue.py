"""The queue on SQLite and PostgreSQL (docs/decisions.md D109): sorted in the database
by any column, its engineer column, the "customer answered" marker (the customer wrote
last), the next deadline of the clocks still running (first response R-SLA-1,
customer-side R-SLA-4), searched by words, and bulk take/assign through the assignment
service (an audited event per incident); and the users' saved views (D107), each
seen by its owner only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from test_reports import update_target_row
from test_search import ENGINEER, OPENED, SETTINGS, fabrikam_site, open_incident, world, write  # noqa: F401

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.requests import ClosureIn, CommunicationIn
from unisupport.services import incidents as svc
from unisupport.services import queue, saved_views, users
from unisupport.storage.tables import IncidentEventRow, UpdateTargetRow

LATER = OPENED + timedelta(minutes=30)


@pytest.fixture
def people(world):  # noqa: F811
    """Two active engineers (the assignment service names active users only)."""
    eng = users.create_user(
        world.session, email="eng@provider.example", name="Eve", role="engineer", actor="t", now=OPENED
    )
    other = users.create_user(
        world.session, email="sam@provider.example", name="Sam", role="engineer", actor="t", now=OPENED
    )
    me = Principal(eng.id, eng.email, Role.ENGINEER, teams=frozenset({"standard-support"}))
    return me, other


def listed(w, who, **f):
    return queue.queue(w.session, who, queue.QueueFilter(**f), now=LATER).rows


def ids(rows):
    return [r.incident.id for r in rows]


def test_the_queue_sorts_by_every_column_both_ways(world):  # noqa: F811
    w = world
    a = open_incident(w, w.marie, "Alpha outage")
    b = open_incident(w, w.marie, "Bravo outage")
    c = open_incident(w, w.alex, "Charlie outage", site=fabrikam_site(w))
    assert ids(listed(w, ENGINEER, sort="title")) == [a.id, b.id, c.id]
    assert ids(listed(w, ENGINEER, sort="-title")) == [c.id, b.id, a.id]
    assert ids(listed(w, ENGINEER, sort="number")) == [a.id, b.id, c.id]
    assert ids(listed(w, ENGINEER, sort="-number")) == [c.id, b.id, a.id]
    for key in queue.SORTS:
        for sort in (key, "-" + key):
            assert sorted(ids(listed(w, ENGINEER, sort=sort))) == [a.id, b.id, c.id], sort
    customers = [r.incident.customer_id for r in listed(w, ENGINEER, sort="customer")]
    assert customers == sorted(customers, key=lambda i: {w.marie.customer_id: 0, w.alex.customer_id: 1}[i])
    assert ids(listed(w, ENGINEER, sort="no-such-column")) == ids(listed(w, ENGINEER, sort="deadline"))
    assert ids(listed(w, w.marie, sort="title")) == [a.id, b.id]  # the tenant scope holds
    assert ids(listed(w, ENGINEER, q="charlie")) == [c.id]
    dues = [r.incident.first_response_due for r in listed(w, ENGINEER, sort="due")]
    assert dues == sorted(dues) and len(set(dues)) == 2  # Contoso's two at the same instant, Fabrikam's later
    assert ids(listed(w, ENGINEER, sort="due"))[:2] == [b.id, a.id]  # the same due: the newest first


def ask_the_customer(w, me, incident):
    """Answered on the phone, asking for the logs: the customer-side clock starts (R-SLA-4)."""
    svc.add_communication(
        w.session,
        me,
        incident.id,
        CommunicationIn(direction="outbound", medium="phone", body="Send the logs", requests_customer_action=True),
        now=OPENED + timedelta(minutes=10),
        settings=SETTINGS,
    )


def test_the_engineer_the_customer_answered_marker_and_the_next_deadline(world, people):  # noqa: F811
    w = world
    me, other = people
    quiet = open_incident(w, w.marie, "Quiet one")
    asked = open_incident(w, w.marie, "Asked the customer")
    answered = open_incident(w, w.marie, "The customer answered")
    ask_the_customer(w, me, asked)
    write(w, me, answered, "What do you see?")
    write(w, w.marie, answered, "The same error again")
    svc.assign(w.session, me, quiet.id, "engineer", other.email, now=LATER)
    rows = {r.incident.id: r for r in listed(w, me)}
    assert rows[quiet.id].assignee == other.email and rows[asked.id].assignee is None
    assert [rows[i].customer_answered for i in (quiet.id, asked.id, answered.id)] == [False, False, True]
    assert rows[quiet.id].next_clock == "first-response"
    assert rows[quiet.id].next_deadline == quiet.first_response_due
    # Answered on the phone: the first response is met, the customer's clock runs (R-SLA-4).
    assert rows[asked.id].next_clock == "customer-side"
    assert rows[asked.id].next_deadline > OPENED
    # The reply was the first response, and started the next update's clock (R-INC-2).
    assert rows[answered.id].next_clock == "next-update"
    assert ids(listed(w, me, sort="assignee"))[0] == quiet.id  # somebody before nobody
    assert ids(listed(w, me, sort="-answered"))[0] == answered.id
    deadlines = [r.next_deadline for r in listed(w, me, sort="deadline")]
    assert deadlines == sorted(deadlines)
    # By state: pending (no first response yet) before met.
    assert ids(listed(w, me, sort="state"))[0] == quiet.id
    assert ids(listed(w, me, sort="-state"))[-1] == quiet.id


def test_bulk_take_and_assign_record_one_event_each_and_report_the_refused(world, people):  # noqa: F811
    w = world
    me, other = people
    first, second, closed = (open_incident(w, w.marie, f"Incident {n}") for n in range(3))
    svc.close(w.session, me, closed.id, ClosureIn(summary="Done"), now=LATER)
    outcome = queue.bulk_assign(w.session, me, [first.id, second.id, closed.id], me.email, now=LATER)
    assert outcome.done == [first.id, second.id]
    assert [i for i, _ in outcome.refused] == [closed.id] and "closed" in outcome.refused[0][1]
    events = w.session.execute(
        select(IncidentEventRow.incident_id, IncidentEventRow.actor).where(IncidentEventRow.kind == "role-assigned")
    ).all()
    assert sorted(events) == [(first.id, me.email), (second.id, me.email)]
    queue.bulk_assign(w.session, me, [first.id], other.email, now=LATER)
    assert {r.incident.id: r.assignee for r in listed(w, me)}[first.id] == other.email
    with pytest.raises(InvalidInput) as refused:
        queue.bulk_assign(w.session, me, [first.id], "marie.dupont@contoso.example", now=LATER)
    assert refused.value.field == "person"
    with pytest.raises(InvalidInput):
        queue.bulk_assign(w.session, me, [], me.email, now=LATER)
    with pytest.raises(Exception) as forbidden:
        queue.bulk_assign(w.session, w.marie, [first.id], me.email, now=LATER)
    assert getattr(forbidden.value, "status", None) == 403


def test_saved_views_belong_to_their_owner(world, people):  # noqa: F811
    w = world
    me, other = people
    them = Principal(other.id, other.email, Role.ENGINEER)
    mine = saved_views.create_view(
        w.session,
        me,
        "queue",
        " Sev B at risk ",
        {"severity": "B", "state": "at-risk", "sort": "-deadline"},
        now=OPENED,
    )
    assert mine.name == "Sev B at risk" and mine.filters == {"severity": "B", "sort": "-deadline", "state": "at-risk"}
    saved_views.create_view(w.session, me, "incidents", "Printers", {"q": "printer"}, now=OPENED)
    assert [v.name for v in saved_views.list_views(w.session, me)] == ["Printers", "Sev B at risk"]
    assert saved_views.list_views(w.session, them) == []
    with pytest.raises(NotFound):
        saved_views.get_view(w.session, them, mine.id)
    with pytest.raises(NotFound):
        saved_views.delete_view(w.session, them, mine.id)
    for page, name, filters, field in (
        ("queue", "Sev B at risk", {}, "name"),  # taken
        ("queue", "", {}, "name"),
        ("queue", "x", {"password": "1"}, "filters"),
        ("incidents", "x", {"team": "a"}, "filters"),  # the queue's filter, not the list's
        ("reports", "x", {}, "page"),
    ):
        with pytest.raises(InvalidInput) as refused:
            saved_views.create_view(w.session, me, page, name, filters, now=OPENED)
        assert refused.value.field == field
    saved_views.delete_view(w.session, me, mine.id)
    assert [v.name for v in saved_views.list_views(w.session, me, "queue")] == []


def _target(w, incident, seq, due, **outcome):
    """The incident's own target (the one its first response started) made as asked, or a new one."""
    own = w.session.scalar(
        select(UpdateTargetRow).where(UpdateTargetRow.incident_id == incident.id, UpdateTargetRow.seq == seq)
    )
    if own is not None:
        own.due_at, own.paused_since = due, outcome.get("paused_since")
        for k, v in outcome.items():
            setattr(own, k, v)
        w.session.flush()
        return
    w.session.add(update_target_row(incident, seq, OPENED, due, **outcome))
    w.session.flush()


def test_the_next_deadline_includes_the_pending_update_target(world, people):  # noqa: F811
    """R-INC-2: the pending "next update due" is a clock of the queue's next deadline; a
    met, breached or paused target is not (a paused one has no due instant)."""
    w = world
    me, _ = people
    soon, later, paused, decided = (open_incident(w, w.marie, f"Updated {n}") for n in range(4))
    for incident in (soon, later, paused, decided):
        write(w, me, incident, "We are on it")  # the first response: that clock stops
    _target(w, soon, 1, OPENED + timedelta(hours=2))
    _target(w, later, 1, OPENED + timedelta(hours=5))
    _target(w, paused, 1, None, paused_since=LATER)
    _target(w, decided, 1, OPENED + timedelta(minutes=20), met_at=OPENED + timedelta(minutes=15), met_late=False)
    _target(w, decided, 2, OPENED + timedelta(minutes=25), breached_at=OPENED + timedelta(minutes=25))
    rows = {r.incident.id: r for r in listed(w, me)}
    assert (rows[soon.id].next_clock, rows[soon.id].next_deadline) == ("next-update", OPENED + timedelta(hours=2))
    assert rows[later.id].next_deadline == OPENED + timedelta(hours=5)
    mine = {soon.id, later.id, paused.id, decided.id}
    for r in (rows[paused.id], rows[decided.id]):
        assert r.next_clock is None and r.next_deadline is None
    order = [i for i in ids(listed(w, me, sort="deadline")) if i in mine]
    assert order[:2] == [soon.id, later.id]  # the sort uses the same deadline as the column
    backwards = [i for i in ids(listed(w, me, sort="-deadline")) if i in mine]
    assert backwards.index(later.id) < backwards.index(soon.id)
    # The sooner clock wins: a customer-side due before the update's.
    ask_the_customer(w, me, later)
    row = next(r for r in listed(w, me) if r.incident.id == later.id)
    assert row.next_deadline <= OPENED + timedelta(hours=5)
