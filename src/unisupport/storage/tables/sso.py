"""Single sign-on with OpenID Connect (issue 11): the sign-ins under way and the
identities a provider vouched for (``services.users.sso``).

An attempt is one trip to an identity provider: its ``state`` (only its SHA-256 is
kept), the ``nonce`` the ID token must carry and the PKCE verifier, used once. A
signed-in attempt keeps the ID token as the hint of the RP-initiated sign-out, and
the SHA-256 of the web session it opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, UTCDateTime


class SsoAttemptRow(Base):
    __tablename__ = "sso_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(64))  # the key of identity-providers.yaml
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500))
    # The SHA-256 of the web session that started it: the callback must come back to
    # that browser (a link that an attacker started signs no one else in).
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the callback came: never again
    outcome: Mapped[str | None] = mapped_column(String(32))  # signed-in, or the refusal's kind
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_token: Mapped[str | None] = mapped_column(Text)


class SsoIdentityRow(Base):
    """A user as an identity provider knows them: its issuer and subject (``sub``)."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime())
