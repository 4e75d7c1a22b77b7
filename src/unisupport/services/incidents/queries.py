"""Reading incidents within the principal's tenant scope: one with the rows its view shows,
the filtered list, the timeline, the communications, the open follow-ups (R-RCA-1/2,
R-PIR-1), first-response outcomes (R-SLA-1) and the Azure Events summary (R-EVT-1)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.mission_critical.azure_event import post_event_summary
from unisupport.services.incidents.changes import get_incident
from unisupport.services.mission_critical import event_plan, events
from unisupport.services.orders import order_in_scope
from unisupport.services import search
from unisupport.services.scope import scoped
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.severity import Severity
from unisupport.storage.database import plan_each_execution
from unisupport.storage.tables import (
    AssignmentRow,
    CommunicationRow,
    ContactRow,
    CustomerRow,
    IncidentEventRow,
    IncidentRow,
    OrderRow,
    PostIncidentReviewRow,
    RcaRequestRow,
    SiteRow,
    ThirdPartyRow,
    UpdateTargetRow,
)


def first_response_state(incident: IncidentRow, now: datetime) -> str:
    """met, late, breached, at-risk or pending."""
    if incident.first_response_at is not None:
        return (
            "met" if epoch_seconds(incident.first_response_at) <= epoch_seconds(incident.first_response_due) else "late"
        )
    if incident.breached_at is not None or epoch_seconds(now) >= epoch_seconds(incident.first_response_due):
        return "breached"
    if epoch_seconds(now) >= epoch_seconds(incident.first_response_warn_at):
        return "at-risk"
    return "pending"


@dataclass(frozen=True)
class IncidentFilter:
    status: str | None = None
    severity: str | None = None
    customer: str | None = None  # customer code
    team: str | None = None
    breached: bool | None = None
    due_before: datetime | None = None
    text: str | None = None  # a number (42, #42, INC-000042) or words searched in full text (services.search)


_NUMBER = re.compile(r"^\s*(?:#|INC-)?0*(\d{1,10})\s*$", re.IGNORECASE)


def is_incident_number(text: str) -> bool:
    """42, #42, INC-000042: the text names one incident."""
    number = _NUMBER.fullmatch(text)
    return number is not None and int(number.group(1)) <= 2**31 - 1


def _matching(session: Session, principal: Principal, query, text: str):
    """Incidents whose number is ``text``, else those its words find (``services.search``)."""
    number = _NUMBER.fullmatch(text)
    if number and int(number.group(1)) <= 2**31 - 1:
        return query.where(IncidentRow.id == int(number.group(1)))
    found = search.matching_incidents(session, principal, text)
    if found is None:
        return query.where(false())
    matches, params = found
    return query.where(IncidentRow.id.in_(matches.params(params)))


