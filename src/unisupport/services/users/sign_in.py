"""Who is asking: the principal of a user, of a web session, of an email and password, and the
end of a user's web sessions. A password that does not lead to a usable user yields ``None`` —
never a reason, so that a caller learns nothing about which part was wrong."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import NotFound
from unisupport.services.users.accounts import audit_user, contact_fits, user_by_email
from unisupport.services.users.passwords import HASHER, dummy_hash
from unisupport.storage.tables import (
    ContactRow,
    CsamAssignmentRow,
    EndedSessionRow,
    SiteRow,
    TeamMemberRow,
    TeamRow,
    UserRow,
)

# --- who is asking --------------------------------------------------------------


def usable(session: Session, user: UserRow | None) -> bool:
    """Active, and for a customer user still a designated contact whose roles fit
    (a contact withdrawn from the order loses access with it, R-ORD-4)."""
    if user is None or not user.active:
        return False
    role = Role(user.role)
    if role.is_customer:
        contact = session.get(ContactRow, user.contact_id) if user.contact_id else None
        return contact is not None and contact.customer_id == user.customer_id and contact_fits(role, contact)
    return True


def principal_for_user(session: Session, user_id: int) -> Principal:
    """The principal of a user, with its teams and assigned customers loaded. It does
    not check that the user may sign in: see :func:`active_principal`."""
    user = session.get(UserRow, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", field="user")
    teams: Iterable[str] = ()
    assigned: Iterable[int] = ()
    if Role(user.role).is_provider:  # customer users join no team and are assigned no customer
        teams = session.scalars(
            select(TeamRow.code)
            .join(TeamMemberRow, TeamMemberRow.team_id == TeamRow.id)
            .where(TeamMemberRow.user_id == user.id)
        )
        assigned = session.scalars(select(CsamAssignmentRow.customer_id).where(CsamAssignmentRow.user_id == user.id))
    return Principal(
        user_id=user.id,
        email=user.email,
        role=Role(user.role),
        customer_id=user.customer_id,
        teams=frozenset(teams),
        assigned_customers=frozenset(assigned),
        language=user.language,
    )


def active_principal(
    session: Session, user_id: int, *, signed_in_at: datetime | None = None, session_id: str | None = None
) -> Principal | None:
    """The principal of a user who may still act (for a signed-in web session), else
    None — also when the session, signed in at ``signed_in_at``, was ended since
    (:func:`end_sessions`, a password change), or when the session ``session_id``
    was signed out (:func:`end_session`)."""
    user = session.get(UserRow, user_id)
    if user is None or not usable(session, user):
        return None
    ended = user.sessions_valid_from
    if ended is not None and signed_in_at is not None and int(signed_in_at.timestamp()) < int(ended.timestamp()):
        return None
    if session_id is not None and session.get(EndedSessionRow, _session_hash(session_id)) is not None:
        return None
    return principal_for_user(session, user.id)


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def end_session(session: Session, *, session_id: str, user_id: int, expires_at: datetime, now: datetime) -> None:
    """Sign one web session out: from now on its cookie, though signed and not yet
    expired, opens nothing (the user's other browsers stay signed in). Sessions
    whose cookies have expired anyway are forgotten here."""
    session.execute(delete(EndedSessionRow).where(EndedSessionRow.expires_at <= now))
    key = _session_hash(session_id)
    if session.get(EndedSessionRow, key) is None:
        session.add(EndedSessionRow(session_hash=key, user_id=user_id, ended_at=now, expires_at=expires_at))
        session.flush()


def end_sessions(session: Session, *, email: str, actor: str, now: datetime) -> UserRow:
    """Sign a user out of every web session now (a lost laptop, a shared password),
    without deactivating them; their API tokens are revoked apart (``revoke_token``).
    Sessions are compared to the second: one signed in later in the same second
    stays."""
    user = user_by_email(session, email)
    before = user.sessions_valid_from
    user.sessions_valid_from = now
    session.flush()
    audit_user(
        session,
        user,
        "user:sessions-ended",
        actor=actor,
        now=now,
        before={"sessions_valid_from": before.isoformat() if before else None},
        after={"sessions_valid_from": now.isoformat()},
    )
    return user


# Every API request runs this query: built once, with a bound parameter (building a


def principal_for_password(session: Session, email: str, password: str) -> Principal | None:
    """Who signs in with this email and password, or None. An unknown email costs
    the same argon2 verification as a wrong password, so timing does not tell
    which emails exist. A hash made with older parameters is replaced."""
    user = session.scalar(select(UserRow).where(UserRow.email == (email or "").strip().lower()))
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        HASHER.verify(stored or dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or stored is None or not usable(session, user):
        return None
    if HASHER.check_needs_rehash(stored):
        # Same secret, stronger parameters: not a change anyone asks about, so no audit event.
        user.password_hash = HASHER.hash(password)
        session.flush()
    return principal_for_user(session, user.id)


def viewer_zone(session: Session, principal: Principal) -> str:
    """The one zone a user's pages show times in (docs/decisions.md D60): their own
    (``users.timezone``), else a customer user's support site's, else UTC."""
    user = session.get(UserRow, principal.user_id)
    if user is not None and user.timezone:
        return user.timezone
    site = home_site(session, principal)
    return site.timezone if site is not None else "UTC"


def home_site(session: Session, principal: Principal) -> SiteRow | None:
    """The support site of a customer user's designated contact (R-ORD-4), whose
    zone the portal shows times in; None for provider users (they see each
    incident in its own site's zone) and for a contact without a site."""
    if principal.role.is_provider:
        return None
    user = session.get(UserRow, principal.user_id)
    contact = session.get(ContactRow, user.contact_id) if user is not None and user.contact_id else None
    if contact is None or contact.site_id is None:
        return None
    return session.get(SiteRow, contact.site_id)
