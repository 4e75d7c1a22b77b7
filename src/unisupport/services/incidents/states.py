"""Moving an incident from state to state (incidents.state; R-INC-1, R-INC-4, R-SLA-4;
docs/decisions.md D93): each move a timeline event with actor, time and reason, and
what it does to the update clock — awaiting the customer pauses it, the customer's
answer resumes it, mitigation and closure end it, a reopening starts a new one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.errors import Refused
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.incidents.state import State, check
from unisupport.services.incidents import updates
from unisupport.services.incidents.changes import add_event
from unisupport.storage.tables import CommunicationRow, IncidentRow, ThirdPartyRow


def enter(
    session: Session,
    incident: IncidentRow,
    target: State,
    *,
    actor: str,
    at: datetime,
    reason: str,
    manual: bool = False,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> None:
    """``incident`` moves to ``target`` (its status follows), or Refused naming the
    field and rule. The caller versions the incident."""
    current = State(incident.state)
    transition = check(current, target, manual=manual)
    incident.state, incident.status = target.value, target.status
    add_event(
        session,
        incident,
        kind="state-changed",
        actor=actor,
        at=at,
        before={"state": current.value},
        after={"state": target.value},
        reason=reason,
        rule=transition.rule,
    )
    if target is State.AWAITING_CUSTOMER:
        updates.pause(session, incident, at, actor=actor)
    elif not target.active:
        updates.end(session, incident, at, actor=actor, reason=f"the incident is {target.label()}")
    elif current is State.AWAITING_CUSTOMER:
        updates.resume(session, incident, at, actor=actor, reason=reason, settings=settings)
    elif not current.active and incident.first_response_at is not None:
        updates.start(session, incident, at, actor=actor, reason=f"the incident is {target.label()}", settings=settings)
    session.flush()


def check_grounds(session: Session, incident: IncidentRow, target: State) -> None:
    """What a person's move needs besides the table: awaiting the customer needs a
    request the customer was sent and has not answered (their clock, R-SLA-4);
    awaiting a third party needs a collaboration asked for and not ended (R-INC-4)."""
    if target is State.AWAITING_CUSTOMER:
        asked = session.scalar(
            select(CommunicationRow.id).where(
                CommunicationRow.incident_id == incident.id,
                CommunicationRow.requests_customer_action.is_(True),
                CommunicationRow.answered_at.is_(None),
            )
        )
        if asked is None:
            raise Refused(
                "the customer has been asked nothing: a public reply or a logged call that needs their answer "
                "starts their clock and sets this state by itself",
                rule="R-SLA-4",
                field="state",
            )
    if target is State.AWAITING_THIRD_PARTY:
        working = session.scalar(
            select(ThirdPartyRow.id).where(ThirdPartyRow.incident_id == incident.id, ThirdPartyRow.status != "ended")
        )
        if working is None:
            raise Refused(
                "no third-party collaboration is in progress on this incident: record the customer's request first",
                rule="R-INC-4",
                field="state",
            )


def after_communication(
    session: Session,
    incident: IncidentRow,
    *,
    outbound: bool,
    asks_customer: bool,
    at: datetime,
    actor: str,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> None:
    """What a communication does to the state and the update clock: one to the customer
    meets the pending update and starts the next, and starts the work (open → in
    progress) or waits for the customer's answer when it asks for one; the customer's
    answer ends the wait."""
    current = State(incident.state)
    if not current.active:
        return
    if outbound:
        updates.communicated(session, incident, at, actor=actor, settings=settings)
        if asks_customer and current is not State.AWAITING_CUSTOMER:
            enter(
                session,
                incident,
                State.AWAITING_CUSTOMER,
                actor=actor,
                at=at,
                reason="the customer was asked for an answer",
                settings=settings,
            )
        elif current in (State.OPEN, State.REOPENED):
            enter(
                session,
                incident,
                State.IN_PROGRESS,
                actor=actor,
                at=at,
                reason="an engineer answered the customer",
                settings=settings,
            )
    elif current is State.AWAITING_CUSTOMER:
        enter(
            session, incident, State.IN_PROGRESS, actor=actor, at=at, reason="the customer answered", settings=settings
        )
