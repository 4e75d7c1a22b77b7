"""Configuration from environment variables, read once and validated, so that a
bad setting stops the program with a message naming the variable."""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from unisupport.errors import InvalidInput
from unisupport.incidents.attachment import ConversationSettings
from unisupport.incidents.settings import IncidentSettings

DATABASE_URL = "UNISUPPORT_DATABASE_URL"
DATA_DIR = "UNISUPPORT_DATA_DIR"
DATABASE_READ_URL = "UNISUPPORT_DATABASE_READ_URL"
DATABASE_READ_MAX_LAG = "UNISUPPORT_DATABASE_READ_MAX_LAG_SECONDS"
WARN_SHARE = "UNISUPPORT_WARN_SHARE"
CRITICAL_MINUTES = "UNISUPPORT_CRITICAL_CUSTOMER_MINUTES"
SMTP_URL = "UNISUPPORT_SMTP_URL"
MAIL_FROM = "UNISUPPORT_MAIL_FROM"
DEFAULT_MAIL_FROM = "unisupport@localhost"
MAX_BODY_BYTES = "UNISUPPORT_MAX_BODY_BYTES"
MAX_FORM_BYTES = "UNISUPPORT_MAX_FORM_BYTES"
TRUSTED_PROXIES = "UNISUPPORT_TRUSTED_PROXIES"
MAIL_REPLY_ADDRESS = "UNISUPPORT_MAIL_REPLY_ADDRESS"
BLOB_DIR = "UNISUPPORT_BLOB_DIR"
ATTACHMENT_MAX_MB = "UNISUPPORT_ATTACHMENT_MAX_MB"
MESSAGE_MAX_MB = "UNISUPPORT_MESSAGE_MAX_MB"
WEBHOOK_ALLOW_PRIVATE = "UNISUPPORT_WEBHOOK_ALLOW_PRIVATE"
WEBHOOK_TIMEOUT = "UNISUPPORT_WEBHOOK_TIMEOUT_SECONDS"
WEBHOOK_DISABLE_AFTER = "UNISUPPORT_WEBHOOK_DISABLE_AFTER"
MB = 1024 * 1024
SECRET_KEY = "UNISUPPORT_SECRET_KEY"
SECRET_FILE = "secret.key"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class WebhookSettings:
    """How webhooks go out (docs/webhooks.md). ``allow_private``: the loopback, private
    or link-local networks targets may resolve to (none by default: SSRF); a target in
    them may also be ``http://`` (local testing). ``timeout``: seconds a receiver has
    to answer. ``disable_after``: failed tries in a row that disable a subscription."""

    allow_private: tuple[str, ...] = ()  # UNISUPPORT_WEBHOOK_ALLOW_PRIVATE, such as 127.0.0.1 or 10.0.0.0/8
    timeout: float = 10.0  # UNISUPPORT_WEBHOOK_TIMEOUT_SECONDS
    disable_after: int = 50  # UNISUPPORT_WEBHOOK_DISABLE_AFTER


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body each class of route accepts, in bytes; refused with
    413 before it is parsed (``api.admission``, which maps paths to classes). A
    class of its own for a route family is a field here, a variable and a line of
    ``api.admission.ROUTE_CLASSES``."""

    json: int = 1024 * 1024  # UNISUPPORT_MAX_BODY_BYTES: API bodies
    form: int = 64 * 1024  # UNISUPPORT_MAX_FORM_BYTES: the web pages' forms
    # Uploads (API attachments, the composer's files): a message's files (UNISUPPORT_MESSAGE_MAX_MB)
    # and the multipart framing around them.
    upload: int = 101 * 1024 * 1024

    def of(self, route_class: str) -> int:
        return getattr(self, route_class)


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where mail goes: ``smtp://`` (STARTTLS when offered, required with a login)
    or ``smtps://`` (TLS from the first byte)."""

    tls: bool  # smtps
    host: str
    port: int
    username: str | None = None
    password: str | None = None


