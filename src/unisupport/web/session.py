"""The web session: a signed cookie, and the CSRF token derived from it.

The cookie holds no secret and no state another process needs: the user id, when
it was issued, when it expires, a random nonce and the language chosen before
signing in, signed with HMAC-SHA256 (the standard library's ``hmac``). Every request
re-reads the user (``services.users.active_principal``), so deactivating a user or
withdrawing their contact takes effect at the next click. The CSRF token of every
form is an HMAC of the session's nonce under a separate key: a page of another
site can neither read it nor forge it, and signing in issues a new nonce. The nonce
is also the session's id: signing out records it as ended on the server
(``services.users.end_session``), so a copy of the cookie opens nothing after.

The secret comes from ``UNISUPPORT_SECRET_KEY`` or, failing that, from
``$UNISUPPORT_DATA_DIR/secret.key``, created (mode 0600) by the first process that
needs it. Processes on one machine share that file; a deployment on several
machines must set ``UNISUPPORT_SECRET_KEY`` to the same value everywhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from unisupport.settings import MIN_SECRET_LENGTH, SECRET_FILE, SECRET_KEY, load_secret

__all__ = [
    "MIN_SECRET_LENGTH",
    "SECRET_FILE",
    "SECRET_KEY",
    "load_secret",
]  # kept here for the pages and the tests that import them from here

COOKIE = "unisupport_session"
CSRF_FIELD = "csrf_token"
LIFETIME = timedelta(hours=12)  # then sign in again


@dataclass(frozen=True)
class SessionData:
    """What the cookie says. ``user_id`` is None for a visitor who has not signed in."""

    user_id: int | None
    issued_at: int  # epoch seconds
    expires_at: int
    nonce: str
    language: str | None = None  # a visitor's explicit choice (the switch)

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks session cookies and CSRF tokens with keys derived from the
    secret (one key per purpose, so a value signed for one cannot pass for another)."""

    def __init__(self, secret: bytes):
        self._session_key = hmac.new(secret, b"unisupport/web/session", hashlib.sha256).digest()
        self._csrf_key = hmac.new(secret, b"unisupport/web/csrf", hashlib.sha256).digest()
        self._form_key = hmac.new(secret, b"unisupport/web/form", hashlib.sha256).digest()

    def new(self, now: datetime, *, user_id: int | None = None, language: str | None = None) -> SessionData:
        issued = int(now.timestamp())
        return SessionData(user_id, issued, issued + int(LIFETIME.total_seconds()), secrets.token_urlsafe(16), language)

    def dumps(self, data: SessionData) -> str:
        body = _b64(
            json.dumps(
                {"u": data.user_id, "iat": data.issued_at, "exp": data.expires_at, "n": data.nonce, "l": data.language},
                separators=(",", ":"),
            ).encode()
        )
        return body + "." + _b64(hmac.new(self._session_key, body.encode(), hashlib.sha256).digest())

    def loads(self, token: str | None, now: datetime) -> SessionData | None:
        """The session of a cookie, or None when it is missing, forged or expired."""
        if not token or len(token) > 1024 or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        expected = _b64(hmac.new(self._session_key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return None
        try:
            raw = json.loads(_unb64(body))
            data = SessionData(raw["u"], int(raw["iat"]), int(raw["exp"]), str(raw["n"]), raw.get("l"))
        except (ValueError, KeyError, TypeError):
            return None
        moment = int(now.timestamp())
        if data.expires_at <= moment or data.issued_at > moment + 300:
            return None
        if data.user_id is not None and not isinstance(data.user_id, int):
            return None
        return data

    def csrf_token(self, data: SessionData) -> str:
        return _b64(hmac.new(self._csrf_key, data.nonce.encode(), hashlib.sha256).digest())

    def csrf_ok(self, data: SessionData | None, token: str | None) -> bool:
        return data is not None and bool(token) and hmac.compare_digest(self.csrf_token(data), token or "")

    def form_owner(self, data: SessionData) -> str:
        """Who may read a form's outcome: this session only (``web.forms``)."""
        return hmac.new(self._form_key, b"owner:" + data.nonce.encode(), hashlib.sha256).hexdigest()

    def snapshot(self, data: SessionData, form: str, values: list[tuple[str, str]]) -> str:
        """A signature of the values a preview showed: the confirmation must carry
        the same values, in this session (``web.forms.snapshot_matches``)."""
        body = json.dumps([form, sorted(values)], separators=(",", ":"), ensure_ascii=False)
        return _b64(
            hmac.new(self._form_key, b"snapshot:" + data.nonce.encode() + body.encode(), hashlib.sha256).digest()
        )


def with_language(data: SessionData, language: str) -> SessionData:
    return replace(data, language=language)


def cookie_arguments(data: SessionData, *, now: datetime, secure: bool) -> dict:
    """``Response.set_cookie`` arguments: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    return {
        "key": COOKIE,
        "max_age": max(0, data.expires_at - int(now.timestamp())),
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": secure,
    }
