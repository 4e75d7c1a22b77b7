"""Webhook subscriptions (docs/webhooks.md): who may subscribe what, the delivery log,
redelivery — and the one call each service makes to announce a change (``announce``,
``announce_incident``), in the change's own transaction.

Provider admins subscribe for any customer or for all of them, and may take internal
events (internal notes); a customer's support administrators subscribe for their own
customer only, public events only. Every other role is refused. A subscription
outside the caller's scope is reported exactly like a missing one. Everything is
checked before anything is written: a refused subscription leaves no row."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.inputs import Input
from unisupport.notifications.outbox import check_recipient
from unisupport.notifications.webhook_target import Resolver, check_target, resolve
from unisupport.notifications.webhooks import EVENT_TYPES, RETRY_FOR, incident_links, publish, webhook_id
from unisupport.services.scope import scoped
from unisupport.settings import WebhookSettings
from unisupport.storage.tables import (
    CustomerRow,
    IncidentRow,
    LedgerEntryRow,
    MessageRow,
    OrderRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionEventRow,
    WebhookSubscriptionRow,
)

SUBSCRIBERS = (Role.ADMIN, Role.SUPPORT_ADMINISTRATOR)


class WebhookIn(Input):
    """A new subscription."""

    url: str = Field(min_length=1, max_length=2000, description="https:// address the events are POSTed to")
    event_types: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES), description="Types of docs/webhooks.md")
    customer: str | None = Field(
        None, max_length=64, description="Customer code; none: the caller's customer, or (provider admins) every one"
    )
    description: str = Field("", max_length=200)
    internal: bool = Field(False, description="Internal events too (internal notes): provider admins only")


class WebhookStateIn(Input):
    active: bool = Field(description="false: stop sending; true: send again (the waiting deliveries get 24 hours)")


# ------------------------------------------------------------------ announcing changes
# The webhook event of a change, in its transaction (``notifications.webhooks.publish``).
announce = publish


def incident_data(incident: IncidentRow) -> dict[str, Any]:
    return {
        "id": incident.id,
        "customer_id": incident.customer_id,
        "severity": incident.severity,
        "status": incident.status,
        "title": incident.title,
        "links": incident_links(incident.id),
    }


def announce_incident(
    session: Session, event_type: str, incident: IncidentRow, *, now: datetime, change: dict[str, Any] | None = None
) -> int:
    """An incident's event: the incident as it is now, and what changed (``change``)."""
    data: dict[str, Any] = {"incident": incident_data(incident)}
    if change:
        data["change"] = change
    return announce(session, event_type, customer_id=incident.customer_id, incident_id=incident.id, data=data, now=now)


def announce_message(session: Session, incident: IncidentRow, message: MessageRow, *, now: datetime) -> int:
    """``message.created``: an internal note only to the subscriptions taking internal events."""
    data = {
        "incident": incident_data(incident),
        "message": {
            "id": message.id,
            "visibility": message.visibility,
            "from_customer": message.from_customer,
            "channel": message.channel,
            "author": message.author,
            "at": message.at.isoformat(),
            "body": message.body,
            "links": {"api": f"/api/v1/incidents/{incident.id}/messages/{message.id}"},
        },
    }
    return announce(
        session,
        "message.created",
        customer_id=incident.customer_id,
        incident_id=incident.id,
        data=data,
        now=now,
        internal=message.visibility != "public",
    )


def announce_booking(
    session: Session, event_type: str, booking: dict[str, Any], *, customer_id: int, now: datetime
) -> int:
    """``booking.created`` or ``booking.cancelled``: the booking as its API shows it."""
    shown = {k: v for k, v in booking.items() if k != "cost_explanation"}
    shown["links"] = {"api": f"/api/v1/bookings/{booking['id']}"}
    return announce(session, event_type, customer_id=customer_id, data={"booking": shown}, now=now)


def announce_forfeitures(session: Session, order: OrderRow, entries: list[LedgerEntryRow], *, now: datetime) -> int:
    """``ledger.forfeiture``: the forfeit entries one posting wrote (nothing when none)."""
    if not entries:
        return 0
    data = {
        "order": {"id": order.id, "number": order.number, "links": {"api": f"/api/v1/orders/{order.number}"}},
        "forfeitures": [
            {
                "entry_id": e.id,
                "account_id": e.account_id,
                "amount": str(e.amount),
                "unit": e.unit,
                "effective_on": e.effective_on.isoformat(),
                "reason": e.reason,
                "rule": e.rule,
            }
            for e in entries
        ],
    }
    return announce(session, "ledger.forfeiture", customer_id=order.customer_id, data=data, now=now)


