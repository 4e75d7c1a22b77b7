"""How a stored incident changes (R-INC-1): found within the principal's tenant scope,
checked against the version the caller read, each change an event on its timeline with
actor, time, before/after, reason and rule, and a new version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import NotFound, StaleVersion
from unisupport.services.scope import scoped
from unisupport.sla.calendar import Calendar
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import IncidentEventRow, IncidentRow, SiteRow

PROVIDER_WORKERS = (Role.ADMIN, Role.ENGINEER, Role.INCIDENT_MANAGER)


def add_event(
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
    add_event(session, incident, kind=kind, actor=actor, at=at, before=before, after=after, reason=reason, rule=rule)
    incident.version += 1
    incident.updated_at = at
    session.flush()


def get_incident(session: Session, principal: Principal, incident_id: int, *, lock: bool = False) -> IncidentRow:
    """The incident, or NotFound — also when it belongs to another tenant."""
    query = scoped(select(IncidentRow).where(IncidentRow.id == incident_id), IncidentRow.customer_id, principal)
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no incident {incident_id}", field="id")
    return row


def check_version(incident: IncidentRow, expected: int | None) -> None:
    if expected is not None and expected != incident.version:
        raise StaleVersion(
            f"incident {incident.id} is at version {incident.version}, not {expected}: reload it", field="If-Match"
        )


def calendar_of(session: Session, incident: IncidentRow) -> Calendar:
    return site_calendar(session.get_one(SiteRow, incident.site_id))


def require_provider_worker(principal: Principal, action: str) -> None:
    principal.require(*PROVIDER_WORKERS, action=action)
