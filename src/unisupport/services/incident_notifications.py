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

from unisupport.notifications.outbox import Fanout, customer_not_before, enqueue, enqueue_fanout
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
    customer = session.get(CustomerRow, incident.customer_id)
    return _payload_of(incident, site, customer.name if customer else "", site_calendar(site))


def _payload_of(incident: Any, site: SiteRow, customer_name: str, calendar) -> dict[str, Any]:
    """What every template of an incident needs; ``incident`` is a row or a result row."""
    return {
        "incident_number": incident_number(incident.id), "customer_name": customer_name,
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
    queued in bulk: one read of the incidents, their sites, customers and contacts
    looked up once each, and one fan-out (``enqueue_fanout``) in which the team and
    the incident managers are audiences expanded by the database."""
    if not incident_ids:
        return 0
    rows = session.execute(
        select(IncidentRow.id, IncidentRow.customer_id, IncidentRow.site_id, IncidentRow.contact_id, IncidentRow.team,
               IncidentRow.title, IncidentRow.severity, IncidentRow.opened_at, IncidentRow.first_response_due,
               IncidentRow.target_minutes, IncidentRow.coverage)
        .where(IncidentRow.id.in_(incident_ids)).order_by(IncidentRow.id)
    ).all()
    sites = {s.id: s for s in session.scalars(select(SiteRow).where(SiteRow.id.in_({r.site_id for r in rows})))}
    customers = dict(session.execute(select(CustomerRow.id, CustomerRow.name).where(CustomerRow.id.in_({r.customer_id for r in rows}))).all())
    contacts = {c.id: c for c in session.scalars(select(ContactRow).where(ContactRow.id.in_({r.contact_id for r in rows})))}
    user_languages = dict(session.execute(select(UserRow.contact_id, UserRow.language).where(UserRow.contact_id.in_(contacts))).all())

    audiences: dict[str, list[tuple[str, str]]] = {}

    def audience(team: str | None, managers: bool) -> str:
        key = f"team:{team or ''}|managers:{managers}"
        if key not in audiences:
            audiences[key] = _provider_recipients(session, team=team, incident_managers=managers)
        return key

    missed: dict[int, list[CommunicationRow]] = {}
    if kind == "incident.customer_response_missed":
        for asked in session.scalars(select(CommunicationRow).where(
                CommunicationRow.incident_id.in_(incident_ids), CommunicationRow.missed_at.is_not(None),
                CommunicationRow.answered_at.is_(None)).order_by(CommunicationRow.id)):
            missed.setdefault(asked.incident_id, []).append(asked)

    # What depends on the site only is worked out once per site.
    per_site: dict[int, tuple[Any, datetime, str]] = {}
    out: list[Fanout] = []
    for r in rows:
        site = sites[r.site_id]
        if site.id not in per_site:
            calendar = site_calendar(site)
            per_site[site.id] = (calendar, customer_not_before(calendar, now), calendar.localize(now).isoformat())
        calendar, opening, local_now = per_site[site.id]
        business_hours = r.coverage == "business_hours"
        customer_at, held_for = (opening, site.id) if business_hours else (now, None)
        payload = _payload_of(r, site, customers.get(r.customer_id, ""), calendar)
        contact = contacts.get(r.contact_id)
        language = mail_language(user_languages.get(r.contact_id) or (contact.language if contact else None) or site.language)
        email = contact.email if contact else ""

        about = {"subject_type": "incident", "subject_id": r.id, "customer_id": r.customer_id}
        to_contact = {"recipient": email, "language": language, "not_before": customer_at, "business_hours_site_id": held_for}
        if kind == "incident.warning":
            left = max(0, (epoch_seconds(r.first_response_due) - epoch_seconds(now)) // 60)
            out.append(Fanout(kind, payload=payload | {"minutes_left": left}, not_before=now, audience=audience(r.team, True), **about))
        elif kind == "incident.breached":
            out.append(Fanout(kind, payload=payload, not_before=now, audience=audience(r.team, False), **about))
            out.append(Fanout(kind, payload=payload, **to_contact, **about))
            escalation = payload | {"escalated_at": local_now, "reason": "the first-response target was breached (R-INC-2)"}
            out.append(Fanout("incident.escalated", payload=escalation, not_before=now, audience=audience(None, True), **about))
        elif kind == "incident.customer_response_missed":
            for asked in missed.get(r.id, []):
                out.append(Fanout(kind, payload=payload | {
                    "requested_at": calendar.localize(asked.at).isoformat(),
                    "response_due": calendar.localize(asked.customer_response_due).isoformat()},  # type: ignore[arg-type]
                    key_suffix=f":{asked.id}", **to_contact, **about))
    return enqueue_fanout(session, out, audiences, now=now)
