"""Communications users can refuse (R-COM-1) and satisfaction surveys (R-CSAT-1).

``mail_preferences``: one row per address and optional kind of mail (announcement,
newsletter, briefing, survey) once its owner chose; no row is "sent" (the default).
Each change is also an audit event (``mail:refused``, ``mail:accepted``).

``surveys``: one survey per occasion — an incident closed, a booking delivered, a
period of an order — unique on ``(occasion, subject_id, period)`` so that it is
mailed exactly once; its answer (score 1–5, comment) is written once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class MailPreferenceRow(Base):
    __tablename__ = "mail_preferences"
    __table_args__ = (UniqueConstraint("address", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254))  # lower case
    category: Mapped[str] = mapped_column(String(32))  # announcement, newsletter, briefing, survey
    refused: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    changed_by: Mapped[str] = mapped_column(String(254))  # the user, or "one-click" from the mail
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)


class SurveyRow(Base):
    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("occasion", "subject_id", "period"),
        CheckConstraint("occasion IN ('incident', 'booking', 'order')", name="occasion"),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score"),
        Index("ix_surveys_customer_sent", "customer_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    occasion: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)  # the incident, booking or order
    period: Mapped[str] = mapped_column(String(16))  # "" for incidents and bookings; the order's period number
    reference: Mapped[str] = mapped_column(String(64))  # INC-2026-0042, the service's code, the order number
    service: Mapped[str] = mapped_column(String(64))  # the product of an incident, the service of a booking
    team: Mapped[str | None] = mapped_column(String(64))  # the engineers' team (an incident's routing team)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())  # queued in the outbox
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_via: Mapped[str | None] = mapped_column(String(16))  # mail (the signed link) or portal
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(2000))
    # Not mailed: the contact refused surveys (R-COM-1) when it was due; kept for the response rate.
    withheld: Mapped[bool] = mapped_column(Boolean, default=False)


class AnnouncementRow(Base):
    """An announcement to the contacts of chosen customers (R-COM-1, optional kind
    ``announcement``): what was said, in both languages, by whom, to whom."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_en: Mapped[str] = mapped_column(String(200))
    subject_fr: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(String(10000))
    body_fr: Mapped[str] = mapped_column(String(10000))
    customers: Mapped[list] = mapped_column(Document)  # customer codes
    queued: Mapped[int] = mapped_column(Integer)  # mails queued
    refused: Mapped[int] = mapped_column(Integer)  # contacts who refused announcements
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
