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
from test_search import ENGINEER, OPENED, SETTINGS, fabrikam_site, open_incident, world, write  # noqa: F401

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.requests import ClosureIn, CommunicationIn
from unisupport.services import incidents as svc
from unisupport.services import queue, saved_views, users
from unisupport.storage.tables import IncidentEventRow

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


def test_the_engineer_the_customer_answered_marker_and_the_next_deadline(world, people):  # noqa: F811
    w = world
    me, other = people
    quiet = open_incident(w, w.marie, "Quiet one")
    asked = open_incident(w, w.marie, "Asked the customer")
    answered = open_incident(w, w.marie, "The customer answered")
    svc.add_communication(
        w.session,
        me,
        asked.id,
        CommunicationIn(direction="outbound", medium="phone", body="Send the logs", requests_customer_action=True),
        now=OPENED + timedelta(minutes=10),
        settings=SETTINGS,
    )
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
    assert rows[answered.id].next_clock is None  # the reply was the first response; nothing asked
    assert ids(listed(w, me, sort="assignee"))[0] == quiet.id  # somebody before nobody
    assert ids(listed(w, me, sort="-answered"))[0] == answered.id
    assert ids(listed(w, me, sort="deadline"))[-1] == answered.id  # no deadline: last
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
