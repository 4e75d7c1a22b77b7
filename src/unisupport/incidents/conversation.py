"""The conversation on an incident, as the domain sees it (docs/decisions.md D70–D72).

* Who sees a message: a **public** one (a provider user's reply, mailed to the
  customer, or any message of a customer user) is seen by everyone on the incident;
  an **internal** note by provider roles only.
* How a reply by mail finds its incident again: the incident's **reply token**, 160
  random bits in lowercase base32 (it survives mail servers that fold the case of
  addresses), carried in the ``Reply-To`` address ``local+<token>@domain``; the
  **subject tag** ``[#42]``; and the thread's **root Message-ID**, which every mail
  of the incident references.
* Which CC addresses are accepted.

Pure functions: no SQL, no HTTP."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from email.utils import formataddr, parseaddr
from enum import StrEnum

from unisupport.errors import InvalidInput


class Visibility(StrEnum):
    PUBLIC = "public"  # the customer sees it; a provider's public message is mailed
    INTERNAL = "internal"  # provider roles only: never shown, listed, searched or mailed to a customer


# ------------------------------------------------------------------ the reply token
REPLY_TOKEN_BYTES = 20  # 160 bits: unguessable, and 32 base32 characters without padding
_REPLY_TOKEN = re.compile(r"^[a-z2-7]{32}$")


def new_reply_token() -> str:
    """A fresh token for an incident: ``secrets`` randomness, lowercase base32."""
    return base64.b32encode(secrets.token_bytes(REPLY_TOKEN_BYTES)).decode("ascii").lower()


def is_reply_token(text: str | None) -> bool:
    return bool(text) and _REPLY_TOKEN.fullmatch(text) is not None  # type: ignore[arg-type]


def reply_address(base: str, token: str) -> str:
    """The address a reply about one incident goes to: ``support@provider.example``
    and the token give ``support+<token>@provider.example`` (a display name is kept)."""
    name, address = parseaddr(base)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidInput(f"{base!r} is not an e-mail address", field="reply_address")
    if not is_reply_token(token):
        raise InvalidInput("not a reply token", field="reply_token")
    tagged = f"{local.split('+', 1)[0]}+{token}@{domain}"
    return formataddr((name, tagged)) if name else tagged


def reply_token_in(address: str, base: str) -> str | None:
    """The token of an address built by :func:`reply_address` on ``base`` (any case),
    or None when ``address`` is not one of them."""
    local, at, domain = parseaddr(address)[1].rpartition("@")
    base_local, _, base_domain = parseaddr(base)[1].rpartition("@")
    name, plus, token = local.partition("+")
    if not at or not plus or domain.lower() != base_domain.lower() or name.lower() != base_local.lower():
        return None
    token = token.lower()
    return token if is_reply_token(token) else None


# ------------------------------------------------------------------ the subject
_SUBJECT_TAG = re.compile(r"\[(?:#\s*(\d{1,10})|INC-(\d{1,10}))\]", re.IGNORECASE)


def subject_tag(incident_id: int) -> str:
    return f"[#{incident_id}]"


def reply_subject(incident_id: int, title: str) -> str:
    """``[#42] Mail flow stopped``: the subject of every reply about incident 42."""
    return f"{subject_tag(incident_id)} {' '.join(title.split())}"


def incident_id_in_subject(subject: str | None) -> int | None:
    """The incident a subject names: ``[#42]`` (replies) or ``[INC-000042]`` (the
    automatic notifications); None when it names none."""
    found = _SUBJECT_TAG.search(subject or "")
    if found is None:
        return None
    return int(found.group(1) or found.group(2))


# ------------------------------------------------------------------ the thread
_THREAD_ROOT = re.compile(r"^<incident-(\d{1,10})\.(\d{1,12})@[^<>@\s]+>$")


def thread_root(incident_id: int, opened_at: datetime, domain: str) -> str:
    """The Message-ID every mail about the incident references (``References``, and
    ``In-Reply-To`` when it answers no particular mail), so that mail clients keep
    them in one thread. The opening second tells apart two incidents numbered 42 in
    two databases (staging and production), as ``outbox.message_id_for`` does."""
    return f"<incident-{incident_id}.{int(opened_at.timestamp())}@{domain}>"


def parse_thread_root(message_id: str) -> tuple[int, int] | None:
    """``(incident id, opening second)`` of a :func:`thread_root`, or None."""
    found = _THREAD_ROOT.fullmatch(message_id.strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


# ------------------------------------------------------------------ CC addresses
MAX_CC = 20  # addresses on one incident's copy list
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def mail_address(value: str, *, field: str) -> str:
    """A plain address (``name@example.com``, no display name), lowercased; InvalidInput
    naming ``field`` otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    valid = (
        at
        and len(text) <= 254
        and 0 < len(local) <= 64
        and _LOCAL.fullmatch(local)
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
    )
    if not valid:
        shown = text if len(text) <= 80 else text[:79] + "…"
        raise InvalidInput(f"{shown!r} is not an e-mail address (such as name@example.com)", field=field)
    return text.lower()


def check_cc(addresses: list[str], *, already: list[str] | None = None, field: str = "cc") -> list[str]:
    """The addresses to add to an incident's copy list, checked one by one (the
    error names ``cc[i]``), lowercased, without duplicates, and within :data:`MAX_CC`
    together with those ``already`` on it."""
    if len(addresses) > MAX_CC:
        raise InvalidInput(
            f"{len(addresses)} addresses: an incident is copied to at most {MAX_CC} addresses", field=field
        )
    out: list[str] = []
    for i, value in enumerate(addresses):
        address = mail_address(value, field=f"{field}[{i}]")
        if address not in out and address not in (already or []):
            out.append(address)
    if len(out) + len(already or []) > MAX_CC:
        raise InvalidInput(
            f"the incident is already copied to {len(already or [])} addresses: at most {MAX_CC} in all", field=field
        )
    return out
