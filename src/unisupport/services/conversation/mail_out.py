"""A provider's public reply, mailed through the outbox (docs/decisions.md D74, D76).

In the reply's own transaction, one outbox row per recipient — the incident's
contact and each address it is copied to — each in that person's language (their
user's, else their contact's, else the site's), so the reply goes out exactly when
it was committed, and the outbox's claim and stable Message-ID make every re-send
after a crash the same message. Each copy is addressed to its recipient alone (the
text names the others): the envelope and the headers agree, and an answer comes
back through ``Reply-To`` — ``local+<token>@domain`` — to the incident rather than
around it. The files travel by reference to the blob store; the worker reads them
when it sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.incidents.attachment import size_text
from unisupport.incidents.conversation import reply_address
from unisupport.incidents.settings import IncidentSettings
from unisupport.notifications.outbox import enqueue
from unisupport.notifications.wording import mail_language
from unisupport.services.conversation.copies import copies_of
from unisupport.services.incident_notifications import incident_payload
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import (
    AttachmentRow,
    ContactRow,
    CustomerRow,
    IncidentRow,
    MessageRow,
    SiteRow,
    UserRow,
)

KIND = "incident.reply"
THREAD_REFERENCES = 10  # the customer's latest mails a reply references (beside the root)


def recipient_languages(session: Session, customer_id: int, emails: list[str], fallback: str) -> dict[str, str]:
    """Each address's mail language: its user's, else the customer's contact's, else ``fallback``."""
    users = dict(session.execute(select(UserRow.email, UserRow.language).where(UserRow.email.in_(emails))).all())
    contacts = dict(
        session.execute(
            select(ContactRow.email, ContactRow.language).where(
                ContactRow.customer_id == customer_id, ContactRow.email.in_(emails)
            )
        ).all()
    )
    return {e: mail_language(users.get(e) or contacts.get(e) or fallback) for e in emails}


def _thread(session: Session, incident: IncidentRow, message: MessageRow) -> tuple[str | None, list[str]]:
    """The customer's latest mail before ``message`` (what it answers) and the ones
    before it, by their Message-IDs."""
    ids = [
        i
        for i in session.scalars(
            select(MessageRow.mail_message_id)
            .where(
                MessageRow.incident_id == incident.id,
                MessageRow.mail_message_id.is_not(None),
                MessageRow.id != message.id,
            )
            .order_by(MessageRow.at.desc(), MessageRow.id.desc())
            .limit(THREAD_REFERENCES)
        )
        if i
    ]
    ids.reverse()
    return (ids[-1] if ids else None), ids


def queue_reply(
    session: Session,
    incident: IncidentRow,
    message: MessageRow,
    files: list[AttachmentRow],
    *,
    now: datetime,
    settings: IncidentSettings,
) -> list[dict[str, Any]]:
    """Queue ``message`` to everyone it goes to; returns who, in which language, and
    each copy's outbox row (the message's ``recipients``)."""
    contact = session.get(ContactRow, incident.contact_id)
    site = session.get(SiteRow, incident.site_id)
    customer = session.get(CustomerRow, incident.customer_id)
    assert site is not None  # an incident always has its site (foreign key)
    to = [contact.email.lower()] if contact is not None else []
    copies = [c.email for c in copies_of(session, incident) if c.email not in to]
    everyone = to + copies
    languages = recipient_languages(session, incident.customer_id, everyone, site.language)
    calendar = site_calendar(site)
    payload = incident_payload(incident, site, customer.name if customer else "", calendar) | {
        "incident_id": incident.id,
        "body": message.body,
        "author": message.author_name or message.author,
        "written_at": calendar.localize(message.at).isoformat(),
        "to": ", ".join(to),
        "copies": ", ".join(copies),
        "files": ", ".join(f"{f.filename} ({size_text(f.size)})" for f in files),
    }
    parent, references = _thread(session, incident, message)
    headers: dict[str, str] = {}
    if settings.reply_address:
        headers["Reply-To"] = reply_address(settings.reply_address, incident.reply_token)
    if parent:
        headers["In-Reply-To"] = parent
    if references:
        headers["References"] = " ".join(references)
    attachments = [
        {"sha256": f.sha256, "filename": f.filename, "content_type": f.content_type, "size": f.size, "inline": f.inline}
        for f in files
    ]
    out = []
    for email in everyone:
        outbox_id = enqueue(
            session,
            kind=KIND,
            recipient=email,
            language=languages[email],
            subject_type="incident",
            subject_id=incident.id,
            payload=payload,
            dedupe_key=f"incident:{incident.id}:message:{message.id}:{email}",
            not_before=now,  # a person's answer goes at once, whatever the hour
            customer_id=incident.customer_id,
            now=now,
            headers=headers,
            attachments=attachments,
        )
        out.append({"email": email, "copy": email in copies, "language": languages[email], "outbox": outbox_id})
    return out
