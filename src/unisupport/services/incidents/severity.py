"""Changing an incident's severity (R-SEV-1..4): who may, on what grounds, and the
first-response target recomputed with its explanation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden
from unisupport.incidents.requests import SeverityChangeIn
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.incidents.severity_change import ORDER as SEVERITY_ORDER
from unisupport.incidents.severity_change import check_change, retarget
from unisupport.refusal import Refused
from unisupport.services.incidents import updates
from unisupport.services.incidents.changes import (
    PROVIDER_WORKERS,
    add_event,
    calendar_of,
    check_version,
    get_incident,
    record_change,
    require_provider_worker,
)
from unisupport.services.incidents.provisions import provide
from unisupport.services.incidents.targets import holdings, warn_at
from unisupport.services.webhooks import announce_incident
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.first_response_due import explain
from unisupport.sla.severity import Severity
from unisupport.storage.tables import AssignmentRow, CommunicationRow, IncidentEventRow, IncidentRow, OrderRow


def change_severity(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: SeverityChangeIn,
    *,
    now: datetime,
    settings: IncidentSettings = DEFAULT_SETTINGS,
    expected_version: int | None = None,
) -> IncidentRow:
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
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
    calendar = calendar_of(session, incident)
    restarted = explain(
        severity=data.severity,
        product=incident.product,
        opened=now,
        calendar=calendar,
        plans=holdings(session, order, incident.opened_at, calendar=calendar),  # type: ignore[arg-type]
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
        incident.first_response_warn_at = warn_at(
            calendar, now, restarted.target_minutes, restarted.coverage, settings.warn_share
        )
        incident.warned_at = None
    add_event(
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
    assigned = set(
        session.scalars(
            select(AssignmentRow.role).where(
                AssignmentRow.incident_id == incident.id, AssignmentRow.automatic.is_(True)
            )
        )
    )
    session.flush()  # the change's event before what it brings
    assignments, events = provide(incident, restarted, at=now, assigned=assigned).rows(incident)
    session.add_all(assignments)
    if events:
        session.execute(insert(IncidentEventRow), events)
    if principal.role in PROVIDER_WORKERS:
        incident.severity_to_confirm = False  # the provider set it: agreed (R-SEV-1)
    updates.recalculate(
        session,
        incident,
        now,
        actor=principal.email,
        why=f"the severity changed from {old.value} to {data.severity.value}",
        settings=settings,
    )
    incident.version += 1
    incident.updated_at = now
    changed = {"severity": [old.value, data.severity.value], "reason": change.reason}
    announce_incident(session, "incident.severity_changed", incident, now=now, change=changed)
    session.flush()
    return incident


def confirm_severity(
    session: Session,
    principal: Principal,
    incident_id: int,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> IncidentRow:
    """The provider agrees the severity an incident was opened at by mail (R-SEV-1:
    the customer states the impact, the provider agrees the severity); an event on
    the timeline says who and when. Changing the severity agrees it too."""
    require_provider_worker(principal, "confirm the severity")
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    if not incident.severity_to_confirm:
        return incident
    incident.severity_to_confirm = False
    record_change(
        session,
        incident,
        kind="severity-confirmed",
        actor=principal.email,
        at=now,
        after={"severity": incident.severity},
        reason=f"Severity {incident.severity} agreed with the customer",
        rule="R-SEV-1",
    )
    return incident
