"""Failed sign-ins, and who signed in and out, as audit events.

Failed sign-ins are rate-limited without a table of their own: each failure is an
audit event (tag ``auth:failure``, subject ``login`` keyed by the client address,
actor the e-mail typed), and the pages refuse a sign-in while the e-mail has
:data:`MAX_FAILURES_PER_EMAIL` failures, or the address :data:`MAX_FAILURES_PER_ADDRESS`,
in the last :data:`WINDOW`. Counting rows in the database, rather than in memory,
holds across every worker process and machine."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.services.audit import record_event
from unisupport.storage.tables import AuditEvent

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
# Higher: an office behind one address shares it.
MAX_FAILURES_PER_ADDRESS = 20
FAILURE = "auth:failure"


def _address_key(address: str) -> int:
    # The audit table's index is (subject_type, subject_id): a 31-bit digest of the
    # address makes the per-address count an indexed lookup.
    return zlib.crc32(address.encode()) & 0x7FFFFFFF


def recent_failures(session: Session, *, email: str, address: str, now: datetime) -> tuple[int, int]:
    """Failures in the last :data:`WINDOW` for this e-mail and for this address."""
    recent = (
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.subject_type == "login",
            AuditEvent.tag == FAILURE,
            AuditEvent.at > now - WINDOW,
            AuditEvent.at <= now,
        )
    )
    by_email = session.scalar(recent.where(AuditEvent.actor == email)) or 0
    by_address = (
        session.scalar(
            recent.where(AuditEvent.subject_id == _address_key(address), AuditEvent.reason == f"from {address}")
        )
        or 0
    )
    return by_email, by_address


def too_many_failures(session: Session, *, email: str, address: str, now: datetime) -> bool:
    """Whether a sign-in with this e-mail from this address is refused for now."""
    by_email, by_address = recent_failures(session, email=email, address=address, now=now)
    return by_email >= MAX_FAILURES_PER_EMAIL or by_address >= MAX_FAILURES_PER_ADDRESS


def record_failure(session: Session, *, email: str, address: str, now: datetime) -> None:
    record_event(
        session,
        customer_id=None,
        subject_type="login",
        subject_id=_address_key(address),
        tag=FAILURE,
        actor=email or "(none)",
        at=now,
        reason=f"from {address}",
    )


def record_sign_in(session: Session, principal: Principal, *, address: str, now: datetime) -> None:
    _record_user_event(session, principal, "auth:sign-in", now=now, reason=f"from {address}")


def record_sign_out(session: Session, principal: Principal, *, now: datetime) -> None:
    _record_user_event(session, principal, "auth:sign-out", now=now)


def _record_user_event(
    session: Session, principal: Principal, tag: str, *, now: datetime, reason: str | None = None
) -> None:
    record_event(
        session,
        customer_id=principal.customer_id,
        subject_type="user",
        subject_id=principal.user_id,
        tag=tag,
        actor=principal.email,
        at=now,
        reason=reason,
    )