def encode_cursor(incident_id: int) -> str:
    return base64.urlsafe_b64encode(f"i{incident_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("i"):
            raise ValueError
        return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("not a cursor returned by this API", field="cursor") from None


def list_incidents(
    session: Session,
    principal: Principal,
    f: IncidentFilter,
    *,
    now: datetime,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[IncidentRow], str | None]:
    """Newest first, keyset-paginated; every filter combines with the tenant scope."""
    if f.breached is not None or f.due_before:
        plan_each_execution(session)  # instants compared over the awaiting incidents' partial indexes (D154)
    query = scoped(select(IncidentRow), IncidentRow.customer_id, principal)
    if f.status:
        query = query.where(IncidentRow.status == f.status)
    if f.severity:
        query = query.where(IncidentRow.severity == Severity.parse(f.severity).value)
    if f.customer:
        query = query.join(CustomerRow, CustomerRow.id == IncidentRow.customer_id).where(CustomerRow.code == f.customer)
    if f.team:
        query = query.where(IncidentRow.team == f.team)
    if f.breached is not None:
        breached = or_(
            IncidentRow.breached_at.is_not(None),
            and_(IncidentRow.first_response_at.is_(None), IncidentRow.first_response_due <= now),
        )
        query = query.where(breached if f.breached else ~breached)
    if f.due_before:
        query = query.where(IncidentRow.first_response_due < f.due_before, IncidentRow.first_response_at.is_(None))
    if f.text and f.text.strip():
        query = _matching(session, principal, query, f.text)
    if cursor:
        query = query.where(IncidentRow.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(IncidentRow.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def timeline(session: Session, principal: Principal, incident_id: int) -> list[IncidentEventRow]:
    incident = get_incident(session, principal, incident_id)
    return list(
        session.scalars(
            select(IncidentEventRow)
            .where(IncidentEventRow.incident_id == incident.id, IncidentEventRow.customer_id == incident.customer_id)
            .order_by(IncidentEventRow.at, IncidentEventRow.id)
        )
    )


# Built once, like _OPENING.
_COMMUNICATIONS = (
    select(CommunicationRow)
    .where(
        CommunicationRow.incident_id == bindparam("incident_id"),
        CommunicationRow.customer_id == bindparam("customer_id"),
    )
    .order_by(CommunicationRow.at, CommunicationRow.id)
)
_ASSIGNMENTS = (
    select(AssignmentRow).where(AssignmentRow.incident_id == bindparam("incident_id")).order_by(AssignmentRow.id)
)
_THIRD_PARTIES = (
    select(ThirdPartyRow).where(ThirdPartyRow.incident_id == bindparam("incident_id")).order_by(ThirdPartyRow.id)
)


def communications(session: Session, incident: IncidentRow) -> list[CommunicationRow]:
    return list(session.scalars(_COMMUNICATIONS, {"incident_id": incident.id, "customer_id": incident.customer_id}))


@dataclass(frozen=True)
class Related:
    """What an incident's view shows beside the incident itself."""

    customer: CustomerRow | None
    order: OrderRow | None
    site: SiteRow
    contact: ContactRow | None
    rca: RcaRequestRow | None
    pir: PostIncidentReviewRow | None
    assignments: list[AssignmentRow]
    communications: list[CommunicationRow]  # oldest first
    third_parties: list[ThirdPartyRow]  # R-INC-4, oldest first
    update_target: UpdateTargetRow | None  # the latest next-update target (R-INC-2), the pending one while there is one


# An incident with its customer, order, site, contact, RCA and review (at most one
# each); built once, like _OPENING.
_WITH_RELATED = (
    select(IncidentRow, CustomerRow, OrderRow, SiteRow, ContactRow, RcaRequestRow, PostIncidentReviewRow)
    .outerjoin(CustomerRow, CustomerRow.id == IncidentRow.customer_id)
    .outerjoin(OrderRow, OrderRow.id == IncidentRow.order_id)
    .outerjoin(SiteRow, SiteRow.id == IncidentRow.site_id)
    .outerjoin(ContactRow, ContactRow.id == IncidentRow.contact_id)
    .outerjoin(RcaRequestRow, RcaRequestRow.incident_id == IncidentRow.id)
    .outerjoin(PostIncidentReviewRow, PostIncidentReviewRow.incident_id == IncidentRow.id)
)
_WITH_RELATED_ONE = _WITH_RELATED.where(IncidentRow.id == bindparam("incident_id"))
_WITH_RELATED_IN_SCOPE = _WITH_RELATED_ONE.where(IncidentRow.customer_id.in_(bindparam("scope", expanding=True)))
_WITH_RELATED_MANY = _WITH_RELATED.where(IncidentRow.id.in_(bindparam("ids", expanding=True)))
_LATEST_TARGET = (
    select(UpdateTargetRow)
    .where(UpdateTargetRow.incident_id == bindparam("incident_id"))
    .order_by(UpdateTargetRow.seq.desc())
    .limit(1)
)
_ASSIGNMENTS_MANY = (
    select(AssignmentRow)
    .where(AssignmentRow.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(AssignmentRow.id)
)
_THIRD_PARTIES_MANY = (
    select(ThirdPartyRow)
    .where(ThirdPartyRow.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(ThirdPartyRow.id)
)
_COMMUNICATIONS_MANY = (
    select(CommunicationRow)
    .where(CommunicationRow.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(CommunicationRow.at, CommunicationRow.id)
)
_LATEST_SEQ = (
    select(UpdateTargetRow.incident_id, func.max(UpdateTargetRow.seq).label("seq"))
    .where(UpdateTargetRow.incident_id.in_(bindparam("ids", expanding=True)))
    .group_by(UpdateTargetRow.incident_id)
    .subquery()
)
_LATEST_TARGETS_MANY = select(UpdateTargetRow).join(
    _LATEST_SEQ,
    and_(_LATEST_SEQ.c.incident_id == UpdateTargetRow.incident_id, _LATEST_SEQ.c.seq == UpdateTargetRow.seq),
)


def _related(session: Session, incident: IncidentRow, one: tuple) -> Related:
    customer, order, site, contact, rca, pir = one
    assignments = list(session.scalars(_ASSIGNMENTS, {"incident_id": incident.id}))
    third_parties = list(session.scalars(_THIRD_PARTIES, {"incident_id": incident.id}))
    comms = communications(session, incident)
    target = session.scalar(_LATEST_TARGET, {"incident_id": incident.id})
    return Related(customer, order, site, contact, rca, pir, assignments, comms, third_parties, target)


def load_related(session: Session, incident: IncidentRow) -> Related:
    """The rows :func:`incident_view` shows, in five queries: the customer, order,
    site, contact, RCA and review together; the assignments; the communications; the
    third-party collaborations; the latest update target."""
    return _related(
        session, incident, tuple(session.execute(_WITH_RELATED_ONE, {"incident_id": incident.id}).one()[1:])
    )


def load_related_many(session: Session, incidents: list[IncidentRow]) -> dict[int, Related]:
    """:func:`load_related` for a page of incidents in five queries whatever its length
    (a list answer, not a query per incident), by incident id."""
    ids = [i.id for i in incidents]
    if not ids:
        return {}
    one = {row[0].id: row for row in session.execute(_WITH_RELATED_MANY, {"ids": ids})}
    assignments: dict[int, list[AssignmentRow]] = {}
    for a in session.scalars(_ASSIGNMENTS_MANY, {"ids": ids}):
        assignments.setdefault(a.incident_id, []).append(a)
    comms: dict[int, list[CommunicationRow]] = {}
    customers = {i.id: i.customer_id for i in incidents}
    for c in session.scalars(_COMMUNICATIONS_MANY, {"ids": ids}):
        if c.customer_id == customers[c.incident_id]:  # the tenant check of _COMMUNICATIONS
            comms.setdefault(c.incident_id, []).append(c)
    collaborations: dict[int, list[ThirdPartyRow]] = {}
    for t in session.scalars(_THIRD_PARTIES_MANY, {"ids": ids}):
        collaborations.setdefault(t.incident_id, []).append(t)
    targets = {t.incident_id: t for t in session.scalars(_LATEST_TARGETS_MANY, {"ids": ids})}
    return {
        i: Related(
            one[i].CustomerRow,
            one[i].OrderRow,
            one[i].SiteRow,
            one[i].ContactRow,
            one[i].RcaRequestRow,
            one[i].PostIncidentReviewRow,
            assignments.get(i, []),
            comms.get(i, []),
            collaborations.get(i, []),
            targets.get(i),
        )
        for i in ids
    }


def get_incident_related(session: Session, principal: Principal, incident_id: int) -> tuple[IncidentRow, Related]:
    """:func:`get_incident` with the rows its view shows (:func:`load_related`), the
    incident and its one-to-one rows in one query."""
    scope = principal.customer_scope
    if scope is None:
        found = session.execute(_WITH_RELATED_ONE, {"incident_id": incident_id}).first()
    else:
        found = session.execute(_WITH_RELATED_IN_SCOPE, {"incident_id": incident_id, "scope": sorted(scope)}).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return found[0], _related(session, found[0], tuple(found[1:]))


def open_reviews(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """RCAs requested and not yet delivered (R-RCA-1/2) and post-incident reviews not
    yet held (R-PIR-1) of the customers in scope, soonest due first: a CSAM's list of
    follow-ups."""
    rcas = session.execute(
        scoped(
            select(RcaRequestRow, IncidentRow, CustomerRow)
            .join(IncidentRow, IncidentRow.id == RcaRequestRow.incident_id)
            .join(CustomerRow, CustomerRow.id == RcaRequestRow.customer_id)
            .where(RcaRequestRow.status != "delivered"),
            RcaRequestRow.customer_id,
            principal,
        )
    ).all()
    pirs = session.execute(
        scoped(
            select(PostIncidentReviewRow, IncidentRow, CustomerRow)
            .join(IncidentRow, IncidentRow.id == PostIncidentReviewRow.incident_id)
            .join(CustomerRow, CustomerRow.id == PostIncidentReviewRow.customer_id)
            .where(PostIncidentReviewRow.status != "held"),
            PostIncidentReviewRow.customer_id,
            principal,
        )
    ).all()
    out = [
        {
            "kind": "rca",
            "incident": i.id,
            "title": i.title,
            "severity": i.highest_severity,
            "customer": c.code,
            "since": r.requested_at,
            "due": r.due_at,
            "status": r.status,
            "rule": r.rule,
            "by": r.requested_by,
        }
        for r, i, c in rcas
    ]
    out += [
        {
            "kind": "pir",
            "incident": i.id,
            "title": i.title,
            "severity": i.highest_severity,
            "customer": c.code,
            "since": r.created_at,
            "due": None,
            "status": r.status,
            "rule": "R-PIR-1",
            "by": None,
        }
        for r, i, c in pirs
    ]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda x: (epoch_seconds(x["due"] or far), epoch_seconds(x["since"]), x["incident"]))


def first_response_outcomes(
    session: Session, principal: Principal, *, since: datetime, now: datetime, customer_id: int | None = None
) -> list[tuple[datetime, str, str]]:
    """``(opened_at, severity, state)`` of the incidents opened since ``since`` whose
    first-response target is settled: met, late or breached (R-SLA-1, R-SEV-2).
    Incidents still within their target are left out: they have no outcome yet."""
    # Only the columns the state needs: the stored explanations stay in the database.
    columns = (
        IncidentRow.opened_at,
        IncidentRow.severity,
        IncidentRow.first_response_at,
        IncidentRow.first_response_due,
        IncidentRow.breached_at,
        IncidentRow.first_response_warn_at,
    )
    query = scoped(select(*columns).where(IncidentRow.opened_at >= since), IncidentRow.customer_id, principal)
    if customer_id is not None:
        query = query.where(IncidentRow.customer_id == customer_id)
    out = []
    for row in session.execute(query.order_by(IncidentRow.opened_at, IncidentRow.id)):
        state = first_response_state(row, now)  # type: ignore[arg-type]
        if state in ("met", "late", "breached"):
            out.append((row.opened_at, row.severity, state))
    return out


# ------------------------------------------------------------------ Azure Events summary (R-EVT-1)
def event_summary(session: Session, principal: Principal, order_number: str, event_code: str) -> dict[str, Any]:
    order = order_in_scope(session, principal, order_number, field="order")
    row = next((e for e in events(session, order) if e.code == event_code), None)
    if row is None:
        raise NotFound(f"no event {event_code!r} on order {order_number}", field="event")
    plan = event_plan(session, row)
    incidents = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.order_id == order.id,
            IncidentRow.customer_id == order.customer_id,
            IncidentRow.opened_at >= plan.window_start,
            IncidentRow.opened_at < plan.window_end,
        )
        .order_by(IncidentRow.opened_at)
    ).all()

    class _Case:
        def __init__(self, r: IncidentRow):
            self.id, self.opened_at, self.severity, self.status = str(r.id), r.opened_at, r.severity, r.status
            self.resolved = r.status in ("mitigated", "closed")

    summary = post_event_summary(plan, [_Case(r) for r in incidents])
    return {
        "event": event_code,
        "solution": summary.solution,
        "window_start": summary.window_start.isoformat(),
        "window_end": summary.window_end.isoformat(),
        "rule": summary.rule,
        "all_resolved": summary.all_resolved,
        "cases": [
            {
                "id": c.id,
                "opened_at": c.opened_at.isoformat(),
                "severity": c.severity,
                "status": c.status,
                "resolved": c.resolved,
            }
            for c in summary.cases
        ],
    }
