"""Every mail that reached the support address, once (by Message-ID), with what
became of it: the record that makes mail-in idempotent (a mail fetched twice, or
handled again after a crash, is recognised) and that ``mail-in --status`` reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, UTCDateTime

OUTCOMES = ("attached", "reopened", "opened", "opened-linked", "refused", "ignored", "failed")


class InboundMailRow(Base):
    __tablename__ = "inbound_mails"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('attached', 'reopened', 'opened', 'opened-linked', 'refused', 'ignored', 'failed')",
            name="outcome",
        ),
        # The one-answer-an-hour rule reads the last answer to a sender.
        Index("ix_inbound_mails_sender_answered", "sender", "answered_at"),
        Index("ix_inbound_mails_outcome", "outcome", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)  # "<…>"; synthetic when the mail had none
    source: Mapped[str] = mapped_column(String(16))  # imap, stdin
    sender: Mapped[str] = mapped_column(String(254))  # lower-case; "" when the mail had none
    subject: Mapped[str] = mapped_column(String(500))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(16))
    via: Mapped[str | None] = mapped_column(String(16))  # reply-token, references, subject
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    message_row_id: Mapped[int | None] = mapped_column(Integer)  # the incident message it became
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the polite answer, when one was queued
    mailbox_uid: Mapped[str | None] = mapped_column(String(64))  # "UIDVALIDITY:UID" for IMAP mail
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
