"""Mail rendering (Jinja2 templates per kind and language) and sending (SMTP).

A template is ``templates/<kind>.<language>.txt``: its first line is the subject,
its second line is blank, the rest is the plain-text body. Both are rendered with
the row's payload, plus ``language``; a field the template uses and the payload
lacks fails loudly (``StrictUndefined``). Filters, worded per language
(``wording``): ``when`` (an ISO instant with offset, shown in the payload's
``timezone``), ``day`` (an ISO date), ``duration`` (minutes), ``amount``."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, StrictUndefined, Template, Undefined, pass_context
from jinja2.runtime import Context

from unisupport.errors import InvalidInput
from unisupport.notifications.wording import (
    LANGUAGES,
    format_amount,
    format_datetime,
    format_day,
    format_duration,
)
from unisupport.settings import SMTP_URL, smtp_endpoint

TEMPLATES = Path(__file__).with_name("templates")
SMTP_TIMEOUT = 30.0  # seconds, for connecting and for each command


class Mailer(Protocol):
    """What the delivery loop needs from a mailer (``SmtpMailer``; wrappers in tests)."""

    mail_from: str

    def send(self, message: EmailMessage) -> str: ...


# ---------------------------------------------------------------------- rendering
def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return value


def _context_value(ctx: Context, name: str) -> Any:
    value = ctx.get(name)
    if value is None:
        raise InvalidInput(f"the payload has no {name!r}, which dates need", field=f"payload.{name}")
    return value


@pass_context
def _when(ctx: Context, value: Any) -> str:
    return format_datetime(_defined(value), _context_value(ctx, "timezone"), ctx["language"])


@pass_context
def _day(ctx: Context, value: Any) -> str:
    return format_day(_defined(value), ctx["language"])


@pass_context
def _duration(ctx: Context, value: Any) -> str:
    return format_duration(_defined(value), ctx["language"])


@pass_context
def _amount(ctx: Context, value: Any) -> str:
    return format_amount(_defined(value), ctx["language"])


def _environment() -> Environment:
    # Plain text: no HTML escaping; a missing field is an error, never an empty string.
    env = Environment(
        autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True
    )
    env.filters.update(when=_when, day=_day, duration=_duration, amount=_amount)
    return env


ENVIRONMENT = _environment()


def template_path(kind: str, language: str) -> Path:
    return TEMPLATES / f"{kind}.{language}.txt"


@cache
def has_template(kind: str, language: str) -> bool:
    return language in LANGUAGES and "/" not in kind and template_path(kind, language).is_file()


@cache
def _templates(kind: str, language: str) -> tuple[Template, Template]:
    """The subject and body templates of ``kind`` in ``language``."""
    if not has_template(kind, language):
        raise InvalidInput(
            f"no template for {kind!r} in {language!r} ({template_path(kind, language).name})", field="kind"
        )
    source = template_path(kind, language).read_text(encoding="utf-8")
    subject, blank, body = (source.split("\n", 2) + ["", ""])[:3]
    if not subject.strip() or blank.strip():
        raise InvalidInput(
            f"{template_path(kind, language).name}: the first line is the subject, the second is blank", field="kind"
        )
    # The subject is its own template: a payload value with a line break cannot
    # push half of the subject into the body.
    return ENVIRONMENT.from_string(subject), ENVIRONMENT.from_string(body)


def render(kind: str, language: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """``(subject, body)`` of a notification. Raises on an unknown kind or language,
    a field missing from the payload, or a malformed date in it."""
    subject_template, body_template = _templates(kind, language)
    context = {**payload, "language": language}
    subject = " ".join(subject_template.render(context).split())  # one line, always
    body = body_template.render(context).strip("\n") + "\n"
    return subject, body


# ---------------------------------------------------------------------- messages
# Kinds a person wrote (an engineer's reply): not marked as automatic, so that the
# customer's out-of-office answer may tell the engineer they are away.
WRITTEN_BY_PEOPLE = frozenset({"incident.reply"})


@dataclass(frozen=True)
class MailFile:
    """A file to attach: its bytes (read from the blob store at send time)."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False


def compose(
    *,
    message_id: str,
    recipient: str,
    mail_from: str,
    subject: str,
    body: str,
    language: str,
    date: datetime,
    automatic: bool = True,
    headers: Mapping[str, str] | None = None,
    files: list[MailFile] | None = None,
) -> EmailMessage:
    """A plain-text UTF-8 message, marked as automatic unless a person wrote it, so
    that auto-responders stay quiet (RFC 3834 ``Auto-Submitted``; Exchange's
    ``X-Auto-Response-Suppress``); ``headers`` (Reply-To, In-Reply-To, References)
    and ``files`` come on top."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = rfc2822_date(date)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if automatic:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
    # Quoted-printable: accents survive servers without 8BITMIME.
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    for f in files or ():
        maintype, _, subtype = f.content_type.partition("/")
        if maintype in ("message", "multipart"):  # they may not be base64-encoded (RFC 2046): sent as bytes
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            f.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=f.filename,
            disposition="inline" if f.inline else "attachment",
        )
    # Last: set_content and add_attachment move every Content-* header into the text part.
    message["Content-Language"] = language
    return message


def mail_domain(mail_from: str) -> str:
    """The domain of the sender's address (``unisupport@example.com`` → ``example.com``)."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


# ---------------------------------------------------------------------- sending
class SmtpMailer:
    """Sends over SMTP, one connection per message (notifications are few and a
    stale connection would fail the next one).

    ``smtp://HOST:PORT`` uses STARTTLS when the server offers it, and requires it
    when the URL carries a login (a password is never sent in clear);
    ``smtps://HOST:PORT`` speaks TLS from the first byte. Certificates are verified
    (``ssl_context`` replaces the default, e.g. for a private CA)."""

    def __init__(
        self, url: str, mail_from: str, *, timeout: float = SMTP_TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ):
        self.endpoint = smtp_endpoint(url, field=SMTP_URL)
        self.mail_from = mail_from
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:  # never the password
        scheme = "smtps" if self.endpoint.tls else "smtp"
        return f"SmtpMailer({scheme}://{self.endpoint.host}:{self.endpoint.port}, from {self.mail_from})"

    def _connect(self) -> smtplib.SMTP:
        ep = self.endpoint
        helo = mail_domain(self.mail_from)  # not socket.getfqdn(): no DNS lookup of ourselves
        if ep.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                ep.host, ep.port, local_hostname=helo, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(ep.host, ep.port, local_hostname=helo, timeout=self.timeout)
        try:
            smtp.ehlo()
            if not ep.tls:
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=self.ssl_context)
                    smtp.ehlo()
                elif ep.username is not None:
                    raise smtplib.SMTPNotSupportedError(
                        f"{ep.host}:{ep.port} offers no STARTTLS: the login is not sent in clear (use smtps://)"
                    )
            if ep.username is not None:
                smtp.login(ep.username, ep.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> str:
        """Send ``message`` (which carries its Message-ID) and return that Message-ID.
        Raises ``smtplib.SMTPException`` or ``OSError`` when the server refuses or
        cannot be reached."""
        message_id = message["Message-ID"]
        if not message_id:
            raise ValueError("a notification carries its own Message-ID (see notifications.outbox)")
        if "From" not in message:
            message["From"] = self.mail_from
        smtp = self._connect()
        try:
            # One recipient per message: a refusal raises SMTPRecipientsRefused.
            smtp.send_message(message, from_addr=parseaddr(self.mail_from)[1])
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # the message was accepted; a failed goodbye changes nothing
        return str(message_id)
