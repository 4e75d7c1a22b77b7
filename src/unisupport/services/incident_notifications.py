"""Who hears about what happens to an incident, in their language, and when.

Notifications are queued in the outbox in the same transaction as the change that
causes them (so they are never lost nor sent for a change that rolled back):

* ``incident.acknowledged`` → the contact, at once (it never counts as the first
  response: R-SEV-2);
* ``incident.warning`` → the incident's team and the incident managers;
* ``incident.breached`` → the team, and the customer contact — for a business-hours
  incident, held until the site's next business hours (no mail at midnight);
* ``incident.escalated`` → the incident managers;
* ``incident.customer_response_missed`` → the customer contact (business hours too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.notifications.outbox import customer_not_before, enqueue
from unisupport.notifications.wording import mail_language
from unisupport.services.customers import site_calendar
from unisupport.sla.calendar import epoch_seconds
from unisupport.storage.tables import (
    CommunicationRow,
    ContactRow,
    CustomerRow,
    IncidentRow,
    SiteRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)


def incident_number(incident_id: int) -> str:
    return f"INC-{incident_id:06d}"


def _payload(session: Session, incident: IncidentRow, site: SiteRow, **extra: Any) -> dict[str, Any]:
    customer = session.get(CustomerRow, incident.customer_id)
    calendar = site_calendar(site)
    return {
        "incident_number": incident_number(incident.id), "customer_name": customer.name if customer else "",
        "title": incident.title, "severity": incident.severity, "timezone": site.timezone,
        "opened_at": calendar.localize(incident.opened_at).isoformat(),
        "first_response_due": calendar.localize(incident.first_response_due).isoformat(),
        "target_minutes": incident.target_minutes,
        "coverage": "bh" if incident.coverage == "business_hours" else "24x7",
        **extra,
    }


def _provider_recipients(session: Session, *, team: str | None, incident_managers: bool) -> list[tuple[str, str]]:
    recipients: dict[str, str] = {}
    if team:
        for email, language in session.execute(
            select(UserRow.email, UserRow.language).join(TeamMemberRow, TeamMemberRow.user_id == UserRow.id)
            .join(TeamRow, TeamRow.id == TeamMemberRow.team_id).where(TeamRow.code == team, UserRow.active.is_(True))):
            recipients[email] = language
    if incident_managers:
        for email, language in session.execute(select(UserRow.email, UserRow.language).where(
                UserRow.role == "incident-manager", UserRow.active.is_(True))):
            recipients[email] = language
    return sorted(recipients.items())


def _contact(session: Session, incident: IncidentRow, site: SiteRow) -> tuple[str, str]:
    contact = session.get(ContactRow, incident.contact_id)
    user_language = session.scalar(select(UserRow.language).where(UserRow.contact_id == incident.contact_id))
    language = mail_language(user_language or (contact.language if contact else None) or site.language)
    return (contact.email if contact else ""), language


def acknowledge(session: Session, incident: IncidentRow, *, now: datetime) -> None:
    site = session.get(SiteRow, incident.site_id)
    email, language = _contact(session, incident, site)  # type: ignore[arg-type]
    enqueue(session, kind="incident.acknowledged", recipient=email, language=language, subject_type="incident",
            subject_id=incident.id, payload=_payload(session, incident, site), customer_id=incident.customer_id,  # type: ignore[arg-type]
            dedupe_key=f"incident:{incident.id}:acknowledged:{email}", not_before=now, now=now)


def queue(session: Session, incident_ids: list[int], kind: str, now: datetime) -> int:
    """The watcher's notifications for ``incident_ids`` (see the module docstring)."""
    queued = 0
    for incident in session.scalars(select(IncidentRow).where(IncidentRow.id.in_(incident_ids))):
        site = session.get(SiteRow, incident.site_id)
        calendar = site_calendar(site)  # type: ignore[arg-type]
        customer_at = customer_not_before(calendar, now) if incident.coverage == "business_hours" else now
        held_for = site.id if incident.coverage == "business_hours" else None  # type: ignore[union-attr]
        payload = _payload(session, incident, site)  # type: ignore[arg-type]
        sends: list[tuple[str, str, str, dict[str, Any], datetime, int | None]] = []
        if kind == "incident.warning":
            left = max(0, (epoch_seconds(incident.first_response_due) - epoch_seconds(now)) // 60)
            for email, language in _provider_recipients(session, team=incident.team, incident_managers=True):
                sends.append((kind, email, language, payload | {"minutes_left": left}, now, None))
        elif kind == "incident.breached":
            for email, language in _provider_recipients(session, team=incident.team, incident_managers=False):
                sends.append((kind, email, language, payload, now, None))
            email, language = _contact(session, incident, site)  # type: ignore[arg-type]
            sends.append((kind, email, language, payload, customer_at, held_for))
            for email, language in _provider_recipients(session, team=None, incident_managers=True):
                sends.append(("incident.escalated", email, language, payload | {
                    "escalated_at": calendar.localize(now).isoformat(),
                    "reason": "the first-response target was breached (R-INC-2)"}, now, None))
        elif kind == "incident.customer_response_missed":
            email, language = _contact(session, incident, site)  # type: ignore[arg-type]
            for asked in session.scalars(select(CommunicationRow).where(
                    CommunicationRow.incident_id == incident.id, CommunicationRow.missed_at.is_not(None),
                    CommunicationRow.answered_at.is_(None))):
                sends.append((kind, email, language, payload | {
                    "requested_at": calendar.localize(asked.at).isoformat(),
                    "response_due": calendar.localize(asked.customer_response_due).isoformat(),  # type: ignore[arg-type]
                    "request_id": asked.id}, customer_at, held_for))
        for send_kind, email, language, body, not_before, site_id in sends:
            extra = f":{body['request_id']}" if "request_id" in body else ""
            row = enqueue(session, kind=send_kind, recipient=email, language=language, subject_type="incident", subject_id=incident.id,
                          payload={k: v for k, v in body.items() if k != "request_id"}, customer_id=incident.customer_id,
                          dedupe_key=f"incident:{incident.id}:{send_kind}{extra}:{email}", not_before=not_before, now=now,
                          business_hours_site_id=site_id)
            queued += row is not None
    return queued
