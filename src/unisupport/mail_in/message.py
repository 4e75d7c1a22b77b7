"""Reading one inbound mail: the standard ``email`` package with ``policy.default``
(RFC 2047 headers, charsets, MIME), never raising on what arrives.

:func:`parse` turns the bytes an MTA or a mailbox hands over into a
:class:`ParsedMail`: sender, recipients, subject, the Message-ID (or a stable
synthetic one: a hash of the bytes), the thread headers, the text (the plain part
of a ``multipart/alternative``, else a rendering of the HTML by inscriptis:
docs/decisions.md D62), the text worth showing (``quoted_history``), and the
attachments and inline images with safe file names. Whatever could not be read —
an unknown charset, a broken MIME structure, an empty attachment — is said in
:attr:`ParsedMail.notes` instead of failing: the original is kept whole anyway."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import textwrap
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.policy import EmailPolicy
from functools import lru_cache
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from inscriptis import get_text  # type: ignore[import-untyped]

from unisupport.incidents.attachment import safe_name
from unisupport.mail_in.quoted_history import shown_text

MESSAGE_ID_LENGTH = 250  # longer ids are replaced by a hash of themselves (same id, same hash)
SUBJECT_LENGTH = 500
MAX_REFERENCES = 50  # the newest ones: a thread's own ids are at the end of References
_ID = re.compile(r"<([^<>\s]{1,2000})>")
_INVISIBLE = {"Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


@dataclass(frozen=True)
class InboundAttachment:
    """A file that came with a mail: an attachment, or an image shown inside it."""

    filename: str
    content_type: str
    data: bytes
    inline: bool
    content_id: str | None = None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # "<local@domain>"
    synthetic_id: bool  # the mail had none (or an unreadable one): a hash of its bytes
    sender: str  # the From address, lower-case ("" when there is none)
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To, Envelope-To: in order, once each
    # (as written: a reply token's letters keep their case)
    subject: str
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]  # In-Reply-To last, oldest first
    text: str  # the whole text of the body
    body: str  # the text worth showing (quoted history and signature trimmed)
    trimmed: bool
    html_only: bool
    attachments: tuple[InboundAttachment, ...]
    headers: dict[str, str]  # the headers the loop rules read, by lower-case name
    content_type: str  # of the whole mail, e.g. "multipart/report"
    report_type: str | None  # "delivery-status" for a DSN
    language: str | None  # Content-Language's primary tag
    size: int
    sha256: str
    notes: tuple[str, ...] = field(default=())


# The headers the loop and bounce rules read (automatic.py).
LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-loop",
    "x-failed-recipients",
)


class _Policy(EmailPolicy):
    """``policy.default``, with each header value parsed once: the parser and the
    accessors ask for a part's Content-Type a dozen times, and the header registry's
    parsing was most of the cost of reading a mail. Parsed headers are immutable."""

    def header_fetch_parse(self, name, value):  # noqa: ANN001, ANN201 - the policy's signature
        if hasattr(value, "name"):
            return value
        return _parsed_header(self, name, value)


@lru_cache(maxsize=512)
def _parsed_header(mail_policy: EmailPolicy, name: str, value: str):  # noqa: ANN202
    return EmailPolicy.header_fetch_parse(mail_policy, name, value)


MAIL_POLICY = _Policy()  # the same settings as policy.default


def parse(raw: bytes) -> ParsedMail:
    """Read a mail; never raises (see the module)."""
    notes: list[str] = []
    message = message_from_bytes(raw, policy=MAIL_POLICY)
    digest = hashlib.sha256(raw).hexdigest()
    raw_headers = _raw_headers(message)
    message_id, synthetic = _message_id(_first(raw_headers, "message-id"), digest)
    if synthetic:
        notes.append(f"the mail has no usable Message-ID: it is known as {message_id}")
    sender_name, sender = parseaddr(_header(message, "from"))
    references = _ids(_first(raw_headers, "references"))
    in_reply_to_ids = _ids(_first(raw_headers, "in-reply-to"))
    in_reply_to = in_reply_to_ids[-1] if in_reply_to_ids else None
    if in_reply_to and in_reply_to not in references:
        references.append(in_reply_to)
    subject = " ".join(_header(message, "subject").replace("\x00", "").split())[:SUBJECT_LENGTH]
    parts = _Parts(notes)
    parts.walk(message)
    text = "\n\n".join(t for t in parts.texts if t.strip()).replace("\x00", "")
    if not text.strip() and not parts.attachments and _broken(message):
        text = _raw_body(raw).replace("\x00", "")
        notes.append("the mail's MIME structure is broken: its raw text is shown")
    elif _broken(message) and not any("MIME" in note for note in notes):
        notes.append("the mail's MIME structure is broken: what could be read is shown")
    shown = shown_text(text, subject=subject)
    content_type = message.get_content_type()
    return ParsedMail(
        message_id=message_id,
        synthetic_id=synthetic,
        sender=sender.strip().lower() if "@" in sender else "",
        sender_name=" ".join(sender_name.replace("\x00", "").split()),
        recipients=_recipients(raw_headers),
        subject=subject,
        date=_date(_first(raw_headers, "date")),
        in_reply_to=in_reply_to,
        references=tuple(references[-MAX_REFERENCES:]),
        text=text,
        body=shown.text,
        trimmed=shown.trimmed,
        html_only=parts.html_only and not parts.plain_seen,
        attachments=tuple(parts.attachments),
        headers={name: " ".join(raw_headers[name][0].split()) for name in LOOP_HEADERS if name in raw_headers},
        content_type=content_type,
        report_type=_report_type(message) if content_type == "multipart/report" else None,
        language=_language(_first(raw_headers, "content-language")),
        size=len(raw),
        sha256=digest,
        notes=tuple(notes),
    )


def unreadable(raw: bytes) -> ParsedMail:
    """What is known of a mail :func:`parse` could not read: its size and a
    Message-ID made from its bytes (so that trying again finds the same record)."""
    digest = hashlib.sha256(raw).hexdigest()
    return ParsedMail(
        message_id=_message_id("", digest)[0],
        synthetic_id=True,
        sender="",
        sender_name="",
        recipients=(),
        subject="",
        date=None,
        in_reply_to=None,
        references=(),
        text="",
        body="",
        trimmed=False,
        html_only=False,
        attachments=(),
        headers={},
        content_type="",
        report_type=None,
        language=None,
        size=len(raw),
        sha256=digest,
    )


# ---------------------------------------------------------------- headers
def _header(message: Message, name: str) -> str:
    """A header decoded (RFC 2047), or "" — also when ``email`` cannot parse it, in
    which case its raw text is decoded as well as it can be."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - a malformed header must not lose the mail
        for key, raw in message.raw_items():
            if key.lower() == name:
                try:
                    return str(make_header(decode_header(str(raw))))
                except Exception:  # noqa: BLE001
                    return str(raw).encode("utf-8", "replace").decode("utf-8")
        return ""


