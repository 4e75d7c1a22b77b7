"""Webhooks (docs/webhooks.md): subscriptions, the events written with the changes
they announce, one delivery per event and subscription, and the log of every attempt.

An event is one row whatever the number of subscribers; its deliveries are fanned
out in the same statement family and the same transaction (``notifications.webhooks``).
A delivery is claimed by one worker at a time (``status`` ``sending``, ``claimed_by``,
``claimed_at``, ``claim_key``, as the outbox's), sent with the same ``webhook-id`` on
every try, and ends ``delivered`` or ``failed``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime

DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The customer whose events it receives; null: every customer's (provider admins only).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200))
    # Internal events too (internal notes): provider subscriptions only.
    internal: Mapped[bool] = mapped_column(Boolean)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…, shown once at creation
    owner_email: Mapped[str] = mapped_column(String(254))  # who is told when it is disabled
    owner_language: Mapped[str] = mapped_column(String(2))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean)
    failures_in_a_row: Mapped[int] = mapped_column(Integer)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookSubscriptionEventRow(Base):
    """One event type a subscription receives (a row each, so the fan-out is a join)."""

    __tablename__ = "webhook_subscription_events"
    __table_args__ = (Index("ix_webhook_subscription_events_type", "event_type", "subscription_id"),)

    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), primary_key=True)


class WebhookEventRow(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_key", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The incident the event is about: deliveries of one incident go out in order.
    incident_id: Mapped[int | None] = mapped_column(Integer)
    internal: Mapped[bool] = mapped_column(Boolean)  # only for subscriptions that receive internal events
    payload: Mapped[dict] = mapped_column(Document)  # the JSON body sent (type, timestamp, data)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Random, drawn once per publishing statement: finds the events it wrote for their
    # fan-out, and makes webhook-ids unique across databases.
    key: Mapped[str] = mapped_column(String(32))


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'delivered', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "not_before", "id"),
        # The order per incident: an earlier delivery of the same incident and subscription.
        Index("ix_webhook_deliveries_chain", "subscription_id", "incident_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime())  # 24 hours after the change (or a redelivery)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_key: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class WebhookAttemptRow(Base):
    """The delivery log: one row per try (status code, duration, an excerpt of the answer)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_subscription", "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # delivered, http-error, timeout, unreachable, refused
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    excerpt: Mapped[str | None] = mapped_column(String(500))  # the answer's start, or the error
