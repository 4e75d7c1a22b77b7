"""Mail-in configuration, from environment variables, validated once: a bad value
stops ``unisupport mail-in`` with a message naming the variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from pathlib import Path

from unisupport.catalog.product import default_products
from unisupport.errors import InvalidInput
from unisupport.incidents.settings import IncidentSettings
from unisupport.settings import Settings
from unisupport.sla.severity import Severity

IMAP_URL = "UNISUPPORT_IMAP_URL"
IMAP_DONE_FOLDER = "UNISUPPORT_IMAP_DONE_FOLDER"
DEFAULT_SEVERITY = "UNISUPPORT_MAIL_DEFAULT_SEVERITY"
REOPEN_DAYS = "UNISUPPORT_MAIL_REOPEN_DAYS"
MAX_MB = "UNISUPPORT_MAIL_MAX_MB"
PRODUCT = "UNISUPPORT_MAIL_PRODUCT"
POLL_SECONDS = "UNISUPPORT_MAIL_POLL_SECONDS"
PORTAL_URL = "UNISUPPORT_PUBLIC_URL"
UNSPECIFIED_PRODUCT = "unspecified"


@dataclass(frozen=True)
class ImapEndpoint:
    """``imaps://USER:PASSWORD@HOST[:PORT]/MAILBOX`` (TLS from the first byte, port
    993) or ``imap://…`` (port 143, STARTTLS when offered; in clear only on the
    loopback, for local tests)."""

    tls: bool
    host: str
    port: int
    username: str
    password: str
    mailbox: str

    def __repr__(self) -> str:  # never the password
        scheme = "imaps" if self.tls else "imap"
        return f"ImapEndpoint({scheme}://{self.username}@{self.host}:{self.port}/{self.mailbox})"


def imap_endpoint(url: str, *, field: str = IMAP_URL) -> ImapEndpoint:
    expected = "expected imaps://USER:PASSWORD@HOST[:PORT]/MAILBOX (or imap:// for a local server)"
    shown = url.split("//", 1)[0] + "//***@" + url.rsplit("@", 1)[1] if "@" in url else url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{shown!r} is not an IMAP URL ({expected})", field=field) from None
    if parts.scheme not in ("imap", "imaps") or not parts.hostname:
        raise InvalidInput(f"{shown!r} is not an IMAP URL ({expected})", field=field)
    if not parts.username or parts.password is None:
        raise InvalidInput(f"an IMAP URL carries the mailbox's user and password ({expected})", field=field)
    if parts.query or parts.fragment:
        raise InvalidInput(f"{shown!r}: an IMAP URL has no query or fragment ({expected})", field=field)
    tls = parts.scheme == "imaps"
    return ImapEndpoint(
        tls=tls,
        host=parts.hostname,
        port=port or (993 if tls else 143),
        username=unquote(parts.username),
        password=unquote(parts.password),
        mailbox=unquote(parts.path.lstrip("/")) or "INBOX",
    )


@dataclass(frozen=True)
class MailInSettings:
    # support@provider.example (UNISUPPORT_MAIL_REPLY_ADDRESS, else the sender address of
    # UNISUPPORT_MAIL_FROM): replies come back to support+<token>@provider.example.
    reply_address: str
    mail_from: str  # the address notifications go out from (our own mail coming back is a loop)
    blob_dir: Path  # where the files of received mails are kept (Settings.blobs_path)
    incident: IncidentSettings = IncidentSettings()  # for the incidents mail opens and the messages it records
    default_severity: Severity = Severity.SEV_B  # of an incident a mail opens, unless its subject states one
    reopen_days: int = 7  # a closed incident reopens on an answer within this many days of its closure
    max_bytes: int = 25 * 1024 * 1024  # a larger mail is refused
    product: str = UNSPECIFIED_PRODUCT  # of an incident a mail opens, unless its subject names one
    imap_url: str = ""
    imap_done_folder: str = ""  # handled mail moves there; empty: it stays, flagged
    poll_seconds: int = 60
    portal_url: str = ""  # named in the polite answer to strangers, when set

    @property
    def own_addresses(self) -> tuple[str, ...]:
        return (self.reply_address.lower(), parseaddr(self.mail_from)[1].lower())

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> MailInSettings:
        env = dict(os.environ if env is None else env)
        base = Settings.from_env(env)
        reply = parseaddr(base.mail_reply_address or base.mail_from)[1]
        imap_url = (env.get(IMAP_URL) or "").strip()
        if imap_url:
            imap_endpoint(imap_url)
        product = (env.get(PRODUCT) or UNSPECIFIED_PRODUCT).strip()
        default_products().get(product, field=PRODUCT)
        return cls(
            reply_address=reply,
            mail_from=base.mail_from,
            blob_dir=base.blobs_path,
            incident=base.incident_settings(),
            default_severity=Severity.parse(env.get(DEFAULT_SEVERITY) or "B", field=DEFAULT_SEVERITY),
            reopen_days=_whole(env, REOPEN_DAYS, 7, 0, 365),
            max_bytes=_whole(env, MAX_MB, 25, 1, 1024) * 1024 * 1024,
            product=product,
            imap_url=imap_url,
            imap_done_folder=(env.get(IMAP_DONE_FOLDER) or "").strip(),
            poll_seconds=_whole(env, POLL_SECONDS, 60, 1, 86400),
            portal_url=(env.get(PORTAL_URL) or "").strip(),
        )


def _whole(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (env.get(name) or str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a whole number", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{value} is not between {low} and {high}", field=name)
    return value
