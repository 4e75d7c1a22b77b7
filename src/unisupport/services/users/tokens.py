"""API tokens: created once in clear, kept as a hash and a prefix, revoked, and who presents one
(``None`` when it leads to no usable user, never a reason)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.services.audit import record_event
from unisupport.services.users.accounts import user_by_email
from unisupport.services.users.sign_in import principal_for_user, usable
from unisupport.storage.tables import ApiTokenRow, ContactRow, UserRow

TOKEN_SCHEME = "us_"
TOKEN_PREFIX_LENGTH = 8
# Writing last_used_at on every request would turn each API read into a write (see
# api.unit: reads write it after the read, in a short transaction of their own).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def list_tokens(session: Session, *, user_email: str | None = None) -> list[tuple[ApiTokenRow, str]]:
    """Tokens (newest first) with their user's email; never the token itself."""
    query = select(ApiTokenRow, UserRow.email).join(UserRow, UserRow.id == ApiTokenRow.user_id)
    if user_email is not None:
        query = query.where(UserRow.id == user_by_email(session, user_email, field="user").id)
    return [(token, email) for token, email in session.execute(query.order_by(ApiTokenRow.id.desc()))]


# --- tokens ---------------------------------------------------------------------


def hash_token(token: str) -> str:
    """SHA-256 hex of the whole token (why a fast hash: see ``ApiTokenRow``)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, *, user_email: str, label: str | None = None, actor: str, now: datetime
) -> tuple[str, ApiTokenRow]:
    """A new API token for a user: ``(plain token, row)``. The plain token exists
    only in the return value; the row keeps its hash and its first 8 characters."""
    user = user_by_email(session, user_email, field="user")
    if not user.active:
        raise InvalidInput(f"{user.email} is inactive", field="user")
    label = (label or "").strip() or None
    if label is not None and len(label) > 200:
        raise InvalidInput("a label has at most 200 characters", field="label")
    token = TOKEN_SCHEME + secrets.token_urlsafe(32)  # 32 random bytes, url-safe base64, no padding
    row = ApiTokenRow(
        user_id=user.id, prefix=token[:TOKEN_PREFIX_LENGTH], token_hash=hash_token(token), label=label, created_at=now
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        customer_id=user.customer_id,
        subject_type="api_token",
        subject_id=row.id,
        tag="token:create",
        actor=actor,
        at=now,
        after={"user": user.email, "prefix": row.prefix, "label": label},
    )
    return token, row


def revoke_token(
    session: Session, *, prefix: str, user_email: str | None = None, actor: str, now: datetime
) -> ApiTokenRow:
    """Revoke the token shown as ``prefix`` (with ``user_email`` when two users'
    tokens share a prefix). Revoking a revoked token changes nothing."""
    query = select(ApiTokenRow).where(ApiTokenRow.prefix == prefix).order_by(ApiTokenRow.id.desc())
    if user_email is not None:
        query = query.where(ApiTokenRow.user_id == user_by_email(session, user_email, field="user").id)
    candidates = list(session.scalars(query))
    if not candidates:
        raise NotFound(f"no token {prefix!r}", field="prefix")
    live = [t for t in candidates if t.revoked_at is None]
    if len(live) > 1:
        raise InvalidInput(f"{len(live)} tokens start with {prefix!r}; name the user too", field="prefix")
    if not live:
        return candidates[0]
    token = live[0]
    token.revoked_at = now
    session.flush()
    user = session.get_one(UserRow, token.user_id)
    record_event(
        session,
        customer_id=user.customer_id,
        subject_type="api_token",
        subject_id=token.id,
        tag="token:revoke",
        actor=actor,
        at=now,
        before={"revoked_at": None},
        after={"user": user.email, "prefix": token.prefix, "revoked_at": now.isoformat()},
    )
    return token


_TOKEN_HOLDER = (
    select(ApiTokenRow, UserRow, ContactRow)
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .outerjoin(ContactRow, ContactRow.id == UserRow.contact_id)
    .where(ApiTokenRow.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True)
class TokenUse:
    """Who presents a token, and the token."""

    principal: Principal
    token: ApiTokenRow

    def record_due(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is due to be written: never written, or at least
        :data:`LAST_USED_RESOLUTION` ago."""
        last = self.token.last_used_at
        return last is None or now - last >= LAST_USED_RESOLUTION


def authenticate_token(session: Session, token: str) -> TokenUse | None:
    """Who presents ``Authorization: Bearer <token>``, or None (unknown, revoked,
    inactive user), reading only: the token, its user and the user's contact in one
    query. The lookup is by hash, so no constant-time compare is needed."""
    if not token or not token.startswith(TOKEN_SCHEME) or len(token) > 128:
        return None
    found = session.execute(_TOKEN_HOLDER, {"token_hash": hash_token(token)}).first()
    if found is None or found.ApiTokenRow.revoked_at is not None:
        return None
    user, _contact = found.UserRow, found.ContactRow  # the contact stays in the session for usable
    if not usable(session, user):
        return None
    return TokenUse(principal_for_user(session, user.id), found.ApiTokenRow)


def record_token_use(session: Session, token: str, *, now: datetime) -> None:
    """Write a token's ``last_used_at``, unless another request did within the last
    :data:`LAST_USED_RESOLUTION` — or, on PostgreSQL, is doing it now: its row is then
    skipped, not waited for (``FOR UPDATE SKIP LOCKED``; every request of a busy token
    would otherwise queue on that row once a minute). One conditional UPDATE, at the
    end of a write's transaction (api.unit) or in a short one of its own after a read."""
    due = (
        ApiTokenRow.token_hash == hash_token(token),
        or_(ApiTokenRow.last_used_at.is_(None), ApiTokenRow.last_used_at <= now - LAST_USED_RESOLUTION),
    )
    statement = update(ApiTokenRow)
    if session.get_bind().dialect.name == "postgresql":
        free = select(ApiTokenRow.id).where(*due).with_for_update(skip_locked=True).scalar_subquery()
        statement = statement.where(ApiTokenRow.id.in_(free))
    else:  # one writer at a time: nobody holds the row
        statement = statement.where(*due)
    session.execute(statement.values(last_used_at=now).execution_options(synchronize_session=False))


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal | None:
    """:func:`authenticate_token`, writing ``last_used_at`` in ``session`` when due
    (at most once a minute, so that reading is not writing)."""
    use = authenticate_token(session, token)
    if use is None:
        return None
    if use.record_due(now):
        record_token_use(session, token, now=now)
    return use.principal
