"""A customer's mail recorded on its incident (the mail-in side finds the incident
and calls :func:`record_inbound_message`; docs/decisions.md D77).

The mail becomes a public customer message, with its files and the original mail
(``.eml``) as attachments, and an inbound e-mail communication through
``add_communication``, which answers the provider's pending requests (R-SLA-4) at
the instant the mail was received. A mail processed more than a minute after it
arrived (a mailbox read late) is recorded at its arrival, and the timeline says it
was logged after the fact. The same mail delivered twice (an MTA retry, a mailbox
read again) is recorded once. A mail on a closed incident reopens it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import SYSTEM
from unisupport.clock import SystemClock
from unisupport.incidents.attachment import content_type, safe_name
from unisupport.incidents.communication import Direction, Medium
from unisupport.incidents.conversation import Visibility
from unisupport.incidents.requests import CommunicationIn
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.services.conversation.attachments import default_blob_store
from unisupport.services.conversation.messages import add_message
from unisupport.services.incidents.communications import add_communication
from unisupport.services.incidents.lifecycle import reopen
from unisupport.sla.calendar import epoch_seconds
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import AttachmentRow, ContactRow, IncidentRow, MessageRow

LATE = timedelta(seconds=60)  # processed later than this after arrival: recorded at the arrival
COMMUNICATION_TEXT = 20000  # a communication's body holds this much of the mail's text
ORIGINAL_NAME = "original-message.eml"


class InboundAttachment(Protocol):
    """A file of a received mail (the mail-in side's frozen dataclass,
    ``mail_in.message.InboundAttachment``, has these attributes; read-only here, so
    that a frozen dataclass fits)."""

    @property
    def filename(self) -> str | None: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def data(self) -> bytes: ...
    @property
    def inline(self) -> bool: ...


def _summary(body: str, attachments: Sequence[InboundAttachment]) -> str:
    text = body.strip()
    if not text:
        return f"(an e-mail without text, {len(attachments)} attachment(s))"
    return text if len(text) <= COMMUNICATION_TEXT else text[: COMMUNICATION_TEXT - 1] + "…"


def record_inbound_message(
    session: Session,
    incident: IncidentRow,
    *,
    sender_email: str,
    contact: ContactRow | None,
    body: str,
    message_id: str,
    in_reply_to: str | None,
    references: list[str],
    received_at: datetime,
    attachments: Sequence[InboundAttachment],
    original_eml: bytes,
    now: datetime | None = None,
    blobs: BlobStore | None = None,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> MessageRow:
    """Record a customer's mail on ``incident`` and return its message (see the
    module); a mail already recorded (same Message-ID) returns the first record.
    ``now`` defaults to the system clock, ``blobs`` to the environment's store."""
    existing = session.scalar(
        select(MessageRow).where(MessageRow.incident_id == incident.id, MessageRow.mail_message_id == message_id)
    )
    if existing is not None:
        return existing
    now = now or SystemClock().now()
    blobs = blobs or default_blob_store()
    sender = sender_email.strip().lower()
    at = received_at
    if epoch_seconds(at) > epoch_seconds(now):
        at = now  # a sender's clock, or a server's, ahead of ours
    if epoch_seconds(at) < epoch_seconds(incident.opened_at):
        at = incident.opened_at
    if incident.status == "closed":
        reopen(session, incident, actor=sender, reason="the customer wrote by e-mail", now=now)
    communication = add_communication(
        session,
        SYSTEM,
        incident.id,
        CommunicationIn(
            direction=Direction.INBOUND,
            medium=Medium.EMAIL,
            body=_summary(body, attachments),
            at=at if epoch_seconds(now) - epoch_seconds(at) > LATE.total_seconds() else None,
        ),
        now=now,
        settings=settings,
        author=sender,
    )
    message = add_message(
        session,
        incident,
        visibility=Visibility.PUBLIC,
        from_customer=True,
        channel="mail",
        author=sender,
        author_name=contact.name if contact is not None else None,
        at=communication.at,
        body=body,
        communication_id=communication.id,
        now=now,
        mail_message_id=message_id,
        in_reply_to=in_reply_to,
        references=list(references),
    )
    files = [
        (safe_name(a.filename), a.data, content_type(a.data), bool(a.inline), False) for a in attachments if a.data
    ]
    if original_eml:
        files.append((ORIGINAL_NAME, original_eml, "message/rfc822", False, True))
    session.add_all(
        AttachmentRow(
            customer_id=incident.customer_id,
            incident_id=incident.id,
            message_id=message.id,
            sha256=blobs.put(data),
            size=len(data),
            filename=name,
            content_type=kind,
            inline=inline,
            original=original,
            uploaded_by=sender,
            uploaded_at=now,
        )
        for name, data, kind, inline, original in files
    )
    session.flush()
    return message
