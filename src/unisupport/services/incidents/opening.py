"""Opening an incident (R-INC-1..3, R-ORD-2, R-ORD-4, R-MC-1, R-EVT-2): who may open it, for
which order, site and contact; its first-response target with the explanation, routing, the
roles assigned automatically, the clocks, and the automatic acknowledgement (R-SEV-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden, InvalidInput, NotFound
from unisupport.incidents.conversation import new_reply_token, reply_address
from unisupport.incidents.requests import IncidentIn
from unisupport.incidents.supported_products import TO_CHECK, entitlement_check
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services.incident_notifications import acknowledge
from unisupport.services.incidents.entitlement import entitlement_flag_event
from unisupport.services.incidents.provisions import provide
from unisupport.services.incidents.queries import Related
from unisupport.services.incidents.targets import holdings, term_covers, warn_at
from unisupport.services.incidents.views import incident_view
from unisupport.services.webhooks import announce_incident
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.first_response_due import Explanation, explain
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import (
    CommunicationRow,
    ContactRow,
    CustomerRow,
    IncidentEventRow,
    IncidentRow,
    OrderRow,
    OrderVersionRow,
    SiteRow,
    UserRow,
)
from unisupport.storage.bulk import insert_rows

OPENING_ROLES = {"reactive-contact", "support-administrator", "cloud-administrator"}
ACKNOWLEDGEMENT = "Automatic acknowledgement: your incident was received; an engineer will contact you."


@dataclass(frozen=True)
class _Opening:
    """The rows an incident is opened against, read in one query."""

    order: OrderRow
    customer: CustomerRow
    document: dict  # the order's current version
    site: SiteRow
    contact: ContactRow
    user_language: str | None  # the contact's user's, if the contact has a user


# Opening and reading incidents run these queries on every request: built once, with
# bound parameters (building a statement of this size and its cache key costs more
# than running it: ~0.3 of ~0.5 ms).
# The language of the contact's user (the first one), for the acknowledgement.
_CONTACT_USER_LANGUAGE = (
    select(UserRow.language).where(UserRow.contact_id == ContactRow.id).order_by(UserRow.id).limit(1).scalar_subquery()
)
_OPENING = (
    select(OrderRow, CustomerRow, OrderVersionRow.document, SiteRow, ContactRow, _CONTACT_USER_LANGUAGE.label("lang"))
    .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
    .outerjoin(
        OrderVersionRow, and_(OrderVersionRow.order_id == OrderRow.id, OrderVersionRow.version == OrderRow.version)
    )
    .outerjoin(SiteRow, and_(SiteRow.customer_id == OrderRow.customer_id, SiteRow.code == bindparam("site")))
    .outerjoin(ContactRow, and_(ContactRow.customer_id == OrderRow.customer_id, ContactRow.email == bindparam("email")))
)
_EVENTS = insert(cast(Table, IncidentEventRow.__table__))  # Core: no ORM bulk-insert machinery for a few dicts
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
    contact = _check_contact(found.ContactRow, email, data)
    return _Opening(order, found.CustomerRow, document, site, contact, found.lang)


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


def _check_in_force(order: OrderRow, calendar: Calendar, at: datetime, *, field: str) -> None:
    """An incident is opened at an instant the order was in force (R-ORD-2): within its
    term, in the site's calendar. History from before the term is not imported."""
    day = calendar.localize(at).date()
    if not term_covers(order, day):
        raise Refused(
            f"order {order.number} is in force from {order.term_start.isoformat()} to {order.term_end.isoformat()}: "
            f"on {day.isoformat()} it held no Base Package, so no plan applied",
            rule="R-ORD-2",
            field=field,
        )


