"""Communications on an incident (R-SEV-2, R-SLA-1, R-SLA-4): the first response that counts,
the customer's clock when the provider asks for action, and the customer's answers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import InvalidInput
from unisupport.incidents.communication import Direction, counts_as_first_response, why_not_first_response
from unisupport.incidents.customer_clock import customer_response_due
from unisupport.incidents.requests import CommunicationIn
from unisupport.refusal import Refused
from unisupport.services.incidents.changes import (
    DEFAULT_SETTINGS,
    IncidentSettings,
    add_event,
    calendar_of,
    check_version,
    get_incident,
)
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.severity import Severity
from unisupport.storage.tables import CommunicationRow


def add_communication(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: CommunicationIn,
    *,
    now: datetime,
    settings: IncidentSettings = DEFAULT_SETTINGS,
    expected_version: int | None = None,
    author: str | None = None,
) -> CommunicationRow:
    """``author``: who wrote it when that is not the principal recording it (a mail
    recorded by the system on receipt: ``services.conversation``)."""
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    if incident.status == "closed":
        raise Refused("the incident is closed", rule="R-INC-1", field="id")
    if principal.role.is_customer:
        if data.direction is Direction.OUTBOUND:
            raise Forbidden("customers post inbound communications only", field="direction")
        direction = Direction.INBOUND
        if data.at is not None:
            raise Forbidden("only provider users log a communication after the fact", field="at")
        if data.requests_customer_action:
            raise Forbidden("only provider engineers ask the customer for action", field="requests_customer_action")
    else:
        if principal.role is Role.CSAM:
            raise Forbidden("a CSAM follows incidents but does not work them", field="role")
        direction = data.direction or Direction.OUTBOUND
    at = now if data.at is None else data.at.astimezone(UTC)
    if epoch_seconds(at) > epoch_seconds(now) + 60:
        raise InvalidInput("a communication cannot happen in the future", field="at")
    if epoch_seconds(at) < epoch_seconds(incident.opened_at):
        raise InvalidInput("a communication cannot precede the incident's opening", field="at")
    first = incident.first_response_at is None and counts_as_first_response(direction, data.medium, False)
    calendar = calendar_of(session, incident)
    due = None
    if data.requests_customer_action and direction is Direction.OUTBOUND:
        due, _ = customer_response_due(
            Severity(incident.severity), at, calendar, critical_minutes=settings.critical_customer_minutes
        )
    row = CommunicationRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        direction=direction.value,
        medium=data.medium.value,
        automated=False,
        author=author or principal.email,
        at=at,
        logged_at=now,
        body=data.body,
        first_response=first,
        requests_customer_action=bool(due),
        customer_response_due=due,
    )
    session.add(row)
    session.flush()
    actor = principal.email
    if data.at is not None:
        add_event(
            session,
            incident,
            kind="communication-logged-late",
            actor=actor,
            at=now,
            after={"communication": row.id, "at": at.isoformat()},
            reason="logged after the fact",
        )
    add_event(
        session,
        incident,
        kind="communication",
        actor=actor,
        at=at,
        after={
            "communication": row.id,
            "direction": direction.value,
            "medium": data.medium.value,
            "first_response": first,
        },
        reason=None
        if first or direction is Direction.INBOUND
        else why_not_first_response(direction, data.medium, False),
    )
    if first:
        met = epoch_seconds(at) <= epoch_seconds(incident.first_response_due)
        incident.first_response_at = at
        if not met and incident.breached_at is None:
            incident.breached_at = incident.first_response_due
            add_event(
                session,
                incident,
                kind="breached",
                actor="system",
                at=incident.first_response_due,
                after={"clock": "first-response"},
                reason="the first response came after the due time",
                rule="R-SLA-1",
            )
        add_event(
            session,
            incident,
            kind="first-response",
            actor=actor,
            at=at,
            rule="R-SEV-2",
            after={"state": "met" if met else "late", "due": incident.first_response_due.isoformat()},
            reason=f"first non-automated contact by {data.medium.value} from the provider",
        )
    if direction is Direction.INBOUND:
        pending = session.scalars(
            select(CommunicationRow).where(
                CommunicationRow.incident_id == incident.id,
                CommunicationRow.requests_customer_action.is_(True),
                CommunicationRow.answered_at.is_(None),
                CommunicationRow.at <= at,
            )
        ).all()
        for asked in pending:
            asked.answered_at = at
            add_event(
                session,
                incident,
                kind="customer-responded",
                actor=actor,
                at=at,
                after={"request": asked.id, "late": asked.missed_at is not None},
                rule="R-SLA-4",
            )
    if due is not None:
        add_event(
            session,
            incident,
            kind="customer-clock-started",
            actor=actor,
            at=at,
            after={"due": due.isoformat()},
            rule="R-SLA-4",
            reason=customer_response_due(
                Severity(incident.severity), at, calendar, critical_minutes=settings.critical_customer_minutes
            )[1],
        )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return row
