"""The engineers' queue (docs/decisions.md D109): the incidents of the teams a
principal works for, within its tenant scope, filtered, searched (``services.search``)
and sorted in the database by any column — number, title, severity, customer,
product, team, assignee, whether the customer spoke last, the next deadline of any
clock — and taken or assigned in bulk, each through :func:`services.incidents.assign`
(an audited timeline event per incident, R-INC-3).

The next deadline is the soonest of the clocks still running: the first response due
(R-SLA-1) while none was given, the customer-side due of a request still waiting
for the customer (R-SLA-4), and the due instant of the pending update target ("next
update due", R-INC-2; a paused one has none, a breached one is past and shown on the
incident's page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, UnisupportError
from unisupport.services import search
from unisupport.services.incidents import assign
from unisupport.services.scope import scoped
from unisupport.sla.severity import Severity
from unisupport.storage.database import plan_each_execution
from unisupport.storage.tables import (
    AssignmentRow,
    CommunicationRow,
    CustomerRow,
    IncidentRow,
    MessageRow,
    UpdateTargetRow,
)

LIMIT = 200  # at most this many incidents taken or assigned at once
PAGE = 50  # the rows of one page of the queue
STATES = ("breached", "at-risk")
STATUSES = ("open", "mitigated", "closed")

_ASSIGNEE = (
    select(AssignmentRow.person)
    .where(
        AssignmentRow.incident_id == IncidentRow.id,
        AssignmentRow.role == Role.ENGINEER.value,
        AssignmentRow.person.is_not(None),
    )
    .order_by(AssignmentRow.id.desc())
    .limit(1)
    .scalar_subquery()
)
# The customer spoke last: the incident's latest public message is theirs.
_CUSTOMER_ANSWERED = func.coalesce(
    select(MessageRow.from_customer)
    .where(MessageRow.incident_id == IncidentRow.id, MessageRow.visibility == "public")
    .order_by(MessageRow.at.desc(), MessageRow.id.desc())
    .limit(1)
    .scalar_subquery(),
    false(),
)
_FIRST_RESPONSE_DUE = case((IncidentRow.first_response_at.is_(None), IncidentRow.first_response_due))
_CUSTOMER_SIDE_DUE = (
    select(func.min(CommunicationRow.customer_response_due))
    .where(
        CommunicationRow.incident_id == IncidentRow.id,
        CommunicationRow.customer_response_due.is_not(None),
        CommunicationRow.answered_at.is_(None),
        CommunicationRow.missed_at.is_(None),
    )
    .scalar_subquery()
)

_UPDATE_PENDING = and_(
    UpdateTargetRow.met_at.is_(None),
    UpdateTargetRow.breached_at.is_(None),
    UpdateTargetRow.ended_at.is_(None),
    UpdateTargetRow.due_at.is_not(None),
)  # storage.tables.UPDATE_PENDING, with a due instant: ix_update_targets_pending_due
_NEXT_UPDATE_DUE = (
    select(func.min(UpdateTargetRow.due_at))
    .where(UpdateTargetRow.incident_id == IncidentRow.id, _UPDATE_PENDING)
    .scalar_subquery()
)


def _sooner(a: ColumnElement, b: ColumnElement) -> ColumnElement:
    """The earlier of two instants, either of which may be null (SQLite's min() of
    two values is null when one is)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


# For the sort: the customer-side dues still pending, one scan of the few rows the
# pending index holds (ix_incident_communications_pending), instead of a subquery per incident.
_PENDING = (
    select(CommunicationRow.incident_id, func.min(CommunicationRow.customer_response_due).label("due"))
    .where(
        CommunicationRow.answered_at.is_(None),
        CommunicationRow.missed_at.is_(None),
        CommunicationRow.customer_response_due.is_not(None),
    )
    .group_by(CommunicationRow.incident_id)
    .subquery("pending")
)
_UPDATES = (
    select(UpdateTargetRow.incident_id, func.min(UpdateTargetRow.due_at).label("due"))
    .where(_UPDATE_PENDING)
    .group_by(UpdateTargetRow.incident_id)
    .subquery("updates")
)
_NEXT_DEADLINE = _sooner(_sooner(_FIRST_RESPONSE_DUE, _PENDING.c.due), _UPDATES.c.due)

SORTS: dict[str, Any] = {
    "number": IncidentRow.id,
    "title": IncidentRow.title,
    "severity": IncidentRow.severity,
    "customer": CustomerRow.name,
    "product": IncidentRow.product,
    "team": IncidentRow.team,
    "assignee": _ASSIGNEE,
    "answered": _CUSTOMER_ANSWERED,
    "deadline": _NEXT_DEADLINE,
    "due": IncidentRow.first_response_due,
    "state": None,  # the first response's state at the time of the page: _state_order(now)
}
DEFAULT_SORT = "deadline"


@dataclass(frozen=True)
class QueueFilter:
    teams: Sequence[str] | None = None  # None: every team
    severity: str | None = None
    customer: str | None = None  # a customer code
    state: str | None = None  # breached, at-risk
    status: str = "open"
    q: str | None = None  # words searched in full text
    sort: str = DEFAULT_SORT  # a key of SORTS, "-" before it for descending


@dataclass(frozen=True)
class QueueRow:
    incident: IncidentRow
    assignee: str | None
    customer_answered: bool
    next_deadline: datetime | None
    next_clock: str | None  # first-response, customer-side, next-update


