"""Remote-access authorisations on incidents, stored (R-RA-1): the customer (a designated
contact) authorises, engineers log sessions under an authorisation in force, the customer
withdraws it at any time (open sessions then end). Each step is an event of the incident's
timeline naming the rule and an entry of the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import Forbidden, NotFound, Refused
from unisupport.incidents import remote_access as ra
from unisupport.incidents.requests import RemoteAccessIn, RemoteAccessWithdrawalIn, RemoteSessionEndIn, RemoteSessionIn
from unisupport.services.audit import record_event
from unisupport.services.incidents import PROVIDER_WORKERS, get_incident, record_change
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.storage.tables import ContactRow, IncidentRow, RemoteAccessRow, RemoteSessionRow

SUBJECT = "remote-access"


def _record(
    session: Session,
    incident: IncidentRow,
    principal: Principal,
    kind: str,
    *,
    now: datetime,
    subject_id: int,
    after: dict[str, Any],
    reason: str | None,
    before: dict[str, Any] | None = None,
) -> None:
    """The timeline event and the audit-log entry of one step."""
    record_change(
        session,
        incident,
        kind=kind,
        actor=principal.email,
        at=now,
        rule=ra.RULE,
        before=before,
        after=after,
        reason=reason,
    )
    record_event(
        session,
        customer_id=incident.customer_id,
        subject_type=SUBJECT,
        subject_id=subject_id,
        tag=kind,
        actor=principal.email,
        at=now,
        before=before,
        after=after | {"incident": incident.id},
        reason=reason,
        rule=ra.RULE,
    )


def _open_incident(session: Session, principal: Principal, incident_id: int) -> IncidentRow:
    incident = get_incident(session, principal, incident_id, lock=True)
    if incident.status == "closed":
        raise Refused("the incident is closed: remote access ends with it", rule="R-INC-1", field="id")
    return incident


def authorise(
    session: Session,
    principal: Principal,
    incident_id: int,
    data: RemoteAccessIn,
    *,
    now: datetime,
    tools: ra.ApprovedTools | None = None,
) -> RemoteAccessRow:
    """A designated contact of the incident's customer authorises a remote connection."""
    incident = _open_incident(session, principal, incident_id)
    if not principal.role.is_customer:
        raise Forbidden("remote access is the customer's to authorise: a designated contact records it", field="role")
    contact = session.scalar(
        select(ContactRow).where(
            ContactRow.customer_id == incident.customer_id, ContactRow.email == principal.email.lower()
        )
    )
    if contact is None or not contact.active:
        raise Refused(
            f"{principal.email} is not a designated contact of this customer: only designated contacts authorise "
            "remote access",
            rule=ra.RULE,
            field="role",
        )
    systems = ra.clean_systems(data.systems)
    tool, approved = ra.check_tool(
        data.tool, data.other_tool, data.acknowledge_data_responsibility, tools or ra.approved_tools()
    )
    valid_from = now if data.valid_from is None else data.valid_from.astimezone(UTC)
    valid_until = data.valid_until.astimezone(UTC)
    ra.check_window(valid_from, valid_until, now)
    row = RemoteAccessRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        authorised_by=principal.email,
        authorised_at=now,
        systems=systems,
        tool=tool,
        tool_approved=approved,
        data_responsibility_acknowledged=not approved,
        valid_from=valid_from,
        valid_until=valid_until,
        note=data.note,
    )
    session.add(row)
    session.flush()
    after = {
        "authorisation": row.id,
        "systems": systems,
        "tool": tool,
        "tool_approved": approved,
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
    }
    reason = data.note or "the customer authorised a remote connection"
    if not approved:
        reason += "; " + ra.RESPONSIBILITY["en"]
    _record(
        session, incident, principal, "remote-access-authorised", now=now, subject_id=row.id, after=after, reason=reason
    )
    return row


