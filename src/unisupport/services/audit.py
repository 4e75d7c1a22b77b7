"""Recording audit events (who, when, before/after, why, rule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.services.scope import scoped
from unisupport.storage.tables import AuditEvent


def record_event(
    session: Session,
    *,
    customer_id: int | None,
    subject_type: str,
    subject_id: int,
    tag: str,
    actor: str,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    rule: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        customer_id=customer_id,
        subject_type=subject_type,
        subject_id=subject_id,
        tag=tag,
        actor=actor,
        at=at,
        before=before,
        after=after,
        reason=reason,
        rule=rule,
    )
    session.add(event)
    return event


def events_of(session: Session, *, customer_id: int, subject_type: str, subject_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.customer_id == customer_id,
                AuditEvent.subject_type == subject_type,
                AuditEvent.subject_id == subject_id,
            )
            .order_by(AuditEvent.id)
        )
    )


def audit_trail(
    session: Session, principal: Principal, *, subject_type: str, subject_id: int, limit: int
) -> list[AuditEvent]:
    """The audit events of a subject within the principal's scope, oldest first, at
    most ``limit``."""
    query = (
        scoped(
            select(AuditEvent).where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id),
            AuditEvent.customer_id,
            principal,
        )
        .order_by(AuditEvent.id)
        .limit(limit)
    )
    return list(session.scalars(query))
