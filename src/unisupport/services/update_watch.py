"""The watcher's sweep of update targets ("next update due", R-INC-2; docs/decisions.md
D97): a breach is marked at the due instant itself, a warning once the warning share of
the target has run; each a timeline event and exactly-once mail through the outbox
(``incident_notifications.queue_update_notices``: the target's number is in the dedupe
key). A warning about a business-hours target found while the site is closed waits
for the site's next opening: it is marked, and mailed, by the first sweep within
business hours — never at midnight. Paused targets (awaiting the customer) have no due
instant and are never swept. Called by ``services.watcher.sweep``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from unisupport.services.incident_notifications import queue_update_notices
from unisupport.services.incidents.changes import add_event
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.database import plan_each_execution
from unisupport.storage.tables import IncidentRow, SiteRow, UpdateTargetRow
from unisupport.storage.tables.incidents import UPDATE_PENDING

RULE = "R-INC-2"


@dataclass
class UpdateSweep:
    warned: int = 0
    breached: int = 0
    deferred: int = 0  # business-hours warnings waiting for the site's opening
    queued: int = 0


def _pending(session: Session, *conditions, limit: int) -> list[UpdateTargetRow]:
    return list(
        session.scalars(
            select(UpdateTargetRow)
            .where(text(UPDATE_PENDING), *conditions)
            .order_by(UpdateTargetRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def sweep(session: Session, *, now: datetime, notify: bool = True, limit: int = 10_000) -> UpdateSweep:
    """One pass at ``now``; idempotent (what was marked stays marked)."""
    report = UpdateSweep()
    plan_each_execution(session)  # its queries read partial indexes with the instant given (D154)
    breached = _pending(session, UpdateTargetRow.due_at <= now, limit=limit)
    incidents: dict[int, IncidentRow] = {}

    def incident_of(row: UpdateTargetRow) -> IncidentRow:
        if row.incident_id not in incidents:
            incidents[row.incident_id] = session.get_one(IncidentRow, row.incident_id)
        return incidents[row.incident_id]

    for row in breached:
        row.breached_at = row.due_at
        add_event(
            session,
            incident_of(row),
            kind="update-breached",
            actor="watcher",
            at=row.due_at,  # type: ignore[arg-type]
            after={"target": row.seq, "due": row.due_at.isoformat()},  # type: ignore[union-attr]
            reason="no update to the customer by the due time",
            rule=RULE,
        )
    report.breached = len(breached)

    warnings = _pending(
        session,
        UpdateTargetRow.warned_at.is_(None),
        UpdateTargetRow.warn_at <= now,
        UpdateTargetRow.due_at > now,
        limit=limit,
    )
    calendars: dict[int, bool] = {}
    warned = []
    for row in warnings:
        incident = incident_of(row)
        if row.coverage == "business_hours":
            if incident.site_id not in calendars:
                site = session.get_one(SiteRow, incident.site_id)
                calendars[incident.site_id] = site_calendar(site).is_open(now)
            if not calendars[incident.site_id]:
                report.deferred += 1
                continue
        row.warned_at = now
        left = (epoch_seconds(row.due_at) - epoch_seconds(now)) // 60  # type: ignore[arg-type]
        add_event(
            session,
            incident,
            kind="update-warned",
            actor="watcher",
            at=now,
            after={"target": row.seq, "due": row.due_at.isoformat(), "minutes_left": left},  # type: ignore[union-attr]
            reason="the next update to the customer is due soon",
            rule=RULE,
        )
        warned.append(row)
    report.warned = len(warned)
    session.flush()
    if notify:
        report.queued += queue_update_notices(session, breached, "incident.update_breached", now)
        report.queued += queue_update_notices(session, warned, "incident.update_warning", now)
    return report
