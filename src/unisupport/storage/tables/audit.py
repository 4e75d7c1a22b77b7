"""Audit events: every change a customer or an auditor may ask about, with who,
when, what before and after, why, and under which rule (namespaced tags such as
``order:amend``, ``contact:update``, ``booking:cancel``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    tag: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[dict | None] = mapped_column(Document)
    after: Mapped[dict | None] = mapped_column(Document)
    reason: Mapped[str | None] = mapped_column(String(1000))
    rule: Mapped[str | None] = mapped_column(String(16))