def _message_id(value: str, digest: str) -> tuple[str, bool]:
    found = _ID.search(value or "")
    if found is None or "@" not in found.group(1):
        return f"<sha256-{digest[:40]}@mail-in.unisupport>", True
    message_id = f"<{found.group(1)}>"
    if len(message_id) > MESSAGE_ID_LENGTH:
        message_id = f"<long-{hashlib.sha256(message_id.encode()).hexdigest()[:40]}@mail-in.unisupport>"
    return message_id, False


def _ids(value: str) -> list[str]:
    out: list[str] = []
    for found in _ID.finditer(value or ""):
        mid = f"<{found.group(1)}>"
        if len(mid) <= MESSAGE_ID_LENGTH and mid not in out:
            out.append(mid)
    return out


def _raw_headers(message: Message) -> dict[str, list[str]]:
    """Every header's raw values, by lower-case name, unfolded. Read once: the headers
    that need no RFC 2047 decoding (identifiers, addresses, tokens) are taken from
    here, which costs a fraction of the header registry's parsing."""
    out: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        text = str(value).replace("\r", "").replace("\n", "")
        out.setdefault(name.lower(), []).append(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return out


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _recipients(headers: dict[str, list[str]]) -> tuple[str, ...]:
    values = [v for name in ("to", "cc", "delivered-to", "x-original-to", "envelope-to") for v in headers.get(name, [])]
    seen: dict[str, str] = {}
    for _name, address in getaddresses(values):
        address = address.strip()
        if "@" in address:
            seen.setdefault(address.lower(), address)
    return tuple(seen.values())


def _date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _report_type(message: Message) -> str | None:
    value = message.get_param("report-type")
    return value if isinstance(value, str) and value else None


def _language(value: str) -> str | None:
    tag = (value or "").split(",")[0].strip().split("-")[0].lower()
    return tag if re.fullmatch(r"[a-z]{2}", tag) else None


# ---------------------------------------------------------------- body and parts
class _Parts:
    """Walks the MIME tree: the texts to show, in order, and the attachments."""

    def __init__(self, notes: list[str]):
        self.notes = notes
        self.texts: list[str] = []
        self.attachments: list[InboundAttachment] = []
        self.html_only = False
        self.plain_seen = False
        self._reparsed = False
        self._kinds: dict[int, tuple[str, bool]] = {}

    def _kind(self, part: Message) -> tuple[str, bool]:
        """The part's content type, and whether it is body text; each header of a part
        is parsed once (the header registry's parsing is most of the reading's cost)."""
        known = self._kinds.get(id(part))
        if known is None:
            kind = part.get_content_type()
            body = kind in ("text/plain", "text/html") and _disposition(part) != "attachment" and not _filename(part)
            known = self._kinds[id(part)] = (kind, body)
        return known

    def walk(self, part: Message, *, related: bool = False) -> None:
        kind, body = self._kind(part)
        if part.is_multipart() and kind == "multipart/alternative":
            self._alternative(part)
        elif part.is_multipart() and kind.startswith("multipart/"):
            children = list(_children(part))
            for index, child in enumerate(children):
                # In multipart/related the first part is the body, the others what it shows.
                self.walk(child, related=kind == "multipart/related" and index > 0)
        elif kind.startswith("multipart/"):  # its boundary is not in its body: broken MIME
            self._unbounded(part)
        elif kind == "message/rfc822":
            self._attach(part, _attached_message(part), inline=False, default_name="message.eml")
        elif kind.startswith("message/"):  # a report's machine-readable part (delivery-status …)
            self._attach(part, _attached_message(part), inline=False)
        elif body and not related:
            self._text(part)
        else:
            self._attach(part, _payload(part), inline=related or _disposition(part) == "inline")

    def _unbounded(self, part: Message) -> None:
        """A multipart whose declared boundary never appears: read it again with the
        boundary its body does use, if a line looks like one; else show its text."""
        payload = _payload(part)
        found = re.search(rb"^--([^\s]{1,70})\s*$", payload, re.MULTILINE)
        if found and not self._reparsed:
            self._reparsed = True
            self.notes.append("the mail's MIME boundary is wrong: it was read with the one its body uses")
            head = f'Content-Type: {part.get_content_type()}; boundary="{found.group(1).decode("ascii", "replace")}"'
            self.walk(message_from_bytes(head.encode() + b"\n\n" + payload, policy=MAIL_POLICY))
            return
        self.notes.append("the mail's MIME structure is broken: its raw text is shown")
        self.texts.append(payload.decode("utf-8", "replace"))

    def _alternative(self, part: Message) -> None:
        children = list(_children(part))
        plain = [c for c in children if self._kind(c) == ("text/plain", True)]
        first = _decoded_text(plain[0], self.notes) if plain else ""
        if first.strip():
            self._text(plain[0], first)
            for other in children:  # inline images of the HTML alternative, if any
                if other.is_multipart():
                    self._images_only(other)
            return
        richer = [c for c in children if c not in plain]
        if richer:
            self.walk(richer[-1])  # the last alternative is the richest (RFC 2046)
        elif plain:
            self._text(plain[0], first)

    def _images_only(self, part: Message) -> None:
        for index, child in enumerate(_children(part)):
            if child.is_multipart():
                self._images_only(child)
            elif index > 0 or not self._kind(child)[1]:
                self._attach(child, _payload(child), inline=True)

    def _text(self, part: Message, decoded: str | None = None) -> None:
        text = _decoded_text(part, self.notes) if decoded is None else decoded
        if self._kind(part)[0] == "text/html":
            self.html_only = True
            text = _html_text(text, self.notes)
        else:
            self.plain_seen = True
        self.texts.append(text)

    def _attach(self, part: Message, data: bytes, *, inline: bool, default_name: str | None = None) -> None:
        raw_name = _filename(part) or default_name or ""
        content_type = self._kind(part)[0]
        name = mail_filename(raw_name, content_type, len(self.attachments) + 1)
        if raw_name and name != raw_name:
            self.notes.append(f"the file name {raw_name!r} is kept as {name!r}")
        if not data:
            self.notes.append(f"the attachment {name!r} is empty: it was left out")
            return
        cid = _ID.search(_header(part, "content-id") or "")
        self.attachments.append(
            InboundAttachment(
                filename=name,
                content_type=content_type,
                data=data,
                inline=inline,
                content_id=f"<{cid.group(1)}>" if cid else None,
            )
        )


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # noqa: BLE001
        return None


def _filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # noqa: BLE001
        return ""


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _attached_message(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        try:
            return payload[0].as_bytes(policy=policy.default)
        except Exception:  # noqa: BLE001
            return payload[0].as_bytes(policy=policy.compat32)
    return _payload(part)


def _decoded_text(part: Message, notes: list[str]) -> str:
    if isinstance(part, EmailMessage):
        try:
            return str(part.get_content())
        except (LookupError, UnicodeError, ValueError, AssertionError, KeyError):
            pass  # an unknown or lying charset, broken transfer encoding: decoded from the raw bytes below
    data = _payload(part)
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeError):
            continue
    notes.append(f"a text part in the unknown or wrong charset {charset!r} was read as Latin-1")
    return data.decode("latin-1")


def _html_text(html: str, notes: list[str]) -> str:
    try:
        return textwrap.dedent("\n".join(line.rstrip() for line in get_text(html).split("\n"))).strip("\n")
    except Exception:  # noqa: BLE001 - lxml refuses some documents; the original is kept
        notes.append("the HTML part could not be read: it is shown as it came")
        return html


def _broken(message: Message) -> bool:
    return any(part.defects for part in message.walk()) or bool(message.defects)


def _raw_body(raw: bytes) -> str:
    _head, _sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


# ---------------------------------------------------------------- file names
def mail_filename(name: str, content_type: str, index: int) -> str:
    """The name a mail's file is kept under: ``attachment.safe_name`` (no folders,
    no control characters, no leading dots…), after removing the invisible
    characters a name can hide behind (a right-to-left override turns ``gnp.exe``
    into what reads as ``exe.png``); ``attachment-N.ext`` when nothing is left."""
    visible = "".join(c for c in name or "" if unicodedata.category(c) not in _INVISIBLE)
    extension = mimetypes.guess_extension(content_type or "") or ".bin"
    return safe_name(visible, fallback=f"attachment-{index}{extension}")