def open_incident(
    session: Session,
    principal: Principal,
    data: IncidentIn,
    *,
    now: datetime,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> IncidentRow:
    """Open an incident: target, explanation, routing, roles, clocks (see module)."""
    return _open(session, principal, data, now=now, settings=settings)[0]


def open_and_view(
    session: Session,
    principal: Principal,
    data: IncidentIn,
    *,
    now: datetime,
    settings: IncidentSettings = DEFAULT_SETTINGS,
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
    _check_in_force(order, calendar, opened_at, field="order" if data.opened_at is None else "opened_at")
    explanation = explain(
        severity=data.severity,
        product=data.product,
        opened=opened_at,
        calendar=calendar,
        plans=holdings(session, order, opened_at, calendar=calendar, document=opening.document),
        description=" ".join(x for x in (data.title, data.description or "") if x),
        tenant=data.tenant,
        language=data.language,
    )
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
        reproduction_steps=data.reproduction_steps,
        environment=data.environment,
        entitlement=entitlement_check(opening.document, data.product),  # R-SUP-1: a scan of annex A, no query
        tenant=data.tenant,
        severity=explanation.severity.value,
        highest_severity=explanation.severity.value,
        production_impact=data.production_impact,
        language=data.language,
        status="open",
        team=None,
        explanation=explanation.to_dict(),
        plan=explanation.plan,
        target_minutes=explanation.target_minutes,
        coverage=explanation.coverage.value,
        opened_at=opened_at,
        target_started_at=opened_at,
        first_response_due=explanation.due,
        first_response_warn_at=warn_at(
            calendar, opened_at, explanation.target_minutes, explanation.coverage, settings.warn_share
        ),
        critical_resource_due=None,
        escalated_at=None,
        version=1,
        created_at=now,
        updated_at=now,
        reply_token=new_reply_token(),
    )
    provided = provide(incident, explanation, at=opened_at, assigned=set(), opening=True)
    insert_rows(session, [incident])  # the incident's id, for the rows below

    actor = principal.email
    events: list[dict[str, Any]] = [
        {
            "customer_id": incident.customer_id,
            "incident_id": incident.id,
            "at": opened_at,
            "actor": actor,
            "kind": "opened",
            "before": None,
            "rule": "R-INC-1",
            "after": {
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
            "reason": f"first response due {explanation.due.isoformat()}: {explanation.governing.reason}",
        }
    ]
    if data.opened_at is not None:
        events.append(
            {
                "customer_id": incident.customer_id,
                "incident_id": incident.id,
                "at": now,
                "actor": actor,
                "kind": "history-imported",
                "before": None,
                "after": {"opened_at": opened_at.isoformat()},
                "reason": "opened_at set by an admin importing history",
                "rule": None,
            }
        )
    if incident.entitlement and incident.entitlement["state"] == TO_CHECK:
        events.append(entitlement_flag_event(incident, at=opened_at))
    assignments, brought = provided.rows(incident)
    events += brought
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
    insert_rows(session, [*assignments, acknowledgement])
    session.connection().execute(_EVENTS, events)  # one statement for the whole timeline so far
    acknowledge(
        session,
        incident,
        site=site,
        customer_name=opening.customer.name if opening.customer else "",
        contact=contact,
        user_language=opening.user_language,
        now=now,
        reply_to=reply_address(settings.reply_address, incident.reply_token) if settings.reply_address else None,
    )
    announce_incident(session, "incident.opened", incident, now=now)
    # a new incident has no RCA, review, collaboration or update target yet (its first update target starts
    # with the first response)
    return incident, Related(
        opening.customer, order, site, contact, None, None, assignments, [acknowledgement], [], None
    )


def preview_target(session: Session, principal: Principal, data: IncidentIn, *, now: datetime) -> Explanation:
    """The first-response target that opening ``data`` now would get, with its
    explanation (R-SLA-1), writing nothing: the portal shows it before the customer
    confirms. Checks the order, site and contact as :func:`open_incident` does."""
    opening = _opening(session, principal, data)
    calendar = site_calendar(opening.site)
    _check_in_force(opening.order, calendar, now, field="order")
    return explain(
        severity=data.severity,
        product=data.product,
        opened=now,
        calendar=calendar,
        plans=holdings(session, opening.order, now, calendar=calendar, document=opening.document),
        description=" ".join(x for x in (data.title, data.description or "") if x),
        tenant=data.tenant,
        language=data.language,
    )
