"""The incident lifecycle, stored (R-INC-1..4, R-SEV-1..4, R-SLA-1..4, R-RCA-1/2,
R-PIR-1, R-EVT-1).

Opening an incident computes its first-response target with the resolver (every plan
the order holds, with its scope, on the site's calendar), routes it, assigns the roles
that come automatically and starts the clocks. Every later change is an event on the
incident's timeline with actor, time, before/after, reason and rule; the target is
recomputed whenever the severity changes, and the explanation stored with it always
describes the target in force."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.orm import Session

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents import third_party
from unisupport.incidents.communication import (
    Direction,
    counts_as_first_response,
    why_not_first_response,
)
from unisupport.incidents.customer_clock import CRITICAL_DEFAULT_MINUTES, customer_response_due
from unisupport.incidents.requests import (
    ClosureIn,
    CommunicationIn,
    IncidentIn,
    MitigationIn,
    SeverityChangeIn,
)
from unisupport.incidents.root_cause import decide_rca
from unisupport.incidents.routing import route
from unisupport.incidents.severity_change import ORDER as SEVERITY_ORDER
from unisupport.incidents.severity_change import check_change, retarget
from unisupport.mission_critical.azure_event import post_event_summary
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services.customers import site_calendar
from unisupport.services.incident_notifications import acknowledge
from unisupport.services.mission_critical import event_plan, event_plans, events
from unisupport.services.orders import current_document
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.first_response_due import Explanation, Holding, explain
from unisupport.sla.matrix import Coverage, Scope, default_matrix
from unisupport.sla.severity import Severity
from unisupport.storage.tables import (
    AssignmentRow,
    CommunicationRow,
    ContactRow,
    CustomerRow,
    IncidentEventRow,
    IncidentRow,
    OrderLineRow,
    OrderRow,
    OrderVersionRow,
    PostIncidentReviewRow,
    RcaRequestRow,
    SiteRow,
    ThirdPartyRow,
    UserRow,
)

PROVIDER_WORKERS = (Role.ADMIN, Role.ENGINEER, Role.INCIDENT_MANAGER)
OPENING_ROLES = {"reactive-contact", "support-administrator", "cloud-administrator"}
ACKNOWLEDGEMENT = "Automatic acknowledgement: your incident was received; an engineer will contact you."


@dataclass(frozen=True)
class IncidentSettings:
    warn_share: float = 0.75  # warn when this share of the target has elapsed
    critical_customer_minutes: int = CRITICAL_DEFAULT_MINUTES  # R-SLA-4, Sev 1/A


# ------------------------------------------------------------------ helpers
def _event(
    session: Session,
    incident: IncidentRow,
    *,
    kind: str,
    actor: str,
    at: datetime,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    rule: str | None = None,
) -> None:
    session.add(
        IncidentEventRow(
            customer_id=incident.customer_id,
            incident_id=incident.id,
            at=at,
            actor=actor,
            kind=kind,
            before=before,
            after=after,
            reason=reason,
            rule=rule,
        )
    )


def record_change(
    session: Session,
    incident: IncidentRow,
    *,
    kind: str,
    actor: str,
    at: datetime,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    rule: str | None = None,
) -> None:
    """A change made at ``at``: its timeline event, and a new version of the incident."""
    _event(session, incident, kind=kind, actor=actor, at=at, before=before, after=after, reason=reason, rule=rule)
    incident.version += 1
    incident.updated_at = at
    session.flush()


def _scoped(query, column, principal: Principal):
    scope = principal.customer_scope
    return query if scope is None else query.where(column.in_(scope))


def get_incident(session: Session, principal: Principal, incident_id: int, *, lock: bool = False) -> IncidentRow:
    """The incident, or NotFound — also when it belongs to another tenant."""
    query = _scoped(select(IncidentRow).where(IncidentRow.id == incident_id), IncidentRow.customer_id, principal)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return row


def _check_version(incident: IncidentRow, expected: int | None) -> None:
    if expected is not None and expected != incident.version:
        raise StaleVersion(
            f"incident {incident.id} is at version {incident.version}, not {expected}: reload it", field="If-Match"
        )


class StaleVersion(InvalidInput):
    """An update based on an old version (the adapters' 412)."""


def _calendar(session: Session, incident: IncidentRow) -> Calendar:
    return site_calendar(session.get(SiteRow, incident.site_id))  # type: ignore[arg-type]


def _after(at: datetime, minutes: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds(at) + round(minutes * 60), UTC)


def _warn_at(calendar: Calendar, start: datetime, minutes: int, coverage: Coverage, share: float) -> datetime:
    if coverage is Coverage.BUSINESS_HOURS:
        return calendar.add_business_seconds(start, round(minutes * 60 * share))
    return _after(start, minutes * share)


# The services an order holds among the given plans; built once, like _OPENING below.
_SERVICES = select(OrderLineRow.service).where(
    OrderLineRow.order_id == bindparam("order_id"),
    OrderLineRow.active.is_(True),
    OrderLineRow.service.in_(bindparam("plans", expanding=True)),
)


def holdings(session: Session, order: OrderRow, opened_at: datetime, *, document: dict | None = None) -> list[Holding]:
    """The plans an order holds for an incident opened at ``opened_at``, with the
    scopes its current version names (ARR components, MCSAP enrolled products,
    Security Plus tenants) and the Azure event in progress, if any. ``document``: the
    order's current version, when the caller read it already."""
    matrix = default_matrix()
    services = set(session.scalars(_SERVICES, {"order_id": order.id, "plans": list(matrix.plans)}))
    if document is None:
        document = current_document(session, order)
    scopes = document.get("scopes") or {}
    out = []
    for code in sorted(services):
        plan = matrix.plans[code]
        if plan.scope is Scope.AZURE_COMPONENTS:
            out.append(Holding(code, frozenset(scopes.get("arr_components") or ()) or None))
        elif plan.scope is Scope.ENROLLED_PRODUCTS:
            out.append(Holding(code, frozenset((scopes.get("mcsap") or {}).get("enrolled_products") or ()) or None))
        elif plan.scope is Scope.TENANTS:
            out.append(Holding(code, frozenset(scopes.get("security_plus_tenants") or ()) or None))
        elif plan.scope is Scope.EVENT:
            window = None
            for p in event_plans(session, order, around=opened_at):
                if epoch_seconds(p.window_start) <= epoch_seconds(opened_at) < epoch_seconds(p.window_end):
                    window = p
            out.append(Holding(code, None, window.window_start, window.window_end) if window else Holding(code))
        else:
            out.append(Holding(code))
    return out


# ------------------------------------------------------------------ opening
@dataclass(frozen=True)
class _Opening:
    """The rows an incident is opened against, read in one query."""

    order: OrderRow
    customer: CustomerRow
    document: dict  # the order's current version
    site: SiteRow
    contact: ContactRow


# Opening and reading incidents run these queries on every request: built once, with
# bound parameters (building a statement of this size and its cache key costs more
# than running it: ~0.3 of ~0.5 ms).
_OPENING = (
    select(OrderRow, CustomerRow, OrderVersionRow.document, SiteRow, ContactRow)
    .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
    .outerjoin(
        OrderVersionRow, and_(OrderVersionRow.order_id == OrderRow.id, OrderVersionRow.version == OrderRow.version)
    )
    .outerjoin(SiteRow, and_(SiteRow.customer_id == OrderRow.customer_id, SiteRow.code == bindparam("site")))
    .outerjoin(ContactRow, and_(ContactRow.customer_id == OrderRow.customer_id, ContactRow.email == bindparam("email")))
)
_OPENING_BY_NUMBER = _OPENING.where(OrderRow.number == bindparam("number"))
_OPENING_BY_NUMBER_IN_SCOPE = _OPENING_BY_NUMBER.where(OrderRow.customer_id.in_(bindparam("scope", expanding=True)))
_OPENING_ACTIVE = _OPENING.where(
    OrderRow.customer_id == bindparam("customer_id"), OrderRow.status == OrderStatus.ACTIVE.value
)


def _opening(session: Session, principal: Principal, data: IncidentIn) -> _Opening:
    """Who may open an incident, for which order, site and contact (R-ORD-2, R-MC-1,
    R-ORD-4): the checks shared by opening and previewing. The order comes with its
    customer, current version, the site named and the contact in one query."""
    if principal.role is Role.CSAM:
        raise Forbidden("a CSAM follows incidents but does not open them", field="role")
    email = (data.contact or (principal.email if principal.role.is_customer else "")).lower()
    parameters = {"site": data.site, "email": email}
    if data.order:
        scope = principal.customer_scope
        if scope is None:
            found = session.execute(_OPENING_BY_NUMBER, parameters | {"number": data.order}).first()
        else:
            found = session.execute(
                _OPENING_BY_NUMBER_IN_SCOPE, parameters | {"number": data.order, "scope": sorted(scope)}
            ).first()
        if found is None:
            raise NotFound(f"no order {data.order!r}", field="order")
    elif principal.role.is_provider:
        raise InvalidInput("give the order number", field="order")
    else:
        active = session.execute(_OPENING_ACTIVE, parameters | {"customer_id": principal.customer_id}).all()
        if len(active) != 1:
            raise InvalidInput(
                f"your organisation has {len(active)} active orders: give the order number", field="order"
            )
        found = active[0]
    order, document, site = found.OrderRow, found.document or {}, found.SiteRow
    if order.status != OrderStatus.ACTIVE.value:
        raise Refused(
            f"order {order.number} is {order.status}: reactive support needs an active Base Package",
            rule="R-ORD-2",
            field="order",
        )
    if site is None or site.code not in {s["id"] for s in document.get("sites", [])}:
        raise InvalidInput(f"order {order.number} has no site {data.site!r}", field="site", rule="R-MC-1")
    return _Opening(order, found.CustomerRow, document, site, _check_contact(found.ContactRow, email, data))


def _check_contact(contact: ContactRow | None, email: str, data: IncidentIn) -> ContactRow:
    if not email:
        raise InvalidInput(
            "give the designated contact who opens the incident (R-ORD-4)", field="contact", rule="R-ORD-4"
        )
    if contact is None or not contact.active:
        raise Refused(
            f"{email} is not a designated contact of this customer: only designated contacts open incidents",
            rule="R-ORD-4",
            field="contact",
        )
    roles = set(contact.roles)
    if not roles & OPENING_ROLES:
        raise Refused(f"{email} holds no role that may open incidents", rule="R-ORD-4", field="contact")
    if roles & OPENING_ROLES == {"cloud-administrator"} and data.channel.value != "portal":
        raise Refused("cloud administrators open incidents through the cloud portal", rule="R-ORD-4", field="channel")
    return contact


def open_incident(
    session: Session,
    principal: Principal,
    data: IncidentIn,
    *,
    now: datetime,
    settings: IncidentSettings = IncidentSettings(),
) -> IncidentRow:
    """Open an incident: target, explanation, routing, roles, clocks (see module)."""
    return _open(session, principal, data, now=now, settings=settings)[0]


def open_and_view(
    session: Session,
    principal: Principal,
    data: IncidentIn,
    *,
    now: datetime,
    settings: IncidentSettings = IncidentSettings(),
) -> dict[str, Any]:
    """Open an incident and answer its :func:`incident_view`, built from the rows the
    opening read and wrote rather than read back."""
    incident, related = _open(session, principal, data, now=now, settings=settings)
    return incident_view(session, incident, now=now, related=related)


def _open(
    session: Session, principal: Principal, data: IncidentIn, *, now: datetime, settings: IncidentSettings
) -> tuple[IncidentRow, Related]:
    opening = _opening(session, principal, data)
    order, site, contact = opening.order, opening.site, opening.contact
    opened_at = now
    if data.opened_at is not None:
        if principal.role is not Role.ADMIN:
            raise Forbidden("only an admin importing history may set opened_at", field="opened_at")
        if epoch_seconds(data.opened_at) > epoch_seconds(now):
            raise InvalidInput("opened_at is in the future", field="opened_at")
        opened_at = data.opened_at.astimezone(UTC)
    calendar = site_calendar(site)
    explanation = explain(
        severity=data.severity,
        product=data.product,
        opened=opened_at,
        calendar=calendar,
        plans=holdings(session, order, opened_at, document=opening.document),
        description=" ".join(x for x in (data.title, data.description or "") if x),
        tenant=data.tenant,
        language=data.language,
    )
    routing = route(explanation)
    critical = next((e for e in explanation.extras if "within_minutes" in e), None)
    incident = IncidentRow(
        customer_id=order.customer_id,
        order_id=order.id,
        site_id=site.id,
        contact_id=contact.id,
        opened_by=principal.email,
        channel=data.channel.value,
        product=data.product,
        title=data.title,
        business_impact=data.business_impact,
        description=data.description,
        tenant=data.tenant,
        severity=explanation.severity.value,
        highest_severity=explanation.severity.value,
        production_impact=data.production_impact,
        language=data.language,
        status="open",
        team=routing.team,
        routing=routing.to_dict(),
        explanation=explanation.to_dict(),
        plan=explanation.plan,
        target_minutes=explanation.target_minutes,
        coverage=explanation.coverage.value,
        opened_at=opened_at,
        target_started_at=opened_at,
        first_response_due=explanation.due,
        first_response_warn_at=_warn_at(
            calendar, opened_at, explanation.target_minutes, explanation.coverage, settings.warn_share
        ),
        critical_resource_due=_after(opened_at, critical["within_minutes"]) if critical else None,
        escalated_at=opened_at if routing.enhanced_escalation else None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()  # the incident's id, for the rows below

    events: list[dict[str, Any]] = []

    def event(kind: str, actor: str, at: datetime, after: dict, reason: str, rule: str | None = None) -> None:
        events.append(
            dict(
                customer_id=incident.customer_id,
                incident_id=incident.id,
                at=at,
                actor=actor,
                kind=kind,
                before=None,
                after=after,
                reason=reason,
                rule=rule,
            )
        )

    actor = principal.email
    event(
        "opened",
        actor,
        opened_at,
        rule="R-INC-1",
        after={
            "severity": incident.severity,
            "product": incident.product,
            "channel": incident.channel,
            "contact": contact.email,
            "site": site.code,
            "due": explanation.due.isoformat(),
            "plan": explanation.plan,
            "target_minutes": explanation.target_minutes,
            "coverage": explanation.coverage.value,
        },
        reason=f"first response due {explanation.due.isoformat()}: {explanation.governing.reason}",
    )
    if data.opened_at is not None:
        event(
            "history-imported",
            actor,
            now,
            after={"opened_at": opened_at.isoformat()},
            reason="opened_at set by an admin importing history",
        )
    event("routed", "system", opened_at, after={"team": routing.team}, reason=routing.reason, rule="R-INC-3")
    assignments = [
        AssignmentRow(
            customer_id=incident.customer_id,
            incident_id=incident.id,
            role=role,
            person=None,
            automatic=True,
            rule="R-INC-3",
            at=opened_at,
        )
        for role in routing.roles
    ]
    for role in routing.roles:
        event(
            "role-assigned",
            "system",
            opened_at,
            after={"role": role},
            reason="assigned automatically by the plan",
            rule="R-INC-3",
        )
    if routing.enhanced_escalation:
        event(
            "escalated",
            "system",
            opened_at,
            after={"escalation": "enhanced"},
            reason=f"Severity {incident.severity}: enhanced escalation starts automatically",
            rule="R-INC-2",
        )
    if incident.critical_resource_due:
        event(
            "clock-started",
            "system",
            opened_at,
            after={"clock": "critical-situation-resource", "due": incident.critical_resource_due.isoformat()},
            reason="Azure Events Sev 1: a critical situation resource is designated within 30 minutes",
            rule="R-EVT-2",
        )
    # The automatic acknowledgement is recorded, and never counts (R-SEV-2).
    acknowledgement = CommunicationRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        direction="outbound",
        medium="email",
        automated=True,
        author="system",
        at=opened_at,
        logged_at=now,
        body=ACKNOWLEDGEMENT,
        first_response=False,
        requests_customer_action=False,
        customer_response_due=None,
        answered_at=None,
        missed_at=None,
    )
    session.add_all([*assignments, acknowledgement])
    session.execute(insert(IncidentEventRow), events)  # one statement for the whole timeline so far
    session.flush()
    acknowledge(
        session,
        incident,
        site=site,
        customer_name=opening.customer.name if opening.customer else "",
        contact=contact,
        now=now,
    )
    return incident, Related(opening.customer, order, site, contact, None, None, assignments, [acknowledgement], [])


def preview_target(session: Session, principal: Principal, data: IncidentIn, *, now: datetime) -> Explanation:
    """The first-response target that opening ``data`` now would get, with its
    explanation (R-SLA-1), writing nothing: the portal shows it before the customer
    confirms. Checks the order, site and contact as :func:`open_incident` does."""
    opening = _opening(session, principal, data)
    return explain(
        severity=data.severity,
        product=data.product,
        opened=now,
        calendar=site_calendar(opening.site),
        plans=holdings(session, opening.order, now, document=opening.document),
        description=" ".join(x for x in (data.title, data.description or "") if x),
        tenant=data.tenant,
        language=data.language,
    )


# ------------------------------------------------------------------ communications
def add_communication(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: CommunicationIn,
    *,
    now: datetime,
    settings: IncidentSettings = IncidentSettings(),
    expected_version: int | None = None,
) -> CommunicationRow:
    incident = get_incident(session, principal, incident_id, lock=True)
    _check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is closed", rule="R-INC-1", field="id")
    if principal.role.is_customer:
        if data.direction is Direction.OUTBOUND:
            raise Forbidden("customers post inbound communications only", field="direction")
        direction = Direction.INBOUND
        if data.at is not None:
            raise Forbidden("only provider users log a communication after the fact", field="at")
        if data.requests_customer_action:
            raise Forbidden("only provider engineers ask the customer for action", field="requests_customer_action")
    else:
        if principal.role is Role.CSAM:
            raise Forbidden("a CSAM follows incidents but does not work them", field="role")
        direction = data.direction or Direction.OUTBOUND
    at = now if data.at is None else data.at.astimezone(UTC)
    if epoch_seconds(at) > epoch_seconds(now) + 60:
        raise InvalidInput("a communication cannot happen in the future", field="at")
    if epoch_seconds(at) < epoch_seconds(incident.opened_at):
        raise InvalidInput("a communication cannot precede the incident's opening", field="at")
    first = incident.first_response_at is None and counts_as_first_response(direction, data.medium, False)
    calendar = _calendar(session, incident)
    due = None
    if data.requests_customer_action and direction is Direction.OUTBOUND:
        due, _ = customer_response_due(
            Severity(incident.severity), at, calendar, critical_minutes=settings.critical_customer_minutes
        )
    row = CommunicationRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        direction=direction.value,
        medium=data.medium.value,
        automated=False,
        author=principal.email,
        at=at,
        logged_at=now,
        body=data.body,
        first_response=first,
        requests_customer_action=bool(due),
        customer_response_due=due,
    )
    session.add(row)
    session.flush()
    actor = principal.email
    if data.at is not None:
        _event(
            session,
            incident,
            kind="communication-logged-late",
            actor=actor,
            at=now,
            after={"communication": row.id, "at": at.isoformat()},
            reason="logged after the fact",
        )
    _event(
        session,
        incident,
        kind="communication",
        actor=actor,
        at=at,
        after={
            "communication": row.id,
            "direction": direction.value,
            "medium": data.medium.value,
            "first_response": first,
        },
        reason=None
        if first or direction is Direction.INBOUND
        else why_not_first_response(direction, data.medium, False),
    )
    if first:
        met = epoch_seconds(at) <= epoch_seconds(incident.first_response_due)
        incident.first_response_at = at
        if not met and incident.breached_at is None:
            incident.breached_at = incident.first_response_due
            _event(
                session,
                incident,
                kind="breached",
                actor="system",
                at=incident.first_response_due,
                after={"clock": "first-response"},
                reason="the first response came after the due time",
                rule="R-SLA-1",
            )
        _event(
            session,
            incident,
            kind="first-response",
            actor=actor,
            at=at,
            rule="R-SEV-2",
            after={"state": "met" if met else "late", "due": incident.first_response_due.isoformat()},
            reason=f"first non-automated contact by {data.medium.value} from the provider",
        )
    if direction is Direction.INBOUND:
        pending = session.scalars(
            select(CommunicationRow).where(
                CommunicationRow.incident_id == incident.id,
                CommunicationRow.requests_customer_action.is_(True),
                CommunicationRow.answered_at.is_(None),
                CommunicationRow.at <= at,
            )
        ).all()
        for asked in pending:
            asked.answered_at = at
            _event(
                session,
                incident,
                kind="customer-responded",
                actor=actor,
                at=at,
                after={"request": asked.id, "late": asked.missed_at is not None},
                rule="R-SLA-4",
            )
    if due is not None:
        _event(
            session,
            incident,
            kind="customer-clock-started",
            actor=actor,
            at=at,
            after={"due": due.isoformat()},
            rule="R-SLA-4",
            reason=customer_response_due(
                Severity(incident.severity), at, calendar, critical_minutes=settings.critical_customer_minutes
            )[1],
        )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return row


