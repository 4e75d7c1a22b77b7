"""The SLA watcher (issue 4): marks first-response breaches at their due instant,
warns before them, escalates, watches the Azure Events critical-resource clock and
the customer-side clocks (R-SLA-4), and queues the notifications in the outbox.

It works in bulk — one ``UPDATE … RETURNING`` per kind of change, and its timeline
events and notifications written by the database with ``INSERT … SELECT`` — so that
a sweep over a large backlog stays short (10,000 breaches: docs/performance.md).
Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several watchers
can run at once; on SQLite the transaction's write lock serialises them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.orm import Session

from unisupport.services import update_watch
from unisupport.notifications.webhooks import anyone_wants, publish_marked
from unisupport.services.watch_marks import Event, mark, record_events, staged, writing_in_bulk
from unisupport.storage.base import UTCDateTime
from unisupport.storage.bulk import append_rows
from unisupport.storage.portable_sql import iso_utc
from unisupport.storage.database import plan_each_execution
from unisupport.storage.tables import CommunicationRow, IncidentEventRow, IncidentRow
from unisupport.storage.tables.incidents import AWAITING, CRITICAL_PENDING

# queue(session, rows, kind, now) → number of notifications queued.
Queue = Callable[[Session, list[Any], str, datetime], int]


@dataclass
class WatchReport:
    breached: int = 0
    warned: int = 0
    escalated: int = 0
    critical_resource_missed: int = 0
    customer_missed: int = 0
    update_warned: int = 0
    update_breached: int = 0
    queued: int = 0
    incidents: dict[str, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, int]:
        return {
            "breached": self.breached,
            "warned": self.warned,
            "escalated": self.escalated,
            "critical_resource_missed": self.critical_resource_missed,
            "customer_missed": self.customer_missed,
            "update_warned": self.update_warned,
            "update_breached": self.update_breached,
            "queued": self.queued,
        }


def _claim(session: Session, query, limit: int):
    return session.execute(query.limit(limit).with_for_update(skip_locked=True, of=IncidentRow)).all()


def _mark(session: Session, condition, limit: int, values: dict[str, Any]):
    """Mark the incidents matching ``condition`` in one statement and return them as
    they are now, by id (``watch_marks.mark``)."""
    i = IncidentRow
    return mark(session, i, condition, limit, values, (i.customer_id, i.first_response_due, i.team))


def _events(session: Session, rows: list[dict[str, Any]]) -> None:
    append_rows(session.connection(), IncidentEventRow.__table__, rows)  # type: ignore[arg-type]  # __table__ is a Table


def _record(
    session: Session,
    ids: list[int],
    events: list[Event],
    *,
    now: datetime,
    queue: Queue | None,
    notice: str,
    webhook: str | None = None,
) -> int:
    """The timeline events of the incidents ``ids`` just marked, written by the
    database in one ``INSERT … SELECT`` (``watch_marks.record_events``), the
    ``webhook`` event of each (one ``INSERT … SELECT`` and its fan-out:
    docs/webhooks.md), and their ``notice`` through ``queue``; returns how many
    notifications were queued."""
    with writing_in_bulk(session):
        with staged(session, ids) as marked:
            record_events(session, IncidentRow, IncidentRow.customer_id, IncidentRow.id, marked, events)
            if webhook and anyone_wants(session, webhook):
                publish_marked(session, marked, webhook, now=now)
        return queue(session, ids, notice, now) if queue else 0


def sweep(session: Session, *, now: datetime, queue: Queue | None = None, limit: int = 50_000) -> WatchReport:
    """One pass of the watcher at ``now``. Idempotent: what was marked stays marked."""
    report = WatchReport()
    session.flush()
    plan_each_execution(session)  # its queries read partial indexes with the instant given (D154)

    # First-response breaches, marked at the due instant itself, and escalated to the
    # incident managers (Sev 1/A already were, at their opening: R-INC-2). The literal
    # predicate of the partial index, so both databases can use it.
    breaches = _mark(
        session,
        (text(AWAITING), IncidentRow.first_response_due <= now),
        limit,
        {
            "breached_at": IncidentRow.first_response_due,
            "escalated_at": func.coalesce(IncidentRow.escalated_at, now),
            "version": IncidentRow.version + 1,
            "updated_at": now,
        },
    )
    if breaches:
        ids = [r.id for r in breaches]
        moment = literal(now, UTCDateTime())
        report.queued += _record(
            session,
            ids,
            [
                Event(
                    "breached",
                    IncidentRow.first_response_due,
                    ["clock", "first-response", "due", iso_utc(IncidentRow.first_response_due)],
                    "no first response by the due time",
                    "R-SLA-1",
                ),
                Event(
                    "escalated",
                    moment,
                    ["escalation", "incident-manager", "team", IncidentRow.team],
                    "first-response target breached: escalated to the incident managers",
                    "R-INC-2",
                ),
            ],
            now=now,
            queue=queue,
            notice="incident.breached",
            webhook="incident.first_response_breached",
        )
        report.breached, report.escalated = len(breaches), len(breaches)
        report.incidents["breached"] = ids

    # Warnings once the configured share of the target has elapsed.
    warnings = _mark(
        session,
        (
            text(AWAITING + " AND warned_at IS NULL"),
            IncidentRow.first_response_warn_at <= now,
            IncidentRow.first_response_due > now,
        ),
        limit,
        {"warned_at": now, "version": IncidentRow.version + 1, "updated_at": now},
    )
    if warnings:
        ids = [r.id for r in warnings]
        report.queued += _record(
            session,
            ids,
            [
                Event(
                    "warned",
                    literal(now, UTCDateTime()),
                    ["clock", "first-response", "due", iso_utc(IncidentRow.first_response_due)],
                    "the first-response target is at risk",
                    "R-SLA-1",
                )
            ],
            now=now,
            queue=queue,
            notice="incident.warning",
        )
        report.warned = len(warnings)
        report.incidents["warned"] = ids

    # Azure Events Sev 1: a critical situation resource within 30 minutes (R-EVT-2).
    critical = _claim(
        session,
        select(IncidentRow.id, IncidentRow.customer_id, IncidentRow.critical_resource_due).where(
            text(CRITICAL_PENDING),
            IncidentRow.critical_resource_due <= now,
            ~select(IncidentEventRow.id)
            .where(IncidentEventRow.incident_id == IncidentRow.id, IncidentEventRow.kind == "critical-resource-missed")
            .exists(),
        ),
        limit,
    )
    _events(
        session,
        [
            dict(
                customer_id=r.customer_id,
                incident_id=r.id,
                at=r.critical_resource_due,
                actor="watcher",
                kind="critical-resource-missed",
                before=None,
                after={"clock": "critical-situation-resource"},
                reason="no critical situation resource designated within 30 minutes",
                rule="R-EVT-2",
            )
            for r in critical
        ],
    )
    report.critical_resource_missed = len(critical)

    # Customer-side clocks (R-SLA-4).
    missed = session.execute(
        select(
            CommunicationRow.id,
            CommunicationRow.incident_id,
            CommunicationRow.customer_id,
            CommunicationRow.customer_response_due,
        )
        .where(
            CommunicationRow.requests_customer_action.is_(True),
            CommunicationRow.answered_at.is_(None),
            CommunicationRow.missed_at.is_(None),
            CommunicationRow.customer_response_due <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if missed:
        session.execute(
            update(CommunicationRow).where(CommunicationRow.id.in_([m.id for m in missed])).values(missed_at=now),
            execution_options={"synchronize_session": False},
        )
        _events(
            session,
            [
                dict(
                    customer_id=m.customer_id,
                    incident_id=m.incident_id,
                    at=m.customer_response_due,
                    actor="watcher",
                    kind="customer-response-missed",
                    before=None,
                    after={"request": m.id},
                    reason="the customer's expected answer did not come in time",
                    rule="R-SLA-4",
                )
                for m in missed
            ],
        )
        report.customer_missed = len(missed)
        report.incidents["customer_missed"] = sorted({m.incident_id for m in missed})
        if queue:
            report.queued += queue(
                session, report.incidents["customer_missed"], "incident.customer_response_missed", now
            )
    # Update targets ("next update due", R-INC-2): their own module.
    updates = update_watch.sweep(session, now=now, notify=bool(queue), limit=limit)
    report.update_warned, report.update_breached = updates.warned, updates.breached
    report.queued += updates.queued
    session.flush()
    # Objects already loaded in this session are refreshed from the bulk updates.
    session.expire_all()
    return report
