"""How often a password may be tried, per account and per address, without letting
a stranger lock a user out (docs/decisions.md D52).

Each failed sign-in is an audit event (tag ``auth:failure``, subject ``login`` keyed
by the client address, actor the e-mail typed); counting them in the database, not
in memory, holds across every worker process and machine. Within :data:`WINDOW`:

* **an address** with :data:`MAX_FAILURES_PER_ADDRESS` failures, whatever the
  accounts, is refused until the window has passed (it is the guesser's own);
* **an account from one address**: :data:`MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS`
  failures refuse that account from that address until the window has passed;
* **an account from everywhere**: past :data:`FREE_FAILURES_PER_ACCOUNT`, attempts on
  it are *slowed*, not refused: each must come :func:`backoff` after the account's
  last failure (1 s, doubling, at most :data:`MOST_BACKOFF`) — except from an
  address the account signed in from in the last :data:`KNOWN_FOR`, which failures
  elsewhere never slow. The right password from the user's own address works
  whoever else is guessing.

A refused attempt is neither checked nor counted. The address is the peer's, or the
one a trusted proxy forwarded (``UNISUPPORT_TRUSTED_PROXIES``, ``api.app``)."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.services.audit import record_event
from unisupport.storage.tables import AuditEvent, UserRow

WINDOW = timedelta(minutes=15)
# Higher than per account: an office behind one address shares it.
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
FREE_FAILURES_PER_ACCOUNT = 5
FIRST_BACKOFF = timedelta(seconds=1)
MOST_BACKOFF = timedelta(minutes=1)
KNOWN_FOR = timedelta(days=30)
FAILURE = "auth:failure"
SIGN_IN = "auth:sign-in"


@dataclass(frozen=True)
class Wait:
    """Why an attempt is refused now, and for how many seconds (``Retry-After``)."""

    slowed: bool  # True: the account's back-off; False: the window's limit
    seconds: int


def address_key(address: str) -> int:
    # The audit table's index is (subject_type, subject_id): a 31-bit digest of the
    # address makes the per-address count an indexed lookup.
    return zlib.crc32(address.encode()) & 0x7FFFFFFF


def backoff(failures: int) -> timedelta:
    """The wait after an account's last failure, once it has ``failures`` (≥ the free ones)."""
    return min(FIRST_BACKOFF * 2 ** max(failures - FREE_FAILURES_PER_ACCOUNT, 0), MOST_BACKOFF)


def wait_before_trying(session: Session, *, email: str, address: str, now: datetime) -> Wait | None:
    """None when ``email`` may be tried from ``address`` now, else the :class:`Wait`."""
    recent = (
        AuditEvent.subject_type == "login",
        AuditEvent.tag == FAILURE,
        AuditEvent.at > now - WINDOW,
        AuditEvent.at <= now,
    )
    from_here = (AuditEvent.subject_id == address_key(address), AuditEvent.reason == f"from {address}")
    locked = Wait(slowed=False, seconds=int(WINDOW.total_seconds()))
    if (session.scalar(select(func.count()).where(*recent, *from_here)) or 0) >= MAX_FAILURES_PER_ADDRESS:
        return locked
    here = func.sum(case((from_here[0] & from_here[1], 1), else_=0))
    total, from_address, last = session.execute(
        select(func.count(), here, func.max(AuditEvent.at)).where(*recent, AuditEvent.actor == email)
    ).one()
    if (from_address or 0) >= MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS:
        return locked
    if total < FREE_FAILURES_PER_ACCOUNT:
        return None
    remaining = (last + backoff(total) - now).total_seconds()
    if remaining <= 0 or _known_address(session, email=email, address=address, now=now):
        return None
    return Wait(slowed=True, seconds=math.ceil(remaining))


def _known_address(session: Session, *, email: str, address: str, now: datetime) -> bool:
    user_id = session.scalar(select(UserRow.id).where(UserRow.email == email))
    if user_id is None:
        return False
    signed_in = select(AuditEvent.id).where(
        AuditEvent.subject_type == "user",
        AuditEvent.subject_id == user_id,
        AuditEvent.tag == SIGN_IN,
        AuditEvent.reason == f"from {address}",
        AuditEvent.at > now - KNOWN_FOR,
        AuditEvent.at <= now,
    )
    return session.scalar(signed_in.limit(1)) is not None


def record_failure(session: Session, *, email: str, address: str, now: datetime) -> None:
    record_event(
        session,
        customer_id=None,
        subject_type="login",
        subject_id=address_key(address),
        tag=FAILURE,
        actor=email or "(none)",
        at=now,
        reason=f"from {address}",
    )


def record_sign_in(session: Session, principal: Principal, *, address: str, now: datetime) -> None:
    _record_user_event(session, principal, SIGN_IN, now=now, reason=f"from {address}")


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
