"""The notification outbox: every e-mail the watcher and the services want sent is
first a row here, written in the same transaction as the change it announces, then
delivered by a worker (``unisupport.notifications.delivery``).

A row is queued once (``dedupe_key`` is unique), held until ``not_before`` (the
site's business hours for customer notifications about business-hours incidents),
claimed by one worker at a time (``status`` ``sending``, ``claimed_by``,
``claimed_at``, ``claim_key``; the claim of a worker known to be gone, or older than
the lease, is taken over: ``notifications.outbox.claim``), and ends ``sent`` or
``failed``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime

STATUSES = ("pending", "sending", "sent", "failed", "withheld")  # withheld: refused by its recipient (R-COM-1)
LANGUAGES = ("en", "fr")


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'withheld')", name="status"),
        CheckConstraint("language IN ('en', 'fr')", name="language"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The workers' query: what is due, and which claims have gone stale.
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Not indexed: nothing reads the outbox by customer (migration 0024, D147).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(64))  # incident.breached, booking.cancelled, …
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(Document)  # what the template needs: strings and numbers
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    # The site whose business hours the mail must go out in (retries and a worker's
    # backlog included); null: any time.
    business_hours_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The delivery run holding the claim: on PostgreSQL it holds an advisory lock on
    # this key while it lives (null: a claim made without one; only the lease frees it).
    claim_key: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(254))
    # Headers of this mail besides the usual ones (Reply-To, In-Reply-To, References).
    headers: Mapped[dict | None] = mapped_column(Document)
    # Files to attach, by reference to the blob store (never the bytes):
    # [{"sha256", "filename", "content_type", "size", "inline"}, …]
    attachments: Mapped[list | None] = mapped_column(Document)
