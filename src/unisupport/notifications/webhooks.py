"""Webhooks, storage side (docs/webhooks.md): publish an event with the change it
announces, claim due deliveries, settle them.

**Published with the change.** ``publish`` runs in the caller's transaction: one
``INSERT … SELECT`` writes the event only when some active subscription wants it (no
subscriber: one cheap statement, no row), and one ``INSERT … SELECT`` fans it out to
every matching subscription — its type, its customer (or every customer), internal
events only to the subscriptions that take them. No Python loop per subscriber.
``publish_marked`` does the same for the watcher's breaches, many incidents at once.

**Claimed like the outbox** (``notifications.outbox``): a short transaction takes
due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), stamps them ``sending`` with the
run's claim key, and commits before any HTTP; a dead worker's claims are free at once
(its advisory lock went with its connection), a stuck one's after the lease.

**In order per incident.** A delivery is claimed only when no earlier delivery of the
same incident to the same subscription is still pending or being sent, so a receiver
sees an incident's events in the order they happened.

**The same webhook-id on every try** (``webhook_id``), derived from the rows: a
receiver that de-duplicates by it (as the Standard Webhooks specification asks)
processes a delivery re-sent after a worker's death once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, bindparam, Integer, String, Table, and_, false, insert, literal, or_, select
from sqlalchemy.orm import Session, aliased

from unisupport.notifications.outbox import worker_gone
from unisupport.storage.base import Document, UTCDateTime
from unisupport.storage.portable_sql import json_document
from unisupport.storage.tables import (
    IncidentRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionEventRow,
    WebhookSubscriptionRow,
)

# The event types a subscription may ask for (docs/webhooks.md), with what each tells.
EVENT_TYPES: dict[str, str] = {
    "incident.opened": "an incident was opened",
    "incident.updated": "an incident's state or assignment changed (mitigated, closed, reopened, assigned)",
    "incident.severity_changed": "an incident's severity changed",
    "incident.first_response_breached": "an incident's first-response target was breached (R-SLA-1)",
    "message.created": "a message was written on an incident (internal notes: internal subscriptions only)",
    "booking.created": "a proactive service was booked",
    "booking.cancelled": "a booking was cancelled",
    "ledger.forfeiture": "unused units were forfeited at the end of their period",
    "outage.notice": "a platform outage notice was posted to customers",
}
RETRY_FOR = timedelta(hours=24)  # a delivery is retried this long after its event (or a redelivery)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=4)
LEASE_SECONDS = 300  # a claim older than this is taken over even when its worker seems alive
EXCERPT = 500


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed try: 30 s, 1, 2, 4, 8 … minutes, at most
    four hours — about thirteen tries in the 24 hours."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def webhook_id(event_key: str, event_id: int, subscription_id: int) -> str:
    """The ``webhook-id`` of every try of one delivery: the same on retries and
    redeliveries, distinct for every event and subscription (and across databases,
    through the event's random key)."""
    return f"msg_{event_key}{event_id}s{subscription_id}"


def _wanted(event_type: Any, customer_id: Any, internal: Any):
    """The subscriptions (joined with their event types) that take an event."""
    s, t = WebhookSubscriptionRow, WebhookSubscriptionEventRow
    return and_(
        t.subscription_id == s.id,
        t.event_type == event_type,
        s.active.is_(True),
        or_(s.customer_id.is_(None), s.customer_id == customer_id),
        or_(internal == false(), s.internal.is_(True)),
    )


def anyone_wants(session: Session, event_type: str) -> bool:
    """Whether an active subscription (of any customer) takes ``event_type``: the
    watcher skips ``publish_marked`` — a join of every marked incident — when none does."""
    s, t = WebhookSubscriptionRow, WebhookSubscriptionEventRow
    wanted = select(t.subscription_id).join(s, t.subscription_id == s.id)
    return session.scalar(wanted.where(t.event_type == event_type, s.active.is_(True)).limit(1)) is not None


EVENT_COLUMNS = ["event_type", "customer_id", "incident_id", "internal", "payload", "created_at", "key"]


@cache
def _fan_out_statement():
    """``INSERT INTO webhook_deliveries SELECT …``: a delivery of every event written
    under ``:key`` to every subscription that takes it (built once: the hooks sit on
    the services' hot paths)."""
    e, s, t = WebhookEventRow, WebhookSubscriptionRow, WebhookSubscriptionEventRow
    now = bindparam("now", type_=UTCDateTime())
    source = (
        select(
            s.id,
            e.id,
            e.incident_id,
            literal("pending"),
            literal(0),
            now,
            bindparam("until", type_=UTCDateTime()),
            now,
        )
        .select_from(e)
        .join(t, t.event_type == e.event_type)
        .join(s, _wanted(e.event_type, e.customer_id, e.internal))
        .where(e.key == bindparam("key", type_=String()))
        .order_by(e.id, s.id)
    )
    columns = ["subscription_id", "event_id", "incident_id", "status", "attempts", "not_before"]
    return insert(WebhookDeliveryRow).from_select([*columns, "retry_until", "created_at"], source)


def _fan_out(session: Session, key: str, now: datetime) -> int:
    """The deliveries of the events written under ``key``, in one ``INSERT … SELECT``."""
    result = session.connection().execute(
        _fan_out_statement(),
        {"key": key, "now": now, "until": now + RETRY_FOR},
        execution_options={"preserve_rowcount": True},
    )
    return result.rowcount


@cache
def _event_statement():
    """``INSERT INTO webhook_events SELECT :values WHERE EXISTS (a subscription that takes it)``."""
    s, t = WebhookSubscriptionRow, WebhookSubscriptionEventRow
    event_type = bindparam("event_type", type_=String())
    customer_id = bindparam("customer_id", type_=Integer())
    internal = bindparam("internal", type_=Boolean())
    wanted = select(t.subscription_id).select_from(t).join(s, _wanted(event_type, customer_id, internal)).exists()
    row = select(
        event_type,
        customer_id,
        bindparam("incident_id", type_=Integer()),
        internal,
        bindparam("payload", type_=Document),
        bindparam("created_at", type_=UTCDateTime()),
        bindparam("key", type_=String()),
    ).where(wanted)
    return insert(WebhookEventRow).from_select(EVENT_COLUMNS, row)


def publish(
    session: Session,
    event_type: str,
    *,
    customer_id: int | None,
    data: dict[str, Any],
    now: datetime,
    incident_id: int | None = None,
    internal: bool = False,
) -> int:
    """Write the event (``type``, ``timestamp``, ``data``) and its deliveries in the
    caller's transaction; returns how many deliveries it fanned out to (0: nobody
    subscribes, and nothing was written but one statement's check)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"no webhook event type {event_type!r}")
    key = secrets.token_hex(6)
    values = {
        "event_type": event_type,
        "customer_id": customer_id,
        "incident_id": incident_id,
        "internal": internal,
        "payload": {"type": event_type, "timestamp": now.isoformat(), "data": data},
        "created_at": now,
        "key": key,
    }
    written = (
        session.connection().execute(_event_statement(), values, execution_options={"preserve_rowcount": True}).rowcount
    )
    return _fan_out(session, key, now) if written else 0


def incident_links(incident_id: Any) -> Any:
    """``{"api": …, "page": …}`` of an incident, paths relative to the portal's address."""
    return {"api": f"/api/v1/incidents/{incident_id}", "page": f"/incidents/{incident_id}"}


def publish_marked(session: Session, marked: Table, event_type: str, *, now: datetime) -> int:
    """The events of the incidents listed in ``marked`` (a table with an ``id`` column:
    the watcher's staging of what it just marked), written by the database in one
    ``INSERT … SELECT`` (only for incidents some subscription wants), then fanned out."""
    key = secrets.token_hex(6)
    i, s, t = IncidentRow, WebhookSubscriptionRow, WebhookSubscriptionEventRow
    wanted = select(t.subscription_id).select_from(t).join(s, _wanted(event_type, i.customer_id, false())).exists()
    api = literal("/api/v1/incidents/") + i.id.cast(String)
    page = literal("/incidents/") + i.id.cast(String)
    incident = json_document(
        literal("id"), i.id, literal("customer_id"), i.customer_id, literal("severity"), i.severity,
        literal("status"), i.status, literal("title"), i.title,
        literal("links"), json_document(literal("api"), api, literal("page"), page),
    )  # fmt: skip
    payload = json_document(
        literal("type"), literal(event_type), literal("timestamp"), literal(now.isoformat()),
        literal("data"), json_document(literal("incident"), incident),
    )  # fmt: skip
    source = (
        select(
            literal(event_type),
            i.customer_id,
            i.id,
            false(),
            payload,
            literal(now, UTCDateTime()),
            literal(key),
        )
        .join(marked, marked.c.id == i.id)
        .where(wanted)
        .order_by(i.id)
    )
    written = session.execute(
        insert(WebhookEventRow).from_select(EVENT_COLUMNS, source), execution_options={"preserve_rowcount": True}
    ).rowcount  # type: ignore[attr-defined]
    return _fan_out(session, key, now) if written else 0


# ------------------------------------------------------------------ the worker's side
@dataclass(frozen=True)
class Claimed:
    """What a try needs of a claimed delivery: values, not ORM objects."""

    id: int
    subscription_id: int
    url: str
    secret: str
    webhook_id: str
    payload: dict[str, Any]
    attempts: int
    retry_until: datetime
    event_created_at: datetime


def claim(
    session: Session,
    *,
    worker: str,
    now: datetime,
    limit: int = 100,
    claim_key: int | None = None,
    lease_seconds: int = LEASE_SECONDS,
) -> list[Claimed]:
    """Take up to ``limit`` deliveries to try: pending ones due by ``now`` and those
    of a lost worker, of active subscriptions, each the earliest still open of its
    incident and subscription. They become ``sending`` under ``worker`` and
    ``claim_key``; the caller commits before sending."""
    d, s, e = WebhookDeliveryRow, WebhookSubscriptionRow, WebhookEventRow
    earlier = aliased(WebhookDeliveryRow)
    waits = (
        select(earlier.id)
        .where(
            earlier.subscription_id == d.subscription_id,
            earlier.incident_id == d.incident_id,
            earlier.id < d.id,
            earlier.status.in_(("pending", "sending")),
        )
        .exists()
    )
    stale = now - timedelta(seconds=lease_seconds)
    due = and_(d.status == "pending", d.not_before <= now)
    abandoned = and_(d.status == "sending", or_(d.claimed_at < stale, worker_gone(session, worker, d)))
    query = (
        select(d, s.url, s.secret, e.key, e.payload, e.created_at)
        .join(s, and_(s.id == d.subscription_id, s.active.is_(True)))
        .join(e, e.id == d.event_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=d)
    )
    # Two queries, each on its index: a lost worker's claims (few), then what is due,
    # oldest first along ix_webhook_deliveries_due — never a sort of the whole backlog.
    rows = list(session.execute(query.where(abandoned).order_by(d.id)).all())
    if len(rows) < limit:
        due_query = query.where(due, or_(d.incident_id.is_(None), ~waits)).order_by(d.not_before, d.id)
        rows += session.execute(due_query.limit(limit - len(rows))).all()
    claimed = []
    for row, url, secret, key, payload, created_at in rows:
        row.status, row.claimed_by, row.claimed_at, row.claim_key = "sending", worker, now, claim_key
        row.attempts += 1
        claimed.append(
            Claimed(
                row.id,
                row.subscription_id,
                url,
                secret,
                webhook_id(key, row.event_id, row.subscription_id),
                dict(payload),
                row.attempts,
                row.retry_until,
                created_at,
            )
        )
    session.flush()
    return claimed