def _authorisation(session: Session, incident: IncidentRow, authorisation_id: int) -> RemoteAccessRow:
    row = session.get(RemoteAccessRow, authorisation_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound(
            f"no remote-access authorisation {authorisation_id} on incident {incident.id}", field="authorisation"
        )
    return row


def withdraw(
    session: Session,
    principal: Principal,
    incident_id: int,
    authorisation_id: int,
    data: RemoteAccessWithdrawalIn,
    *,
    now: datetime,
) -> RemoteAccessRow:
    """The customer withdraws an authorisation at any time: it ends now, and so do the
    sessions open under it."""
    incident = get_incident(session, principal, incident_id, lock=True)
    if not principal.role.is_customer:
        raise Forbidden("only the customer withdraws its authorisation", field="role")
    row = _authorisation(session, incident, authorisation_id)
    if row.withdrawn_at is not None:
        raise Refused(f"authorisation {row.id} was already withdrawn", rule=ra.RULE, field="authorisation")
    row.withdrawn_at, row.withdrawn_by = now, principal.email
    ended = _end_open_sessions(session, row, now=now, by=principal.email)
    _record(
        session,
        incident,
        principal,
        "remote-access-withdrawn",
        now=now,
        subject_id=row.id,
        before={"valid_until": row.valid_until.isoformat()},
        after={"authorisation": row.id, "withdrawn_at": now.isoformat(), "sessions_ended": ended},
        reason=data.note or "the customer withdrew its authorisation",
    )
    return row


def _end_open_sessions(session: Session, row: RemoteAccessRow, *, now: datetime, by: str) -> list[int]:
    open_sessions = session.scalars(
        select(RemoteSessionRow).where(RemoteSessionRow.authorisation_id == row.id, RemoteSessionRow.ended_at.is_(None))
    ).all()
    for s in open_sessions:
        s.ended_at, s.ended_by, s.end_reason = now, by, "withdrawn"
    return [s.id for s in open_sessions]


def grants(session: Session, incident_id: int) -> list[RemoteAccessRow]:
    return list(
        session.scalars(
            select(RemoteAccessRow).where(RemoteAccessRow.incident_id == incident_id).order_by(RemoteAccessRow.id)
        )
    )


def _grant(row: RemoteAccessRow) -> ra.Grant:
    return ra.Grant(row.id, tuple(row.systems), row.valid_from, row.valid_until, row.withdrawn_at)


def start_session(
    session: Session, principal: Principal, incident_id: int, data: RemoteSessionIn, *, now: datetime
) -> RemoteSessionRow:
    """An engineer starts a remote session on ``data.system``: refused (R-RA-1) unless an
    authorisation in force now covers that system."""
    incident = _open_incident(session, principal, incident_id)  # another tenant's: 404 before any 403
    principal.require(*PROVIDER_WORKERS, action="connect to the customer's systems")
    rows = grants(session, incident.id)
    grant = ra.grant_for([_grant(r) for r in rows], data.system, now)
    system = next(s for s in grant.systems if ra.system_key(s) == ra.system_key(data.system))
    already = session.scalar(
        select(RemoteSessionRow).where(
            RemoteSessionRow.incident_id == incident.id,
            RemoteSessionRow.engineer == principal.email,
            RemoteSessionRow.system == system,
            RemoteSessionRow.ended_at.is_(None),
        )
    )
    if already is not None:
        raise Refused(f"your session on {system} is already open (session {already.id})", rule=ra.RULE, field="system")
    row = RemoteSessionRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        authorisation_id=grant.id,
        system=system,
        engineer=principal.email,
        started_at=now,
    )
    session.add(row)
    session.flush()
    after = {"session": row.id, "authorisation": grant.id, "system": system, "engineer": principal.email}
    _record(
        session,
        incident,
        principal,
        "remote-session-started",
        now=now,
        subject_id=grant.id,
        after=after,
        reason=data.note or f"authorised until {grant.valid_until.isoformat()}",
    )
    return row


def end_session(
    session: Session,
    principal: Principal,
    incident_id: int,
    session_id: int,
    data: RemoteSessionEndIn,
    *,
    now: datetime,
) -> RemoteSessionRow:
    """The engineer who opened a session (or any provider worker) ends it."""
    incident = get_incident(session, principal, incident_id, lock=True)
    principal.require(*PROVIDER_WORKERS, action="log remote sessions")
    row = session.get(RemoteSessionRow, session_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound(f"no remote session {session_id} on incident {incident.id}", field="session")
    if row.ended_at is not None:
        raise Refused(f"remote session {row.id} has already ended", rule=ra.RULE, field="session")
    row.ended_at, row.ended_by, row.end_reason = now, principal.email, "ended"
    after = {"session": row.id, "authorisation": row.authorisation_id, "system": row.system, "engineer": row.engineer}
    _record(
        session,
        incident,
        principal,
        "remote-session-ended",
        now=now,
        subject_id=row.authorisation_id,
        after=after,
        reason=data.note,
    )
    return row


def sessions(session: Session, incident_id: int) -> list[RemoteSessionRow]:
    return list(
        session.scalars(
            select(RemoteSessionRow).where(RemoteSessionRow.incident_id == incident_id).order_by(RemoteSessionRow.id)
        )
    )


def remote_access_view(
    session: Session, principal: Principal, incident_id: int, *, now: datetime, calendar: Calendar
) -> dict[str, Any]:
    """What the incident shows of remote access: whether an engineer may connect now,
    to which systems and until when; every authorisation and every session logged."""
    incident = get_incident(session, principal, incident_id)
    rows = grants(session, incident.id)
    connection = ra.connect_now([_grant(r) for r in rows], now)

    def when(value: datetime | None) -> str | None:
        return None if value is None else calendar.localize(value).isoformat()

    return {
        "rule": ra.RULE,
        "may_connect_now": connection.may_connect,
        "systems_now": list(connection.systems),
        "until": when(connection.until),
        "authorisations": [authorisation_view(r, calendar, now=now) for r in rows],
        "sessions": [session_view(s, calendar) for s in sessions(session, incident.id)],
    }


def authorisation_view(row: RemoteAccessRow, calendar: Calendar, *, now: datetime) -> dict[str, Any]:
    local = calendar.localize
    ended = epoch_seconds(now) >= epoch_seconds(row.valid_until)
    state = (
        "withdrawn" if row.withdrawn_at else "ended" if ended else "in-force" if _grant(row).in_force(now) else "future"
    )
    return {
        "id": row.id,
        "state": state,
        "authorised_by": row.authorised_by,
        "authorised_at": local(row.authorised_at).isoformat(),
        "systems": list(row.systems),
        "tool": row.tool,
        "tool_approved": row.tool_approved,
        "data_responsibility_acknowledged": row.data_responsibility_acknowledged,
        "valid_from": local(row.valid_from).isoformat(),
        "valid_until": local(row.valid_until).isoformat(),
        "withdrawn_at": None if row.withdrawn_at is None else local(row.withdrawn_at).isoformat(),
        "withdrawn_by": row.withdrawn_by,
        "note": row.note,
    }


def session_view(row: RemoteSessionRow, calendar: Calendar) -> dict[str, Any]:
    local = calendar.localize
    return {
        "id": row.id,
        "authorisation": row.authorisation_id,
        "system": row.system,
        "engineer": row.engineer,
        "started_at": local(row.started_at).isoformat(),
        "ended_at": None if row.ended_at is None else local(row.ended_at).isoformat(),
        "ended_by": row.ended_by,
        "end_reason": row.end_reason,
    }