def smtp_endpoint(url: str, *, field: str = SMTP_URL) -> SmtpEndpoint:
    """Parse ``smtp://[user:pass@]host:port`` or ``smtps://…``; InvalidInput naming
    ``field`` otherwise."""
    expected = "expected smtp://[USER:PASSWORD@]HOST:PORT or smtps://[USER:PASSWORD@]HOST:PORT"
    shown = url.split("//", 1)[0] + "//***@" + url.rsplit("@", 1)[1] if "@" in url else url  # no password in messages
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{shown!r} is not an SMTP URL ({expected})", field=field) from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname or port is None:
        raise InvalidInput(f"{shown!r} is not an SMTP URL ({expected})", field=field)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidInput(f"{shown!r}: an SMTP URL has no path, query or fragment ({expected})", field=field)
    if (parts.username is None) != (parts.password is None) or parts.username == "":
        raise InvalidInput(
            "an SMTP login needs both a user and a password (smtp://USER:PASSWORD@HOST:PORT)", field=field
        )
    return SmtpEndpoint(
        tls=parts.scheme == "smtps",
        host=parts.hostname,
        port=port,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
    )


def _mail_from(value: str, field: str = MAIL_FROM) -> str:
    _name, address = parseaddr(value)
    if not address or "@" not in address or address.startswith("@") or address.endswith("@") or " " in address:
        raise InvalidInput(f"{value!r} is not an e-mail address (such as unisupport@example.com)", field=field)
    return value


