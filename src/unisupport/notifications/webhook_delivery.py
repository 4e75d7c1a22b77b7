"""The worker's webhook job (docs/webhooks.md): claim due deliveries, sign and POST
each (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``,
through the ``standardwebhooks`` library), record every try in the delivery log, and
settle: delivered, retried with backoff for 24 hours, or failed — and a subscription
that keeps failing disabled, its owner told by mail through the outbox.

Claims and settlements are short transactions; none is open while HTTP talks. A
batch's tries run side by side (``concurrency`` threads; a batch holds at most one
delivery per incident and subscription, so the order per incident holds). A receiver
that hangs is cut off after the timeout and the try recorded as ``timeout``."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from unisupport.clock import Clock, SystemClock
from unisupport.errors import InvalidInput
from unisupport.notifications.outbox import claims_held, enqueue
from unisupport.notifications.webhook_target import Resolver, check_target, resolve
from unisupport.notifications.webhooks import EXCERPT, Claimed, claim, retry_delay
from unisupport.settings import WebhookSettings
from unisupport.storage.database import Database
from unisupport.storage.tables import WebhookAttemptRow, WebhookDeliveryRow, WebhookSubscriptionRow

log = logging.getLogger(__name__)
USER_AGENT = "unisupport-webhooks/1"


@dataclass
class WebhookReport:
    delivered: int = 0
    retried: int = 0  # back in the queue, with backoff
    failed: int = 0  # for good: 24 hours of tries used up
    disabled: int = 0  # subscriptions disabled after repeated failure

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.retried} to retry, {self.failed} failed, {self.disabled} disabled"


@dataclass(frozen=True)
class Outcome:
    """One try: what came back."""

    item: Claimed
    at: datetime
    outcome: str  # delivered, http-error, timeout, unreachable, refused
    status_code: int | None
    duration_ms: int
    excerpt: str | None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


def body_of(payload: dict[str, Any]) -> str:
    """The exact text sent and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def signed_headers(item: Claimed, body: str, stamp: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one try, signed with the subscription's secret."""
    signature = Webhook(item.secret).sign(msg_id=item.webhook_id, timestamp=stamp, data=body)
    return {
        "webhook-id": item.webhook_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def attempt(
    client: httpx.Client,
    item: Claimed,
    *,
    settings: WebhookSettings,
    clock: Clock,
    stamp: Clock,
    resolver: Resolver = resolve,
) -> Outcome:
    """POST one delivery; never raises for what the receiver does."""
    at = clock.now()
    started = time.perf_counter()

    def done(outcome: str, code: int | None, excerpt: str | None) -> Outcome:
        ms = int((time.perf_counter() - started) * 1000)
        return Outcome(item, at, outcome, code, ms, excerpt[:EXCERPT] if excerpt else None)

    try:
        check_target(item.url, settings.allow_private, resolver=resolver)
    except InvalidInput as refusal:
        return done("refused", None, refusal.message)
    body = body_of(item.payload)
    try:
        response = client.post(item.url, content=body.encode(), headers=signed_headers(item, body, stamp.now()))
    except httpx.TimeoutException as exc:
        return done("timeout", None, f"no answer within {settings.timeout:g} s ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return done("unreachable", None, f"{type(exc).__name__}: {exc}")
    text = response.text
    return done("delivered" if response.is_success else "http-error", response.status_code, text)


def deliver_webhooks(
    database: Database,
    *,
    worker: str,
    clock: Clock,
    settings: WebhookSettings,
    stamp: Clock | None = None,
    limit: int = 100,
    concurrency: int = 8,
    resolver: Resolver = resolve,
    until: Callable[[], bool] | None = None,
) -> WebhookReport:
    """Try what is due, ``limit`` at a time, until nothing is left to claim (or
    ``until()`` says to stop). ``stamp``: the clock of the ``webhook-timestamp``
    header — the real one by default, since receivers check it against theirs."""
    report = WebhookReport()
    stamp = stamp or SystemClock()
    timeout = httpx.Timeout(settings.timeout)
    with (
        claims_held(database.engine) as key,
        httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        while until is None or not until():
            with database.transaction() as session:
                batch = claim(session, worker=worker, now=clock.now(), limit=limit, claim_key=key)
            if not batch:
                break
            outcomes = list(
                pool.map(
                    lambda item: attempt(client, item, settings=settings, clock=clock, stamp=stamp, resolver=resolver),
                    batch,
                )
            )
            with database.transaction() as session:
                settle(session, outcomes, now=clock.now(), settings=settings, report=report)
    return report


def settle(
    session: Session, outcomes: list[Outcome], *, now: datetime, settings: WebhookSettings, report: WebhookReport
) -> None:
    """Record a batch's tries: the log, each delivery's new state, each subscription's
    failures in a row (and the disabling of those that keep failing)."""
    session.execute(
        insert(WebhookAttemptRow),
        [
            {
                "delivery_id": o.item.id,
                "subscription_id": o.item.subscription_id,
                "at": o.at,
                "attempt": o.item.attempts,
                "outcome": o.outcome,
                "status_code": o.status_code,
                "duration_ms": o.duration_ms,
                "excerpt": o.excerpt,
            }
            for o in outcomes
        ],
    )
    delivered = [o.item.id for o in outcomes if o.delivered]
    if delivered:
        session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.id.in_(delivered), WebhookDeliveryRow.status != "delivered")
            .values(status="delivered", delivered_at=now, claim_key=None, last_error=None),
            execution_options={"synchronize_session": False},
        )
        report.delivered += len(delivered)
    gave_up: set[int] = set()
    for o in outcomes:
        if not o.delivered and _failed(session, o, now=now, report=report):
            gave_up.add(o.item.subscription_id)
    _count_failures(session, outcomes, gave_up, now=now, settings=settings, report=report)


def _failed(session: Session, o: Outcome, *, now: datetime, report: WebhookReport) -> bool:
    """Back in the queue after a delay, or failed for good past its 24 hours (True)."""
    row = session.get(WebhookDeliveryRow, o.item.id, with_for_update=True, populate_existing=True)
    if row is None or row.status != "sending":
        return False  # taken over and settled by another worker
    why = f"{o.outcome}" + (f" {o.status_code}" if o.status_code else "") + (f": {o.excerpt}" if o.excerpt else "")
    row.last_error, row.claim_key, row.claimed_by, row.claimed_at = why[:EXCERPT], None, None, None
    next_try = now + retry_delay(row.attempts)
    if next_try > row.retry_until:
        row.status = "failed"
        report.failed += 1
        log.error("webhook delivery %s to %s failed for good after %s tries: %s", row.id, o.item.url, row.attempts, why)
        return True
    row.status, row.not_before = "pending", next_try
    report.retried += 1
    log.warning("webhook delivery %s to %s not delivered (%s); next try at %s", row.id, o.item.url, why, next_try)
    return False


def _count_failures(
    session: Session,
    outcomes: list[Outcome],
    gave_up: set[int],
    *,
    now: datetime,
    settings: WebhookSettings,
    report: WebhookReport,
) -> None:
    """Failures in a row per subscription: a delivery resets them, a failure adds one;
    a subscription reaching ``disable_after`` or giving up a delivery is disabled."""
    tally: dict[int, tuple[bool, int]] = {}  # subscription: (a delivery in this batch, failures after it)
    for o in outcomes:
        reset, count = tally.get(o.item.subscription_id, (False, 0))
        tally[o.item.subscription_id] = (True, 0) if o.delivered else (reset, count + 1)
    for subscription_id, (reset, count) in tally.items():
        if reset and not count and subscription_id not in gave_up:
            session.execute(
                update(WebhookSubscriptionRow)
                .where(WebhookSubscriptionRow.id == subscription_id, WebhookSubscriptionRow.failures_in_a_row != 0)
                .values(failures_in_a_row=0),
                execution_options={"synchronize_session": False},
            )
            continue
        sub = session.get(WebhookSubscriptionRow, subscription_id, with_for_update=True, populate_existing=True)
        if sub is None:
            continue
        sub.failures_in_a_row = count if reset else sub.failures_in_a_row + count
        if sub.active and (subscription_id in gave_up or sub.failures_in_a_row >= settings.disable_after):
            disable(session, sub, reason="gave-up" if subscription_id in gave_up else "failures", now=now)
            report.disabled += 1


REASONS = {
    "gave-up": "a delivery was retried for 24 hours without success",
    "failures": "{n} tries failed in a row",
}


def disable(session: Session, sub: WebhookSubscriptionRow, *, reason: str, now: datetime) -> None:
    """Stop sending to a subscription and tell its owner by mail (through the outbox).
    ``reason``: a key of ``REASONS``."""
    sub.active, sub.disabled_at = False, now
    sub.disabled_reason = REASONS[reason].format(n=sub.failures_in_a_row)
    last = session.scalar(
        select(WebhookDeliveryRow.last_error)
        .where(WebhookDeliveryRow.subscription_id == sub.id, WebhookDeliveryRow.last_error.is_not(None))
        .order_by(WebhookDeliveryRow.id.desc())
        .limit(1)
    )
    enqueue(
        session,
        kind="webhook.disabled",
        recipient=sub.owner_email,
        language=sub.owner_language,
        subject_type="webhook",
        subject_id=sub.id,
        payload={
            "subscription_id": sub.id,
            "url": sub.url,
            "reason": reason,
            "failures": sub.failures_in_a_row,
            "last_error": last or "",
            "disabled_at": now.isoformat(),
            "timezone": "UTC",  # the owner's zone is not known here: said in UTC, with its name
        },
        dedupe_key=f"webhook:{sub.id}:disabled:{int(now.timestamp())}",
        not_before=now,
        customer_id=sub.customer_id,
        now=now,
    )
    log.error("webhook subscription %s (%s) disabled: %s", sub.id, sub.url, sub.disabled_reason)
