"""Users, teams, CSAM assignments and API tokens (issue 4: roles and tenant isolation).

A user has one role (``unisupport.access.Role``). Customer users belong to one
customer and are one of its designated contacts (R-ORD-4); provider users belong to
no customer. Neither passwords nor tokens are stored: only their hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, UTCDateTime

# Kept literal (not built from Role) so that the schema a migration created does not
# change silently when the enum does; a new customer role needs a migration anyway.
_CUSTOMER_ROLES_SQL = "('support-administrator', 'reactive-contact')"


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("language IN ('en', 'fr')", name="language"),
        # Customer roles need a customer; provider roles must not have one.
        CheckConstraint(
            f"(role IN {_CUSTOMER_ROLES_SQL} AND customer_id IS NOT NULL)"
            f" OR (role NOT IN {_CUSTOMER_ROLES_SQL} AND customer_id IS NULL)",
            name="customer_for_customer_roles",
        ),
        CheckConstraint("contact_id IS NULL OR customer_id IS NOT NULL", name="contact_needs_customer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The designated contact this user is (R-ORD-4); one user per contact.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), unique=True)
    language: Mapped[str] = mapped_column(String(2))
    # argon2id (argon2-cffi's PHC string); null: the user signs in with tokens only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Web sessions issued before this instant are over (an administrator ended them, or
    # the password changed); null: none was ended.
    sessions_valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class TeamMemberRow(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class CsamAssignmentRow(Base):
    """A customer a CSAM may see (its ``customer_scope``)."""

    __tablename__ = "csam_assignments"
    __table_args__ = (UniqueConstraint("user_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)


class ApiTokenRow(Base):
    """A bearer token for the API. Only the SHA-256 of the whole token is kept.

    A fast hash is right here, unlike for passwords: a token is 32 random bytes
    (256 bits), so nobody can guess it or brute-force it from its hash however fast
    the hash is; a slow, salted KDF only protects low-entropy secrets. An unsalted,
    deterministic digest also lets a request find its token with one indexed lookup
    (``token_hash`` is unique) instead of trying every row."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The first 8 characters ("us_" and 5 more): enough to tell tokens apart in a
    # listing and to revoke one, far too few to use it.
    prefix: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EndedSessionRow(Base):
    """A web session ended before it expired (signing out). The cookie is signed, so
    it stays valid until it expires; this row is what makes it worthless. Only the
    SHA-256 of the session's id is kept. A row is useless once ``expires_at`` is
    past (the cookie is refused anyway): rows are removed then."""

    __tablename__ = "ended_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