# ------------------------------------------------------------------ severity
def change_severity(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: SeverityChangeIn,
    *,
    now: datetime,
    settings: IncidentSettings = IncidentSettings(),
    expected_version: int | None = None,
) -> IncidentRow:
    incident = get_incident(session, principal, incident_id, lock=True)
    _check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is closed", rule="R-SEV-1", field="id")
    old = Severity(incident.severity)
    misses = (
        session.scalar(
            select(func.count())
            .select_from(CommunicationRow)
            .where(CommunicationRow.incident_id == incident.id, CommunicationRow.missed_at.is_not(None))
        )
        or 0
    )
    change = check_change(old, data.severity, reason=data.reason, grounds=data.grounds, recorded_misses=misses)
    if principal.role is Role.CSAM or (principal.role.is_customer and not change.upgrade):
        raise Forbidden(
            f"{principal.role.with_article} may not {'downgrade' if not change.upgrade else 'change'} the severity",
            field="role",
        )
    order = session.get(OrderRow, incident.order_id)
    calendar = _calendar(session, incident)
    restarted = explain(
        severity=data.severity,
        product=incident.product,
        opened=now,
        calendar=calendar,
        plans=holdings(session, order, incident.opened_at),  # type: ignore[arg-type]
        description=" ".join(x for x in (incident.title, incident.description or "") if x),
        tenant=incident.tenant,
        language=incident.language,
    )
    settled = incident.first_response_at or incident.breached_at
    due, why = retarget(
        change, current_due=incident.first_response_due, restarted_due=restarted.due, first_response_at=settled
    )
    before = {"severity": old.value, "due": incident.first_response_due.isoformat(), "plan": incident.plan}
    incident.severity = data.severity.value
    if SEVERITY_ORDER[data.severity] < SEVERITY_ORDER[Severity(incident.highest_severity)]:
        incident.highest_severity = data.severity.value
    if epoch_seconds(due) == epoch_seconds(restarted.due) and not settled:
        incident.explanation = restarted.to_dict()
        incident.plan, incident.target_minutes, incident.coverage = (
            restarted.plan,
            restarted.target_minutes,
            restarted.coverage.value,
        )
        incident.target_started_at = now
        incident.first_response_due = restarted.due
        incident.first_response_warn_at = _warn_at(
            calendar, now, restarted.target_minutes, restarted.coverage, settings.warn_share
        )
        incident.warned_at = None
    routing = route(restarted)
    incident.routing = routing.to_dict()
    if routing.enhanced_escalation and incident.escalated_at is None:
        incident.escalated_at = now
        _event(
            session,
            incident,
            kind="escalated",
            actor="system",
            at=now,
            after={"escalation": "enhanced"},
            reason=f"Severity {incident.severity}: enhanced escalation starts automatically",
            rule="R-INC-2",
        )
    if routing.team != incident.team:
        _event(
            session,
            incident,
            kind="routed",
            actor="system",
            at=now,
            before={"team": incident.team},
            after={"team": routing.team},
            reason=routing.reason,
            rule="R-INC-3",
        )
        incident.team = routing.team
    _event(
        session,
        incident,
        kind="severity-changed",
        actor=principal.email,
        at=now,
        before=before,
        after={
            "severity": data.severity.value,
            "due": incident.first_response_due.isoformat(),
            "plan": incident.plan,
            "grounds": change.grounds.value if change.grounds else None,
            "target": why,
        },
        reason=change.reason,
        rule=change.rule,
    )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return incident


