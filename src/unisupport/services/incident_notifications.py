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

from unisupport.notifications.outbox import Notification, customer_not_before, enqueue, enqueue_many
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


def _payload(session: Session, incident: IncidentRow, site: SiteRow) -> dict[str, Any]:
    return _payload_of(incident, site, session.get(CustomerRow, incident.customer_id), site_calendar(site))


def _payload_of(incident: IncidentRow, site: SiteRow, customer: CustomerRow | None, calendar) -> dict[str, Any]:
    return {
        "incident_number": incident_number(incident.id), "customer_name": customer.name if customer else "",
        "title": incident.title, "severity": incident.severity, "timezone": site.timezone,
        "opened_at": calendar.localize(incident.opened_at).isoformat(),
        "first_response_due": calendar.localize(incident.first_response_due).isoformat(),
        "target_minutes": incident.target_minutes,
        "coverage": "bh" if incident.coverage == "business_hours" else "24x7",
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
    """The watcher's notifications for ``incident_ids`` (see the module docstring),
    queued in bulk: one read of the incidents with their sites, customers and contacts,
    recipients and calendars looked up once, one INSERT for the outbox rows."""
    if not incident_ids:
        return 0
    rows = session.execute(
        select(IncidentRow, SiteRow, CustomerRow, ContactRow)
        .join(SiteRow, SiteRow.id == IncidentRow.site_id)
        .join(CustomerRow, CustomerRow.id == IncidentRow.customer_id)
        .join(ContactRow, ContactRow.id == IncidentRow.contact_id)
        .where(IncidentRow.id.in_(incident_ids))
    ).all()
    user_languages = dict(session.execute(select(UserRow.contact_id, UserRow.language).where(
        UserRow.contact_id.in_({contact.id for _, _, _, contact in rows}))).all())
    teams: dict[str | None, list[tuple[str, str]]] = {}

    def team(code: str | None, managers: bool) -> list[tuple[str, str]]:
        key = f"{code}|{managers}"
        if key not in teams:
            teams[key] = _provider_recipients(session, team=code, incident_managers=managers)
        return teams[key]

    missed: dict[int, list[CommunicationRow]] = {}
    if kind == "incident.customer_response_missed":
        for asked in session.scalars(select(CommunicationRow).where(
                CommunicationRow.incident_id.in_(incident_ids), CommunicationRow.missed_at.is_not(None),
                CommunicationRow.answered_at.is_(None))):
            missed.setdefault(asked.incident_id, []).append(asked)

    out: list[Notification] = []
    for incident, site, customer, contact in rows:
        calendar = site_calendar(site)
        business_hours = incident.coverage == "business_hours"
        customer_at = customer_not_before(calendar, now) if business_hours else now
        held_for = site.id if business_hours else None
        payload = _payload_of(incident, site, customer, calendar)
        language = mail_language(user_languages.get(contact.id) or contact.language or site.language)

        def add(send_kind: str, email: str, lang: str, body: dict[str, Any], not_before: datetime, site_id: int | None, suffix: str = "") -> None:
            out.append(Notification(send_kind, email, lang, "incident", incident.id, body, f"incident:{incident.id}:{send_kind}{suffix}:{email}",
                                    not_before, incident.customer_id, site_id))

        if kind == "incident.warning":
            left = max(0, (epoch_seconds(incident.first_response_due) - epoch_seconds(now)) // 60)
            for email, lang in team(incident.team, True):
                add(kind, email, lang, payload | {"minutes_left": left}, now, None)
        elif kind == "incident.breached":
            for email, lang in team(incident.team, False):
                add(kind, email, lang, payload, now, None)
            add(kind, contact.email, language, payload, customer_at, held_for)
            escalation = payload | {"escalated_at": calendar.localize(now).isoformat(), "reason": "the first-response target was breached (R-INC-2)"}
            for email, lang in team(None, True):
                add("incident.escalated", email, lang, escalation, now, None)
        elif kind == "incident.customer_response_missed":
            for asked in missed.get(incident.id, []):
                add(kind, contact.email, language, payload | {
                    "requested_at": calendar.localize(asked.at).isoformat(),
                    "response_due": calendar.localize(asked.customer_response_due).isoformat()},  # type: ignore[arg-type]
                    customer_at, held_for, suffix=f":{asked.id}")
    return enqueue_many(session, out, now=now)