def _folder(path: Path) -> Path:
    """``path`` if it is a folder or can become one; InvalidInput naming
    UNISUPPORT_DATA_DIR when it (or the nearest part of it that exists) is a file."""
    existing = next((p for p in (path, *path.absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        what = "is a file" if existing == path else f"is inside {str(existing)!r}, a file"
        raise InvalidInput(f"{str(path)!r} {what}: name the folder the database lives in", field=DATA_DIR)
    return path


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    # Where database_url came from: UNISUPPORT_DATABASE_URL, UNISUPPORT_DATA_DIR, or
    # "default" (./data in the current folder) — what a new-database notice says.
    database_from: str = "default"
    # UNISUPPORT_DATABASE_READ_URL: a PostgreSQL streaming replica for read-only work, used
    # while it lags at most database_read_max_lag_s (UNISUPPORT_DATABASE_READ_MAX_LAG_SECONDS)
    database_read_url: str = ""
    database_read_max_lag_s: float = 5.0
    smtp_url: str = ""  # empty: mail is disabled
    mail_from: str = DEFAULT_MAIL_FROM
    warn_share: float = 0.75  # UNISUPPORT_WARN_SHARE: warn when this share of a target has elapsed
    critical_customer_minutes: int = 60  # UNISUPPORT_CRITICAL_CUSTOMER_MINUTES: R-SLA-4 at Sev 1/A
    body_limits: BodyLimits = field(default_factory=BodyLimits)
    # UNISUPPORT_TRUSTED_PROXIES: the addresses and networks whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; none by default (the peer is the client).
    trusted_proxies: tuple[str, ...] = ()
    # Replies by mail come back to local+<incident token>@domain (empty: no Reply-To).
    mail_reply_address: str = ""  # UNISUPPORT_MAIL_REPLY_ADDRESS, such as support@provider.example
    blob_dir: Path | None = None  # UNISUPPORT_BLOB_DIR; None: <data dir>/blobs
    attachment_max_bytes: int = 25 * MB  # UNISUPPORT_ATTACHMENT_MAX_MB: one file
    message_max_bytes: int = 100 * MB  # UNISUPPORT_MESSAGE_MAX_MB: all the files of one message
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get(DATA_DIR) or "data").expanduser()
        database_from = DATABASE_URL if env.get(DATABASE_URL) else DATA_DIR if env.get(DATA_DIR) else "default"
        if database_from != DATABASE_URL or env.get(DATA_DIR):
            _folder(data_dir)
        url = env.get(DATABASE_URL) or f"sqlite:///{(data_dir / 'unisupport.db').resolve()}"
        if not (url.startswith("sqlite:") or url.startswith("postgresql+psycopg:")):
            raise InvalidInput(
                f"{url.split(':', 1)[0]!r} databases are not supported: use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB",
                field=DATABASE_URL,
            )
        read_url, max_lag = _read_replica(env, url)
        smtp_url = (env.get(SMTP_URL) or "").strip()
        if smtp_url:
            smtp_endpoint(smtp_url)
        mail_from = _mail_from((env.get(MAIL_FROM) or DEFAULT_MAIL_FROM).strip())
        share = _number(env, WARN_SHARE, "0.75", float)
        if not 0 < share < 1:
            raise InvalidInput(f"{share} is not a share between 0 and 1 (such as 0.75)", field=WARN_SHARE)
        minutes = _number(env, CRITICAL_MINUTES, "60", int)
        if not 1 <= minutes <= 24 * 60:
            raise InvalidInput(f"{minutes} is not a number of minutes between 1 and 1440", field=CRITICAL_MINUTES)
        reply_address = (env.get(MAIL_REPLY_ADDRESS) or "").strip()
        if reply_address:
            _mail_from(reply_address, MAIL_REPLY_ADDRESS)
        blob_dir = (env.get(BLOB_DIR) or "").strip()
        file_mb = _number(env, ATTACHMENT_MAX_MB, "25", int)
        message_mb = _number(env, MESSAGE_MAX_MB, "100", int)
        if not 1 <= file_mb <= message_mb:
            raise InvalidInput(
                f"{file_mb} MB: a file's limit is at least 1 MB and at most the message's ({message_mb} MB)",
                field=ATTACHMENT_MAX_MB,
            )
        return cls(
            database_url=url,
            data_dir=data_dir,
            database_from=database_from,
            database_read_url=read_url,
            database_read_max_lag_s=max_lag,
            smtp_url=smtp_url,
            mail_from=mail_from,
            warn_share=share,
            critical_customer_minutes=minutes,
            body_limits=BodyLimits(
                json=_byte_count(env, MAX_BODY_BYTES, BodyLimits.json),
                form=_byte_count(env, MAX_FORM_BYTES, BodyLimits.form),
                upload=message_mb * MB + MB,
            ),
            trusted_proxies=trusted_proxies(env.get(TRUSTED_PROXIES) or ""),
            mail_reply_address=reply_address,
            blob_dir=Path(blob_dir).expanduser() if blob_dir else None,
            attachment_max_bytes=file_mb * MB,
            message_max_bytes=message_mb * MB,
            webhooks=_webhook_settings(env),
        )

    @property
    def blobs_path(self) -> Path:
        """Where attachments are kept: ``UNISUPPORT_BLOB_DIR``, else ``blobs`` in the data folder."""
        return self.blob_dir or self.data_dir / "blobs"

    def incident_settings(self) -> IncidentSettings:
        return IncidentSettings(
            warn_share=self.warn_share,
            critical_customer_minutes=self.critical_customer_minutes,
            reply_address=self.mail_reply_address,
        )

    def conversation_settings(self) -> ConversationSettings:
        return ConversationSettings(
            attachment_max_bytes=self.attachment_max_bytes,
            message_max_bytes=self.message_max_bytes,
        )


def _webhook_settings(env: dict[str, str]) -> WebhookSettings:
    timeout = _number(env, WEBHOOK_TIMEOUT, "10", float)
    if not 0.1 <= timeout <= 120:
        raise InvalidInput(f"{timeout} is not a number of seconds between 0.1 and 120", field=WEBHOOK_TIMEOUT)
    disable_after = _number(env, WEBHOOK_DISABLE_AFTER, "50", int)
    if not 1 <= disable_after <= 10_000:
        raise InvalidInput(f"{disable_after} is not a number of tries between 1 and 10000", field=WEBHOOK_DISABLE_AFTER)
    return WebhookSettings(
        allow_private=networks(env.get(WEBHOOK_ALLOW_PRIVATE) or "", WEBHOOK_ALLOW_PRIVATE),
        timeout=timeout,
        disable_after=disable_after,
    )


def _byte_count(env: dict[str, str], name: str, default: int) -> int:
    count = _number(env, name, str(default), int)
    if not 1024 <= count <= 2**40:
        raise InvalidInput(f"{count} is not a number of bytes between 1024 and 2**40", field=name)
    return count


def trusted_proxies(value: str) -> tuple[str, ...]:
    """``10.0.0.1, 192.168.0.0/16 ::1`` as networks (an address is a network of one),
    or InvalidInput naming the variable. ``*`` (believe anyone) is refused: it is
    what lets any client choose the address it is counted under."""
    return networks(value, TRUSTED_PROXIES)


def networks(value: str, name: str) -> tuple[str, ...]:
    """``10.0.0.1, 192.168.0.0/16 ::1`` as networks, or InvalidInput naming ``name``."""
    found = []
    for item in value.replace(",", " ").split():
        try:
            found.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise InvalidInput(
                f"{item!r} is not an IP address or network (such as 10.0.0.5 or 10.0.0.0/24)", field=name
            ) from None
    return tuple(found)


def _read_replica(env: dict[str, str], url: str) -> tuple[str, float]:
    """The read replica's URL (PostgreSQL, beside a PostgreSQL primary) and its lag bound."""
    read_url = (env.get(DATABASE_READ_URL) or "").strip()
    max_lag = _number(env, DATABASE_READ_MAX_LAG, "5", float)
    if not 0 <= max_lag <= 3600:
        raise InvalidInput(f"{max_lag} is not a number of seconds between 0 and 3600", field=DATABASE_READ_MAX_LAG)
    if read_url and not (read_url.startswith("postgresql+psycopg:") and url.startswith("postgresql+psycopg:")):
        raise InvalidInput(
            "a read replica is a PostgreSQL standby of a PostgreSQL primary: postgresql+psycopg://USER:PASSWORD@HOST/DB",
            field=DATABASE_READ_URL,
        )
    return read_url, max_lag


def _number(env: dict[str, str], name: str, default: str, kind: type):
    raw = (env.get(name) or default).strip()
    try:
        return kind(raw)
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a {'whole ' if kind is int else ''}number", field=name) from None


def load_secret(env: dict[str, str] | None = None) -> bytes:
    """The process's signing secret (web sessions, the links mailed for one-click
    unsubscribe and surveys): ``UNISUPPORT_SECRET_KEY`` or, failing that,
    ``$UNISUPPORT_DATA_DIR/secret.key``, created (mode 0600) by the first process that
    needs it (``web.session`` says more)."""
    env = dict(os.environ if env is None else env)
    configured = (env.get(SECRET_KEY) or "").strip()
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise InvalidInput(
                f"a secret key has at least {MIN_SECRET_LENGTH} characters "
                "(python3 -c 'import secrets; print(secrets.token_hex(32))')",
                field=SECRET_KEY,
            )
        return configured.encode()
    return _secret_file(Path(env.get(DATA_DIR) or "data").expanduser() / SECRET_FILE)


def _secret_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start together, one creates, the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # another process created it first: read it below
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    value = ""
    for _ in range(50):  # the creator may not have written yet
        value = path.read_text(encoding="ascii").strip()
        if value:
            break
        time.sleep(0.02)
    if len(value) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"{path} does not hold a secret of at least {MIN_SECRET_LENGTH} characters", field=SECRET_KEY
        )
    return value.encode()