# ------------------------------------------------------------------ mitigation, closure, RCA
def _provider_worker(principal: Principal, action: str) -> None:
    principal.require(*PROVIDER_WORKERS, action=action)


def _past(at: datetime | None, now: datetime, incident: IncidentRow) -> datetime:
    at = now if at is None else at.astimezone(UTC)
    if epoch_seconds(at) > epoch_seconds(now) + 60:
        raise InvalidInput("that instant is in the future", field="at")
    if epoch_seconds(at) < epoch_seconds(incident.opened_at):
        raise InvalidInput("that instant precedes the incident's opening", field="at")
    return at


def mitigate(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: MitigationIn,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> IncidentRow:
    _provider_worker(principal, "mitigate incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    _check_version(incident, expected_version)
    if incident.status != "open":
        raise Refused(f"the incident is {incident.status}, not open", rule="R-INC-1", field="id")
    at = _past(data.at, now, incident)
    incident.status, incident.mitigated_at = "mitigated", at
    _event(
        session,
        incident,
        kind="mitigated",
        actor=principal.email,
        at=at,
        before={"status": "open"},
        after={"status": "mitigated"},
        reason=data.summary,
    )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return incident


def close(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: ClosureIn,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> IncidentRow:
    """Close; a UER Sev 1 gets its post-incident review (R-PIR-1)."""
    _provider_worker(principal, "close incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    _check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is already closed", rule="R-INC-1", field="id")
    at = _past(data.at, now, incident)
    before = incident.status
    incident.status, incident.closed_at = "closed", at
    incident.mitigated_at = incident.mitigated_at or at
    _event(
        session,
        incident,
        kind="closed",
        actor=principal.email,
        at=at,
        before={"status": before},
        after={"status": "closed"},
        reason=data.summary,
    )
    uer = any(c["plan"] == "unified-enhanced-response" and c["applies"] for c in incident.explanation["considered"])
    if incident.highest_severity == Severity.SEV_1.value and (uer or incident.routing.get("post_incident_review")):
        session.add(
            PostIncidentReviewRow(
                customer_id=incident.customer_id, incident_id=incident.id, created_at=now, status="to-schedule"
            )
        )
        _event(
            session,
            incident,
            kind="pir-created",
            actor="system",
            at=now,
            rule="R-PIR-1",
            reason="every UER Severity 1 incident gets a post-incident review with the customer, the CSAM and the account team",
        )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return incident


def request_rca(
    session: Session, principal: Principal, incident_id: int, *, now: datetime, note: str | None = None
) -> RcaRequestRow:
    if principal.role is Role.CSAM:
        raise Forbidden("a CSAM does not request RCAs for the customer", field="role")
    incident = get_incident(session, principal, incident_id, lock=True)
    existing = session.scalar(select(RcaRequestRow).where(RcaRequestRow.incident_id == incident.id))
    if existing is not None:
        return existing
    plans = {c["plan"] for c in incident.explanation["considered"] if c["applies"]}
    decision = decide_rca(
        plans=plans,
        severity=Severity(incident.highest_severity),
        production_impact=incident.production_impact,
        closed_at=incident.closed_at,
        mitigated_at=incident.mitigated_at,
        requested_at=now,
        calendar=_calendar(session, incident),
    )
    row = RcaRequestRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        requested_at=now,
        requested_by=principal.email,
        rule=decision.rule,
        due_at=decision.due,
        status="requested",
    )
    session.add(row)
    _event(
        session,
        incident,
        kind="rca-requested",
        actor=principal.email,
        at=now,
        rule=decision.rule,
        after={"due": decision.due.isoformat() if decision.due else None},
        reason=note or decision.reason,
    )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return row


def rca_window(
    session: Session, incident: IncidentRow, *, now: datetime, calendar: Calendar | None = None
) -> dict[str, Any]:
    """Whether an RCA can be requested now, and until when (for the portal);
    ``calendar``: the site's, when the caller has it."""
    plans = {c["plan"] for c in incident.explanation["considered"] if c["applies"]}
    try:
        decision = decide_rca(
            plans=plans,
            severity=Severity(incident.highest_severity),
            production_impact=incident.production_impact,
            closed_at=incident.closed_at,
            mitigated_at=incident.mitigated_at,
            requested_at=now,
            calendar=calendar or _calendar(session, incident),
        )
    except Refused as exc:
        return {"open": False, "rule": exc.rule, "reason": exc.message, "reason_fr": exc.details.get("reason_fr")}
    until = None
    if plans & {"mcsap", "mcsap-plus"} and incident.closed_at is not None:
        until = (incident.closed_at + timedelta(days=7)).isoformat()
    return {
        "open": True,
        "rule": decision.rule,
        "reason": decision.reason,
        "reason_fr": decision.reason_fr,
        "until": until,
        "due_if_requested_now": decision.due.isoformat() if decision.due else None,
    }


# ------------------------------------------------------------------ people
ASSIGNABLE_ROLES = (Role.ENGINEER, Role.INCIDENT_MANAGER)


def assign(
    session: Session,
    principal: Principal,
    incident_id: int,
    role: str,
    person: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> AssignmentRow:
    """Name an engineer or incident manager on an incident (beside the roles its plan
    assigns automatically, R-INC-3): an active user holding that role. Naming the
    same person in the same role twice records nothing new."""
    _provider_worker(principal, "assign people to incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    _check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is closed", rule="R-INC-1", field="id")
    try:
        wanted = Role(role)
    except ValueError:
        wanted = None
    if wanted not in ASSIGNABLE_ROLES:
        raise InvalidInput(f"assign an engineer or an incident manager, not {role!r}", field="role")
    email = (person or "").strip().lower()
    user = session.scalar(select(UserRow).where(UserRow.email == email))
    if user is None or not user.active or user.role != wanted.value:
        raise InvalidInput(f"{email or 'nobody'} is not an active {wanted.value}", field="person")
    existing = session.scalar(
        select(AssignmentRow).where(
            AssignmentRow.incident_id == incident.id, AssignmentRow.role == wanted.value, AssignmentRow.person == email
        )
    )
    if existing is not None:
        return existing
    row = AssignmentRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        role=wanted.value,
        person=email,
        automatic=False,
        rule=None,
        at=now,
    )
    session.add(row)
    _event(
        session,
        incident,
        kind="role-assigned",
        actor=principal.email,
        at=now,
        after={"role": wanted.value, "person": email},
        reason=f"{email} named {wanted.value} by {principal.email}",
    )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return row


# ------------------------------------------------------------------ reading
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
    query = _scoped(select(IncidentRow), IncidentRow.customer_id, principal)
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
    .where(IncidentRow.id == bindparam("incident_id"))
)
_WITH_RELATED_IN_SCOPE = _WITH_RELATED.where(IncidentRow.customer_id.in_(bindparam("scope", expanding=True)))


def _related(session: Session, incident: IncidentRow, one: tuple) -> Related:
    assignments = list(session.scalars(_ASSIGNMENTS, {"incident_id": incident.id}))
    third_parties = list(session.scalars(_THIRD_PARTIES, {"incident_id": incident.id}))
    return Related(*one, assignments, communications(session, incident), third_parties)  # type: ignore[arg-type]


def load_related(session: Session, incident: IncidentRow) -> Related:
    """The rows :func:`incident_view` shows, in four queries: the customer, order,
    site, contact, RCA and review together; the assignments; the communications; the
    third-party collaborations."""
    return _related(session, incident, tuple(session.execute(_WITH_RELATED, {"incident_id": incident.id}).one()[1:]))


def get_incident_related(session: Session, principal: Principal, incident_id: int) -> tuple[IncidentRow, Related]:
    """:func:`get_incident` with the rows its view shows (:func:`load_related`), the
    incident and its one-to-one rows in one query."""
    scope = principal.customer_scope
    if scope is None:
        found = session.execute(_WITH_RELATED, {"incident_id": incident_id}).first()
    else:
        found = session.execute(_WITH_RELATED_IN_SCOPE, {"incident_id": incident_id, "scope": sorted(scope)}).first()
    if found is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return found[0], _related(session, found[0], tuple(found[1:]))


def incident_view(
    session: Session, incident: IncidentRow, *, now: datetime, related: Related | None = None
) -> dict[str, Any]:
    """Everything an incident page or API answer shows, times in the site's zone.
    ``related``: the rows it shows beside the incident, when the caller has them."""
    r = related or load_related(session, incident)
    calendar = site_calendar(r.site)
    local = calendar.localize

    def when(value: datetime | None) -> str | None:
        return None if value is None else local(value).isoformat()

    customer, order, site, contact, rca, pir, assignments, comms = (
        r.customer,
        r.order,
        r.site,
        r.contact,
        r.rca,
        r.pir,
        r.assignments,
        r.communications,
    )
    pending = [c for c in comms if c.requests_customer_action and c.answered_at is None]
    return {
        "id": incident.id,
        "version": incident.version,
        "customer": customer.code if customer else None,
        "order": order.number if order else None,
        "site": site.code if site else None,
        "timezone": calendar.timezone,
        "contact": contact.email if contact else None,
        "channel": incident.channel,
        "product": incident.product,
        "title": incident.title,
        "business_impact": incident.business_impact,
        "description": incident.description,
        "tenant": incident.tenant,
        "severity": incident.severity,
        "highest_severity": incident.highest_severity,
        "production_impact": incident.production_impact,
        "language": incident.language,
        "status": incident.status,
        "team": incident.team,
        "routing": incident.routing,
        "opened_at": when(incident.opened_at),
        "first_response": {
            "due": when(incident.first_response_due),
            "warn_at": when(incident.first_response_warn_at),
            "target_minutes": incident.target_minutes,
            "coverage": incident.coverage,
            "plan": incident.plan,
            "started_at": when(incident.target_started_at),
            "responded_at": when(incident.first_response_at),
            "breached_at": when(incident.breached_at),
            "state": first_response_state(incident, now),
            "explanation": incident.explanation,
        },
        "critical_situation_resource": None
        if incident.critical_resource_due is None
        else {
            "due": when(incident.critical_resource_due),
            "designated_at": when(incident.critical_resource_at),
            "rule": "R-EVT-2",
        },
        "escalation": {
            "enhanced": incident.escalated_at is not None,
            "since": when(incident.escalated_at),
            "rule": "R-INC-2",
        },
        "assignments": [
            {"role": a.role, "person": a.person, "automatic": a.automatic, "rule": a.rule} for a in assignments
        ],
        "customer_side": [
            {
                "communication": c.id,
                "asked_at": when(c.at),
                "due": when(c.customer_response_due),
                "missed": c.missed_at is not None or epoch_seconds(now) > epoch_seconds(c.customer_response_due),
                "rule": "R-SLA-4",
            }  # type: ignore[arg-type]
            for c in pending
        ],
        "customer_misses": sum(1 for c in comms if c.missed_at is not None),
        "mitigated_at": when(incident.mitigated_at),
        "closed_at": when(incident.closed_at),
        "rca": None
        if rca is None
        else {"requested_at": when(rca.requested_at), "due": when(rca.due_at), "rule": rca.rule, "status": rca.status},
        "rca_window": rca_window(session, incident, now=now, calendar=calendar) if rca is None else None,
        "post_incident_review": None
        if pir is None
        else {"status": pir.status, "created_at": when(pir.created_at), "rule": "R-PIR-1"},
        "third_parties": [collaboration_view(t, calendar) for t in r.third_parties],
    }


def collaboration_view(row: ThirdPartyRow, calendar: Calendar) -> dict[str, Any]:
    """A third-party collaboration (R-INC-4), times in the site's zone."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else calendar.localize(value).isoformat()

    return {
        "id": row.id,
        "vendor": row.vendor,
        "product": row.product,
        "status": row.status,
        "requested_at": when(row.requested_at),
        "requested_by": row.requested_by,
        "engaged_at": when(row.engaged_at),
        "engaged_by": row.engaged_by,
        "vendor_reference": row.vendor_reference,
        "ended_at": when(row.ended_at),
        "ended_by": row.ended_by,
        "rule": third_party.RULE,
        "responsibility": third_party.RESPONSIBILITY["en"],
    }


def communication_view(c: CommunicationRow, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": c.id,
        "direction": c.direction,
        "medium": c.medium,
        "automated": c.automated,
        "author": c.author,
        "at": calendar.localize(c.at).isoformat(),
        "logged_at": calendar.localize(c.logged_at).isoformat(),
        "body": c.body,
        "first_response": c.first_response,
        "requests_customer_action": c.requests_customer_action,
        "customer_response_due": calendar.localize(c.customer_response_due).isoformat()
        if c.customer_response_due
        else None,
    }


def event_view(e: IncidentEventRow, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": calendar.localize(e.at).isoformat(),
        "actor": e.actor,
        "kind": e.kind,
        "before": e.before,
        "after": e.after,
        "reason": e.reason,
        "rule": e.rule,
    }


def calendar_of(session: Session, incident: IncidentRow) -> Calendar:
    return _calendar(session, incident)


def open_reviews(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """RCAs requested and not yet delivered (R-RCA-1/2) and post-incident reviews not
    yet held (R-PIR-1) of the customers in scope, soonest due first: a CSAM's list of
    follow-ups."""
    rcas = session.execute(
        _scoped(
            select(RcaRequestRow, IncidentRow, CustomerRow)
            .join(IncidentRow, IncidentRow.id == RcaRequestRow.incident_id)
            .join(CustomerRow, CustomerRow.id == RcaRequestRow.customer_id)
            .where(RcaRequestRow.status != "delivered"),
            RcaRequestRow.customer_id,
            principal,
        )
    ).all()
    pirs = session.execute(
        _scoped(
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
    query = _scoped(select(*columns).where(IncidentRow.opened_at >= since), IncidentRow.customer_id, principal)
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
    order = session.scalar(
        _scoped(select(OrderRow).where(OrderRow.number == order_number), OrderRow.customer_id, principal)
    )
    if order is None:
        raise NotFound(f"no order {order_number!r}", field="order")
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