@dataclass
class Queue:
    rows: list[QueueRow] = field(default_factory=list)
    truncated: bool = False


def parse_sort(sort: str | None) -> tuple[str, bool]:
    """``deadline`` / ``-deadline`` → (key, descending); an unknown key: the default."""
    sort = sort or DEFAULT_SORT
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    return (key, descending) if key in SORTS else (DEFAULT_SORT, False)


def _state_order(now: datetime) -> ColumnElement:
    """The first response's state as the page shows it (``first_response_state``), most
    urgent first: breached, at risk, pending, then late and met."""
    answered = IncidentRow.first_response_at.is_not(None)
    return case(
        (and_(answered, IncidentRow.first_response_at > IncidentRow.first_response_due), 3),
        (answered, 4),
        (or_(IncidentRow.breached_at.is_not(None), IncidentRow.first_response_due <= now), 0),
        (IncidentRow.first_response_warn_at <= now, 1),
        else_=2,
    )


def _state(now: datetime, state: str | None) -> ColumnElement | None:
    awaiting = IncidentRow.first_response_at.is_(None)
    if state == "breached":
        return or_(IncidentRow.breached_at.is_not(None), and_(awaiting, IncidentRow.first_response_due <= now))
    if state == "at-risk":
        return and_(
            awaiting,
            IncidentRow.breached_at.is_(None),
            IncidentRow.first_response_warn_at <= now,
            IncidentRow.first_response_due > now,
        )
    return None


def queue(
    session: Session, principal: Principal, f: QueueFilter, *, now: datetime, limit: int = PAGE, offset: int = 0
) -> Queue:
    """The queue's rows (see the module): ``limit`` of them from ``offset``; ``truncated``
    when more follow. Two queries: the page's ids in the order asked (only the sort's
    own expression is computed for every incident in scope), then those rows with their
    columns."""
    plan_each_execution(session)  # the next deadlines: partial indexes read with the instant given (D154)
    query = scoped(
        select(IncidentRow.id)
        .join(CustomerRow, CustomerRow.id == IncidentRow.customer_id)
        .outerjoin(_PENDING, _PENDING.c.incident_id == IncidentRow.id)
        .outerjoin(_UPDATES, _UPDATES.c.incident_id == IncidentRow.id),
        IncidentRow.customer_id,
        principal,
    ).where(IncidentRow.status == (f.status if f.status in STATUSES else "open"))
    if f.teams is not None:
        query = query.where(IncidentRow.team.in_(list(f.teams)))
    if f.severity:
        query = query.where(IncidentRow.severity == Severity.parse(f.severity).value)
    if f.customer:
        query = query.where(CustomerRow.code == f.customer)
    state = _state(now, f.state)
    if state is not None:
        query = query.where(state)
    found = search.matching_incidents(session, principal, f.q)
    params: dict[str, Any] = {}
    if found is not None:
        matches, params = found
        query = query.where(IncidentRow.id.in_(matches))
    key, descending = parse_sort(f.sort)
    column = SORTS[key] if key != "state" else _state_order(now)
    order = column.desc() if descending else column.asc()
    # Nulls last either way (no deadline left, nobody assigned), then the newest first.
    query = query.order_by(column.is_(None), order, IncidentRow.id.desc()).offset(max(0, offset)).limit(limit + 1)
    ids = list(session.scalars(query, params))
    page = ids[:limit]
    if not page:
        return Queue([], False)
    columns = select(
        IncidentRow, _ASSIGNEE, _CUSTOMER_ANSWERED, _FIRST_RESPONSE_DUE, _CUSTOMER_SIDE_DUE, _NEXT_UPDATE_DUE
    ).where(IncidentRow.id.in_(page))
    by_id = {}
    for incident, assignee, answered, first_due, customer_due, update_due in session.execute(columns).all():
        deadline, clock = _next(first_due, customer_due, update_due)
        by_id[incident.id] = QueueRow(incident, assignee, bool(answered), deadline, clock)
    return Queue([by_id[i] for i in page], len(ids) > limit)


def _next(
    first_due: datetime | None, customer_due: datetime | None, update_due: datetime | None
) -> tuple[datetime | None, str | None]:
    named = ((first_due, "first-response"), (customer_due, "customer-side"), (update_due, "next-update"))
    clocks = [(d, name) for d, name in named if d]
    return min(clocks, key=lambda c: c[0]) if clocks else (None, None)


@dataclass(frozen=True)
class BulkOutcome:
    done: list[int]
    refused: list[tuple[int, str]]  # the incident and why


def bulk_assign(
    session: Session, principal: Principal, incident_ids: Sequence[int], person: str, *, now: datetime
) -> BulkOutcome:
    """Name ``person`` the engineer of each incident (the principal itself: taking
    them). Each one is assigned, with its timeline event, in a savepoint of its own:
    an incident refused (closed, out of scope) is reported and the others are done."""
    if not incident_ids:
        raise InvalidInput("select at least one incident", field="incidents")
    if len(incident_ids) > LIMIT:
        raise InvalidInput(f"at most {LIMIT} incidents at once", field="incidents")
    done, refused = [], []
    for incident_id in dict.fromkeys(incident_ids):
        try:
            with session.begin_nested():
                assign(session, principal, incident_id, Role.ENGINEER.value, person, now=now)
        except UnisupportError as e:
            if e.field in ("person", "role"):
                raise  # the same for every incident: said once
            refused.append((incident_id, str(e)))
        else:
            done.append(incident_id)
    return BulkOutcome(done, refused)