# ------------------------------------------------------------------ subscriptions
@dataclass(frozen=True)
class Created:
    subscription: dict[str, Any]
    secret: str  # shown once


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _customer_of(session: Session, principal: Principal, code: str | None) -> int | None:
    if principal.role is Role.SUPPORT_ADMINISTRATOR:
        if code is None:
            return principal.customer_id
        found = session.scalar(select(CustomerRow.id).where(CustomerRow.code == code))
        if found is None or found != principal.customer_id:
            raise NotFound(f"no customer {code!r}", field="customer")
        return found
    if code is None:
        return None
    found = session.scalar(select(CustomerRow.id).where(CustomerRow.code == code))
    if found is None:
        raise NotFound(f"no customer {code!r}", field="customer")
    return found


def customer_choices(session: Session) -> list[tuple[str, str]]:
    """Every customer's code and name, for a provider admin's choice of one."""
    return [(c, n) for c, n in session.execute(select(CustomerRow.code, CustomerRow.name).order_by(CustomerRow.name))]


def check_event_types(types: list[str]) -> list[str]:
    for i, kind in enumerate(types):
        if kind not in EVENT_TYPES:
            raise InvalidInput(f"{kind!r} is not an event type (see docs/webhooks.md)", field=f"event_types[{i}]")
    return list(dict.fromkeys(types))


def create_subscription(
    session: Session,
    principal: Principal,
    data: WebhookIn,
    *,
    now: datetime,
    settings: WebhookSettings,
    resolver: Resolver = resolve,
) -> Created:
    """A new subscription and its secret (shown once). Refused, naming the field, for
    a role that may not subscribe, another customer, an unknown event type, internal
    events asked by a customer, or a URL that is not https:// or resolves to a private
    address the operator did not allow."""
    principal.require(*SUBSCRIBERS, action="subscribe to webhooks")
    check_recipient(principal.email)  # the owner, mailed if it is disabled
    customer_id = _customer_of(session, principal, data.customer)
    types = check_event_types(data.event_types)
    if data.internal and principal.role is not Role.ADMIN:
        raise InvalidInput("only provider admins subscribe to internal events", field="internal")
    url = check_target(data.url, settings.allow_private, resolver=resolver)
    secret = new_secret()
    row = WebhookSubscriptionRow(
        customer_id=customer_id,
        url=url,
        description=data.description,
        internal=data.internal,
        secret=secret,
        owner_email=principal.email,
        owner_language=principal.language if principal.language in ("en", "fr") else "en",
        created_by=principal.email,
        created_at=now,
        active=True,
        failures_in_a_row=0,
    )
    session.add(row)
    session.flush()
    session.add_all([WebhookSubscriptionEventRow(subscription_id=row.id, event_type=t) for t in types])
    session.flush()
    return Created(subscription_view(session, row), secret)


def _scoped_subscriptions(principal: Principal):
    principal.require(*SUBSCRIBERS, action="manage webhooks")
    query = select(WebhookSubscriptionRow)
    if principal.customer_scope is not None:
        query = scoped(query, WebhookSubscriptionRow.customer_id, principal)
    return query


def subscriptions(session: Session, principal: Principal) -> list[dict[str, Any]]:
    rows = session.scalars(_scoped_subscriptions(principal).order_by(WebhookSubscriptionRow.id)).all()
    return [subscription_view(session, row) for row in rows]


