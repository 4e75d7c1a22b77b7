"""An incident's conversation: its messages (public replies and customer messages,
internal notes), their attachments (bytes in the blob store, ``storage.blobs``) and
the addresses the incident is copied to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class MessageRow(Base):
    """One message on an incident. A public one from the provider is mailed (its
    ``recipients`` say to whom, with each copy's outbox row) and records an outbound
    e-mail communication; a public one from the customer records an inbound
    communication (R-SEV-2, R-SLA-4 work on those). Internal notes record nothing
    the customer can see."""

    __tablename__ = "incident_messages"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'internal')", name="visibility"),
        CheckConstraint("channel IN ('web', 'api', 'mail')", name="channel"),
        # A mail delivered twice (an MTA retry, an IMAP mailbox read again) is one message.
        UniqueConstraint("incident_id", "mail_message_id"),
        Index("ix_incident_messages_mail_message_id", "mail_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(8))
    from_customer: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(254))  # an e-mail address
    author_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # written, or received for mail
    body: Mapped[str] = mapped_column(Text)
    # Mailed replies: [{"email", "copy": bool, "language", "outbox": id}, …]
    recipients: Mapped[list | None] = mapped_column(Document)
    communication_id: Mapped[int | None] = mapped_column(ForeignKey("incident_communications.id"))
    mail_message_id: Mapped[str | None] = mapped_column(String(998))  # inbound mail's own Message-ID
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list | None] = mapped_column(Document)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AttachmentRow(Base):
    """A file on an incident: uploaded first (``message_id`` null, seen by its
    uploader only), then carried by one message, whose visibility it takes."""

    __tablename__ = "incident_attachments"
    __table_args__ = (CheckConstraint("size > 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("incident_messages.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    inline: Mapped[bool] = mapped_column(Boolean)  # an image shown in a mail's text
    original: Mapped[bool] = mapped_column(Boolean)  # the whole mail as received (.eml)
    uploaded_by: Mapped[str] = mapped_column(String(254))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CopyRow(Base):
    """An address the incident's public messages are mailed to besides its contact."""

    __tablename__ = "incident_copies"
    __table_args__ = (UniqueConstraint("incident_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    added_by: Mapped[str] = mapped_column(String(254))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
