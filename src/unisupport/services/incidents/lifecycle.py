"""An incident's lifecycle after opening: mitigation and closure (R-INC-1), the post-incident
review (R-PIR-1), root-cause analysis requests (R-RCA-1/2) and the people named on it (R-INC-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden, InvalidInput
from unisupport.incidents.requests import ClosureIn, MitigationIn, StateChangeIn
from unisupport.incidents.root_cause import decide_rca
from unisupport.incidents.state import State
from unisupport.refusal import Refused
from unisupport.services.webhooks import announce_incident
from unisupport.services import surveys
from unisupport.services.incidents.changes import (
    add_event,
    calendar_of,
    check_version,
    get_incident,
    require_provider_worker,
)
from unisupport.services.incidents.states import check_grounds, enter
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.severity import Severity
from unisupport.storage.tables import AssignmentRow, IncidentRow, PostIncidentReviewRow, RcaRequestRow, UserRow


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
    require_provider_worker(principal, "mitigate incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    if incident.status != "open":
        raise Refused(f"the incident is {incident.status}, not open", rule="R-INC-1", field="id")
    at = _past(data.at, now, incident)
    enter(session, incident, State.MITIGATED, actor=principal.email, at=at, reason=data.summary)
    incident.status, incident.mitigated_at = "mitigated", at
    add_event(
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
    announce_incident(session, "incident.updated", incident, now=now, change={"status": ["open", "mitigated"]})
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
    require_provider_worker(principal, "close incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is already closed", rule="R-INC-1", field="id")
    at = _past(data.at, now, incident)
    before = incident.status
    enter(session, incident, State.CLOSED, actor=principal.email, at=at, reason=data.summary)
    incident.status, incident.closed_at = "closed", at
    incident.mitigated_at = incident.mitigated_at or at
    add_event(
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
        add_event(
            session,
            incident,
            kind="pir-created",
            actor="system",
            at=now,
            rule="R-PIR-1",
            reason=(
                "every UER Severity 1 incident gets a post-incident review with the customer, the CSAM and the "
                "account team"
            ),
        )
    incident.version += 1
    incident.updated_at = now
    announce_incident(session, "incident.updated", incident, now=now, change={"status": [before, "closed"]})
    session.flush()
    surveys.after_close(session, incident, now=now)  # R-CSAT-1: the contact's satisfaction survey, once
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
        calendar=calendar_of(session, incident),
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
    add_event(
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
            calendar=calendar or calendar_of(session, incident),
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
    require_provider_worker(principal, "assign people to incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
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
    if wanted is Role.ENGINEER and State(incident.state) in (State.OPEN, State.REOPENED):
        enter(session, incident, State.IN_PROGRESS, actor=principal.email, at=now, reason=f"{email} took the incident")
    add_event(
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
    change = {"assigned": {"role": wanted.value, "person": email}}
    announce_incident(session, "incident.updated", incident, now=now, change=change)
    session.flush()
    return row


def reopen(session: Session, incident: IncidentRow, *, actor: str, reason: str, now: datetime) -> IncidentRow:
    """A closed incident back to open (R-INC-1), with an event on its timeline saying
    who and why; an incident that is not closed is left as it is. The first
    response's facts (due, given, breached) stay as they were recorded: reopening
    starts no new target. The closure and the mitigation are undone (the event keeps
    their instants), so that the incident can be mitigated and closed again and an
    RCA requested before that closure (R-RCA-1)."""
    if incident.status != "closed":
        return incident
    before = {
        "status": "closed",
        "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
        "mitigated_at": incident.mitigated_at.isoformat() if incident.mitigated_at else None,
    }
    enter(session, incident, State.REOPENED, actor=actor, at=now, reason=reason)
    incident.status, incident.closed_at, incident.mitigated_at = "open", None, None
    add_event(
        session,
        incident,
        kind="reopened",
        actor=actor,
        at=now,
        before=before,
        after={"status": "open"},
        reason=reason,
        rule="R-INC-1",
    )
    incident.version += 1
    incident.updated_at = now
    announce_incident(session, "incident.updated", incident, now=now, change={"status": ["closed", "open"]})
    session.flush()
    return incident


def change_state(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: StateChangeIn,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> IncidentRow:
    """A person moves the incident to ``data.state`` with a reason (the state control:
    ``POST …/state``, the incident page). Mitigation, closure and reopening go the
    way of :func:`mitigate`, :func:`close` and :func:`reopen`; the others follow the
    table of ``incidents.state`` and their grounds (:func:`states.check_grounds`)."""
    require_provider_worker(principal, "change the state of incidents")
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    target = data.state
    current = State(incident.state)
    if target is State.MITIGATED and current.active:
        return mitigate(session, principal, incident_id, MitigationIn(summary=data.reason), now=now)
    if target is State.CLOSED and current is not State.CLOSED:
        return close(session, principal, incident_id, ClosureIn(summary=data.reason), now=now)
    if target is State.REOPENED and current is State.CLOSED:
        return reopen(session, incident, actor=principal.email, reason=data.reason, now=now)
    check_grounds(session, incident, target)
    if current is State.MITIGATED and target is State.IN_PROGRESS:
        incident.mitigated_at = None  # the mitigation did not hold; its event keeps the instant
    enter(session, incident, target, actor=principal.email, at=now, reason=data.reason, manual=True)
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return incident
