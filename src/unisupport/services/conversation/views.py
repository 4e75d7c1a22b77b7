"""What the API and the pages show of an incident's messages and files, times in the
site's zone. A customer's view never holds an internal note, nor a file one carries,
nor how the outbox is doing (provider users see each copy's delivery)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.services.conversation.messages import visible_messages
from unisupport.sla.calendar import Calendar
from unisupport.storage.tables import AttachmentRow, CommunicationRow, IncidentRow, MessageRow, OutboxRow


@dataclass(frozen=True)
class ThreadMessage:
    """A message with what it shows beside itself."""

    message: MessageRow
    files: list[AttachmentRow]
    communication: CommunicationRow | None
    deliveries: dict[int, OutboxRow]  # outbox id → row, provider users only


def thread_messages(session: Session, principal: Principal, incident: IncidentRow) -> list[ThreadMessage]:
    """The messages ``principal`` sees, oldest first, with their files, their
    communications and (provider users) their copies' outbox rows: four queries."""
    messages = visible_messages(session, principal, incident)
    ids = [m.id for m in messages]
    files: dict[int, list[AttachmentRow]] = {}
    for f in session.scalars(select(AttachmentRow).where(AttachmentRow.message_id.in_(ids)).order_by(AttachmentRow.id)):
        files.setdefault(f.message_id, []).append(f)  # type: ignore[arg-type]
    communications = {
        c.id: c
        for c in session.scalars(
            select(CommunicationRow).where(
                CommunicationRow.id.in_([m.communication_id for m in messages if m.communication_id])
            )
        )
    }
    outbox_ids = [r["outbox"] for m in messages for r in (m.recipients or []) if r.get("outbox")]
    deliveries = (
        {o.id: o for o in session.scalars(select(OutboxRow).where(OutboxRow.id.in_(outbox_ids)))}
        if principal.role.is_provider and outbox_ids
        else {}
    )
    return [
        ThreadMessage(
            m,
            files.get(m.id, []),
            communications.get(m.communication_id) if m.communication_id else None,
            deliveries,
        )
        for m in messages
    ]


def attachment_view(a: AttachmentRow, calendar: Calendar) -> dict[str, Any]:
    return {
        "id": a.id,
        "message": a.message_id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "inline": a.inline,
        "original": a.original,
        "uploaded_by": a.uploaded_by,
        "uploaded_at": calendar.localize(a.uploaded_at).isoformat(),
        "download": f"/api/v1/incidents/{a.incident_id}/attachments/{a.id}",
    }


def _delivery(row: OutboxRow | None, calendar: Calendar) -> dict[str, Any]:
    if row is None:
        return {"status": "unknown"}
    return {
        "status": row.status,
        "sent_at": calendar.localize(row.sent_at).isoformat() if row.sent_at else None,
        "error": row.last_error if row.status == "failed" else None,
        "message_id": row.message_id,
    }


def message_view(item: ThreadMessage, calendar: Calendar, *, provider: bool) -> dict[str, Any]:
    m, c = item.message, item.communication

    def when(value: datetime | None) -> str | None:
        return None if value is None else calendar.localize(value).isoformat()

    recipients = []
    for r in m.recipients or []:
        entry = {"email": r["email"], "copy": r.get("copy", False), "language": r.get("language")}
        if provider:
            entry["delivery"] = _delivery(item.deliveries.get(r.get("outbox") or 0), calendar)
        recipients.append(entry)
    view: dict[str, Any] = {
        "id": m.id,
        "visibility": m.visibility,
        "from_customer": m.from_customer,
        "channel": m.channel,
        "author": m.author,
        "author_name": m.author_name,
        "at": when(m.at),
        "body": m.body,
        "attachments": [attachment_view(f, calendar) for f in item.files],
        "recipients": recipients,
        "communication": m.communication_id,
        "first_response": bool(c and c.first_response),
        "needs_answer": bool(c and c.requests_customer_action),
        "answer_due": when(c.customer_response_due) if c else None,
        "mail_message_id": m.mail_message_id,
    }
    return view