def get_subscription(session: Session, principal: Principal, subscription_id: int, *, lock: bool = False):
    query = _scoped_subscriptions(principal).where(WebhookSubscriptionRow.id == subscription_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no webhook subscription {subscription_id}", field="id")
    return row


def subscription_view(session: Session, row: WebhookSubscriptionRow) -> dict[str, Any]:
    types = session.scalars(
        select(WebhookSubscriptionEventRow.event_type)
        .where(WebhookSubscriptionEventRow.subscription_id == row.id)
        .order_by(WebhookSubscriptionEventRow.event_type)
    ).all()
    code = (
        session.scalar(select(CustomerRow.code).where(CustomerRow.id == row.customer_id)) if row.customer_id else None
    )
    counts = dict(
        session.execute(
            select(WebhookDeliveryRow.status, func.count())
            .where(WebhookDeliveryRow.subscription_id == row.id)
            .group_by(WebhookDeliveryRow.status)
        ).all()
    )
    return {
        "id": row.id,
        "url": row.url,
        "customer": code,
        "event_types": list(types),
        "description": row.description,
        "internal": row.internal,
        "active": row.active,
        "owner": row.owner_email,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "failures_in_a_row": row.failures_in_a_row,
        "disabled_at": row.disabled_at,
        "disabled_reason": row.disabled_reason,
        "deliveries": {s: counts.get(s, 0) for s in ("pending", "sending", "delivered", "failed")},
    }


def set_active(
    session: Session, principal: Principal, subscription_id: int, active: bool, *, now: datetime
) -> dict[str, Any]:
    """Disable a subscription, or enable it again: its failures in a row start from
    zero and the deliveries waiting for it get 24 hours from now."""
    row = get_subscription(session, principal, subscription_id, lock=True)
    if active and not row.active:
        row.active, row.failures_in_a_row, row.disabled_at, row.disabled_reason = True, 0, None, None
        session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.subscription_id == row.id, WebhookDeliveryRow.status == "pending")
            .values(not_before=now, retry_until=now + RETRY_FOR),
            execution_options={"synchronize_session": False},
        )
    elif not active and row.active:
        row.active, row.disabled_at, row.disabled_reason = False, now, f"disabled by {principal.email}"
    session.flush()
    return subscription_view(session, row)


def deliveries(
    session: Session, principal: Principal, subscription_id: int, *, limit: int = 100, only: int | None = None
) -> list[dict[str, Any]]:
    """The subscription's delivery log, newest first (``only``: that delivery): each
    delivery with its event, status and tries (status code, duration, an excerpt of
    the answer)."""
    get_subscription(session, principal, subscription_id)
    d, e = WebhookDeliveryRow, WebhookEventRow
    query = select(d, e.event_type, e.key, e.incident_id).join(e, e.id == d.event_id)
    query = query.where(d.subscription_id == subscription_id)
    if only is not None:
        query = query.where(d.id == only)
    rows = session.execute(query.order_by(d.id.desc()).limit(limit)).all()
    ids = [r[0].id for r in rows]
    tries: dict[int, list[dict[str, Any]]] = {}
    for a in session.scalars(
        select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(ids)).order_by(WebhookAttemptRow.id)
    ):
        tries.setdefault(a.delivery_id, []).append(
            {
                "attempt": a.attempt,
                "at": a.at,
                "outcome": a.outcome,
                "status_code": a.status_code,
                "duration_ms": a.duration_ms,
                "excerpt": a.excerpt,
            }
        )
    return [
        {
            "id": row.id,
            "webhook_id": webhook_id(key, row.event_id, row.subscription_id),
            "event_type": event_type,
            "event_id": row.event_id,
            "incident_id": incident_id,
            "status": row.status,
            "attempts": row.attempts,
            "created_at": row.created_at,
            "next_try": row.not_before if row.status == "pending" else None,
            "delivered_at": row.delivered_at,
            "last_error": row.last_error,
            "tries": tries.get(row.id, []),
        }
        for row, event_type, key, incident_id in rows
    ]


def redeliver(
    session: Session, principal: Principal, subscription_id: int, delivery_id: int, *, now: datetime
) -> dict[str, Any]:
    """Send a delivery again (the same webhook-id), due now, with 24 hours of retries."""
    get_subscription(session, principal, subscription_id)
    row = session.scalar(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.subscription_id == subscription_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"no delivery {delivery_id} of webhook subscription {subscription_id}", field="delivery_id")
    if row.status == "sending":
        raise InvalidInput(f"delivery {delivery_id} is being sent by {row.claimed_by}", field="delivery_id")
    row.status, row.not_before, row.retry_until = "pending", now, now + RETRY_FOR
    row.claimed_by = row.claimed_at = row.claim_key = None
    session.flush()
    return deliveries(session, principal, subscription_id, only=delivery_id)[0]
