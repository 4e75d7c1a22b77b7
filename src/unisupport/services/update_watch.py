"""The watcher's sweep of update targets ("next update due", R-INC-2; docs/decisions.md
D97): a breach is marked at the due instant itself, a warning once the warning share of
the target has run; each a timeline event and exactly-once mail through the outbox
(``incident_notifications.queue_update_notices``: the target's number is in the dedupe
key). A warning about a business-hours target found while the site is closed waits
for the site's next opening: it is marked, and mailed, by the first sweep within
business hours — never at midnight. Paused targets (awaiting the customer) have no due
instant and are never swept. Called by ``services.watcher.sweep``.

In bulk, like the first-response sweep (D148): one ``UPDATE … RETURNING`` marks the
breaches, another the warnings (rows claimed with ``FOR UPDATE SKIP LOCKED``, so two
watchers take disjoint targets), and the database writes their events and
notifications with ``INSERT … SELECT``; whether a site is open is worked out once
per site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal, not_, select, text
from sqlalchemy.orm import Session

from unisupport.services.incident_notifications import queue_update_notices
from unisupport.services.watch_marks import Event, mark, record_events, staged, writing_in_bulk
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.base import UTCDateTime
from unisupport.storage.database import plan_each_execution
from unisupport.storage.portable_sql import epoch, iso_utc
from unisupport.storage.tables import IncidentRow, SiteRow, UpdateTargetRow
from unisupport.storage.tables.incidents import UPDATE_PENDING

RULE = "R-INC-2"


@dataclass
class UpdateSweep:
    warned: int = 0
    breached: int = 0
    deferred: int = 0  # business-hours warnings waiting for the site's opening
    queued: int = 0


def _record(session: Session, ids: list[int], event: Event, *, notify: bool, notice: str, now: datetime) -> int:
    """The ``event`` of each target ``ids`` just marked (one ``INSERT … SELECT``) and,
    with ``notify``, its ``notice``; returns how many notifications were queued."""
    t = UpdateTargetRow
    with writing_in_bulk(session):
        with staged(session, ids) as marked:
            record_events(session, t, t.customer_id, t.incident_id, marked, [event])
        return queue_update_notices(session, ids, notice, now) if notify else 0


def _closed_sites(session: Session, warnings, now: datetime) -> list[int]:
    """The sites, among those of the business-hours targets to warn, closed at ``now``."""
    t = UpdateTargetRow
    sites = session.scalars(
        select(SiteRow).where(
            SiteRow.id.in_(
                select(IncidentRow.site_id).where(
                    IncidentRow.id.in_(select(t.incident_id).where(*warnings, t.coverage == "business_hours"))
                )
            )
        )
    ).all()
    return sorted(site.id for site in sites if not site_calendar(site).is_open(now))


def sweep(session: Session, *, now: datetime, notify: bool = True, limit: int = 10_000) -> UpdateSweep:
    """One pass at ``now``; idempotent (what was marked stays marked)."""
    report = UpdateSweep()
    session.flush()
    plan_each_execution(session)  # its queries read partial indexes with the instant given (D154)
    t = UpdateTargetRow
    due = iso_utc(t.due_at)
    breached = mark(
        session, t, (text(UPDATE_PENDING), t.due_at <= now), limit, {"breached_at": t.due_at}, (), ordered=True
    )
    if breached:
        ids = [r.id for r in breached]
        report.queued += _record(
            session,
            ids,
            Event(
                "update-breached",
                t.due_at,
                ["target", t.seq, "due", due],
                "no update to the customer by the due time",
                RULE,
            ),
            notify=notify,
            notice="incident.update_breached",
            now=now,
        )
        report.breached = len(ids)

    warnings = (text(UPDATE_PENDING + " AND warned_at IS NULL"), t.warn_at <= now, t.due_at > now)
    closed = _closed_sites(session, warnings, now)
    waiting = and_(
        t.coverage == "business_hours",
        t.incident_id.in_(select(IncidentRow.id).where(IncidentRow.site_id.in_(closed))),
    )
    if closed:
        report.deferred = session.scalar(select(func.count()).select_from(t).where(*warnings, waiting)) or 0
    condition = (*warnings, not_(waiting)) if closed else warnings
    warned = mark(session, t, condition, limit, {"warned_at": now}, (), ordered=True)
    if warned:
        ids = [r.id for r in warned]
        moment = literal(now, UTCDateTime())
        left = (epoch(t.due_at) - epoch(moment)) // 60
        report.queued += _record(
            session,
            ids,
            Event(
                "update-warned",
                moment,
                ["target", t.seq, "due", due, "minutes_left", left],
                "the next update to the customer is due soon",
                RULE,
            ),
            notify=notify,
            notice="incident.update_warning",
            now=now,
        )
        report.warned = len(ids)
    return report
