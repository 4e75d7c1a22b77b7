"""The links the mail carries that work without signing in (docs/decisions.md D113):
one-click unsubscribe (RFC 8058, a token naming an address and an optional kind of
mail) and the answer to a satisfaction survey (a token naming the survey and when it
expires; the survey itself is answered once, which the database enforces).

Tokens are ``base64url(json) . base64url(HMAC-SHA256)`` under keys derived from the
application's secret (``settings.load_secret``: ``UNISUPPORT_SECRET_KEY`` or the data
folder's ``secret.key``, the same the web sessions use), one key per purpose, so an
unsubscribe token never passes for a survey token or a session cookie. The standard
library's ``hmac`` — no new dependency."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unisupport.notifications.kinds import OPTIONAL, address_key
from unisupport.settings import load_secret

PUBLIC_URL = "UNISUPPORT_PUBLIC_URL"  # where the pages are reached from a mail
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"  # what `unisupport serve` listens on
MAX_TOKEN = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SurveyLink:
    """What a survey token says: which survey, until when (an expired one is read
    all the same, so the page can say it expired rather than that it is forged)."""

    survey_id: int
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class MailLinks:
    """Signs and reads the mail's links, and spells their addresses under the public URL."""

    def __init__(self, secret: bytes, public_url: str = DEFAULT_PUBLIC_URL):
        self.public_url = public_url.rstrip("/")
        self._unsubscribe_key = hmac.new(secret, b"unisupport/mail/unsubscribe", hashlib.sha256).digest()
        self._survey_key = hmac.new(secret, b"unisupport/mail/survey", hashlib.sha256).digest()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MailLinks:
        env = dict(os.environ if env is None else env)
        return cls(load_secret(env), (env.get(PUBLIC_URL) or "").strip() or DEFAULT_PUBLIC_URL)

    # ---------------------------------------------------------------- signing
    @staticmethod
    def _sign(key: bytes, body: dict[str, Any]) -> str:
        text = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return text + "." + _b64(hmac.new(key, text.encode(), hashlib.sha256).digest())

    @staticmethod
    def _read(key: bytes, token: str) -> dict[str, Any] | None:
        if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
            return None
        text, signature = token.split(".")
        if not hmac.compare_digest(signature, _b64(hmac.new(key, text.encode(), hashlib.sha256).digest())):
            return None
        try:
            body = json.loads(_unb64(text))
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    # ---------------------------------------------------------------- unsubscribe
    def unsubscribe_token(self, address: str, category: str) -> str:
        if category not in OPTIONAL:
            raise ValueError(f"service mail cannot be refused ({category!r})")
        return self._sign(self._unsubscribe_key, {"a": address_key(address), "k": category})

    def read_unsubscribe(self, token: str) -> tuple[str, str] | None:
        """``(address, kind)`` of a genuine unsubscribe token, else None."""
        body = self._read(self._unsubscribe_key, token)
        if body is None or not isinstance(body.get("a"), str) or body.get("k") not in OPTIONAL:
            return None
        return body["a"], body["k"]

    def unsubscribe_url(self, address: str, category: str) -> str:
        return f"{self.public_url}/unsubscribe/{self.unsubscribe_token(address, category)}"

    def preferences_url(self) -> str:
        return f"{self.public_url}/preferences"

    # ---------------------------------------------------------------- surveys
    def survey_token(self, survey_id: int, expires_at: datetime) -> str:
        return self._sign(self._survey_key, {"s": survey_id, "e": int(expires_at.timestamp())})

    def read_survey(self, token: str) -> SurveyLink | None:
        body = self._read(self._survey_key, token)
        if body is None or not isinstance(body.get("s"), int) or not isinstance(body.get("e"), int):
            return None
        return SurveyLink(body["s"], datetime.fromtimestamp(body["e"], UTC))

    def survey_url(self, survey_id: int, expires_at: datetime) -> str:
        return f"{self.public_url}/surveys/answer/{self.survey_token(survey_id, expires_at)}"
