"""Communications on an incident (R-SEV-2, R-SLA-1, R-SLA-4): the first response that counts —
the earliest by its own time, also when logged after the fact —, the customer's clock when the
provider asks for action, and the customer's answers, on time or late."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import Forbidden, InvalidInput
from unisupport.incidents.communication import Direction, counts_as_first_response, why_not_first_response
from unisupport.incidents.customer_clock import customer_response_due
from unisupport.incidents.diagnostics import RULE as DIAGNOSTIC_RULE
from unisupport.incidents.diagnostics import activity_name
from unisupport.incidents.requests import CommunicationIn
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.refusal import Refused
from unisupport.services.incident_notifications import withdraw_breach
from unisupport.services.incidents.changes import add_event, calendar_of, check_version, get_incident
from unisupport.services.incidents.states import after_communication
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.severity import Severity
from unisupport.storage.tables import CommunicationRow, IncidentRow


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
    direction = _direction(principal, data)
    at = now if data.at is None else data.at.astimezone(UTC)
    if epoch_seconds(at) > epoch_seconds(now) + 60:
        raise InvalidInput("a communication cannot happen in the future", field="at")
    if epoch_seconds(at) < epoch_seconds(incident.opened_at):
        raise InvalidInput("a communication cannot precede the incident's opening", field="at")
    # R-SEV-2: the earliest qualifying contact by its own time, whatever the order of logging.
    first = counts_as_first_response(direction, data.medium, False) and (
        incident.first_response_at is None or epoch_seconds(at) < epoch_seconds(incident.first_response_at)
    )
    calendar = calendar_of(session, incident)
    due = None
    asks = data.requests_customer_action or data.diagnostic is not None  # R-REQ-1: a diagnostic asks for action
    if asks and direction is Direction.OUTBOUND:
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
        diagnostic=None if due is None or data.diagnostic is None else data.diagnostic.value,
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
        _first_response(session, incident, row, actor=actor, now=now)
    if direction is Direction.INBOUND:
        _answers(session, incident, at, actor=actor)
    if row.diagnostic is not None:
        add_event(
            session,
            incident,
            kind="diagnostic-requested",
            actor=actor,
            at=at,
            after={"communication": row.id, "activity": row.diagnostic, "due": due.isoformat()},  # type: ignore[union-attr]
            rule=DIAGNOSTIC_RULE,
            reason=f"the provider asks for {activity_name(row.diagnostic)}",
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
    # The state and the update clock (incidents.state, R-INC-2): docs/decisions.md D93–D95.
    outbound = direction is Direction.OUTBOUND
    after_communication(
        session, incident, outbound=outbound, asks_customer=due is not None, at=at, actor=actor, settings=settings
    )
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return row


def _direction(principal: Principal, data: CommunicationIn) -> Direction:
    """Who may post what: customers post inbound communications, now, asking nothing;
    provider users (not CSAMs) post either way, outbound by default."""
    if principal.role.is_customer:
        if data.direction is Direction.OUTBOUND:
            raise Forbidden("customers post inbound communications only", field="direction")
        if data.at is not None:
            raise Forbidden("only provider users log a communication after the fact", field="at")
        if data.diagnostic is not None:
            raise Forbidden("only provider engineers ask for a diagnostic activity", field="diagnostic")
        if data.requests_customer_action:
            raise Forbidden("only provider engineers ask the customer for action", field="requests_customer_action")
        return Direction.INBOUND
    if principal.role is Role.CSAM:
        raise Forbidden("a CSAM follows incidents but does not work them", field="role")
    return data.direction or Direction.OUTBOUND


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _first_response(
    session: Session, incident: IncidentRow, row: CommunicationRow, *, actor: str, now: datetime
) -> None:
    """``row`` is the earliest first response so far (R-SEV-2): it replaces any later
    one, and the outcome and the breach record follow its own time (R-SLA-1)."""
    previous = incident.first_response_at
    if previous is not None:
        session.execute(
            update(CommunicationRow)
            .where(
                CommunicationRow.incident_id == incident.id,
                CommunicationRow.first_response.is_(True),
                CommunicationRow.id != row.id,
            )
            .values(first_response=False),
            execution_options={"synchronize_session": "fetch"},
        )
    met = epoch_seconds(row.at) <= epoch_seconds(incident.first_response_due)
    incident.first_response_at = row.at
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
    elif met and incident.breached_at is not None:
        _withdraw_breach(session, incident, actor=actor, now=now)
    reason = f"first non-automated contact by {row.medium} from the provider"
    if epoch_seconds(row.logged_at) > epoch_seconds(row.at):
        reason += f", logged after the fact on {_utc(row.logged_at)}"
    if previous is not None:
        reason += f": earlier than the contact of {_utc(previous)}, which counted until now"
    add_event(
        session,
        incident,
        kind="first-response",
        actor=actor,
        at=row.at,
        rule="R-SEV-2",
        after={"state": "met" if met else "late", "due": incident.first_response_due.isoformat()},
        reason=reason,
    )


def _withdraw_breach(session: Session, incident: IncidentRow, *, actor: str, now: datetime) -> None:
    """The first response came in time after all: the breach recorded (by an earlier
    late contact, or by the watcher) is withdrawn by an event, never silently, and the
    people its notices went to are told (``incident_notifications.withdraw_breach``)."""
    breached_at = incident.breached_at
    incident.breached_at = None
    session.flush()
    told = withdraw_breach(session, incident, now=now)
    reason = (
        f"the first response, at {_utc(incident.first_response_at)}, came before the due time "  # type: ignore[arg-type]
        f"{_utc(incident.first_response_due)}: the target was met"
    )
    if told:
        reason += f"; the breach notices queued or mailed are corrected to the same {told} recipient(s)"
    add_event(
        session,
        incident,
        kind="breach-withdrawn",
        actor=actor,
        at=now,
        before={"breached_at": _utc(breached_at)},  # type: ignore[arg-type]
        after={"breached_at": None},
        reason=reason,
        rule="R-SLA-1",
    )


def _answers(session: Session, incident: IncidentRow, at: datetime, *, actor: str) -> None:
    """The customer's answer at ``at`` answers every request for action made before it
    (R-SLA-4). One after its due time is a miss — recorded here, with its due and its
    answer time, when the watcher had not seen the deadline pass — and grounds a
    downgrade (R-SEV-3)."""
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
        due = asked.customer_response_due
        late = asked.missed_at is not None or epoch_seconds(at) > epoch_seconds(due)  # type: ignore[arg-type]
        times = {"request": asked.id, "due": _utc(due), "answered_at": _utc(at)}  # type: ignore[arg-type]
        if late and asked.missed_at is None:
            asked.missed_at = due
            add_event(
                session,
                incident,
                kind="customer-response-missed",
                actor="system",
                at=due,  # type: ignore[arg-type]
                after=times,
                reason="the customer's expected answer came after its due time",
                rule="R-SLA-4",
            )
        add_event(
            session,
            incident,
            kind="customer-responded",
            actor=actor,
            at=at,
            after=times | {"late": late},
            rule="R-SLA-4",
        )
