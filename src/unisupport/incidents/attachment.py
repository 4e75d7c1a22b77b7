"""Files attached to an incident's messages (docs/decisions.md D73): their names,
their types and their limits. Pure functions over names and bytes.

* **Names** keep what a person reads (accents, spaces, the extension) and lose what
  could do harm anywhere the file is saved: path separators, control characters,
  leading dots, trailing dots and spaces, Windows' reserved device names (``CON``,
  ``aux.txt``…), and lengths past 200 characters. A name given by an uploader with a
  path separator or a control character is refused instead (:func:`upload_name`):
  the client is telling us something unusual, and saying so is clearer than a
  silent change. Names that come with mail are made safe (:func:`safe_name`): a
  customer's message is never refused for its attachment's name.
* **Types** are read from the bytes (``puremagic``), never from what the sender
  declared; what no signature names is ``text/plain`` when it reads as UTF-8 text,
  else ``application/octet-stream``.
* **Limits**: 25 MB a file and 100 MB a message by default (settings)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import puremagic

from unisupport.errors import InvalidInput, TooLarge

MB = 1024 * 1024
NAME_LENGTH = 200
SNIFF_BYTES = 64 * 1024  # enough for every signature puremagic knows (they sit at the start or the end)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 25 * MB
    message_bytes: int = 100 * MB


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size % MB else f"{size // MB} MB"


def safe_name(name: str | None, *, fallback: str = "attachment") -> str:
    """A readable name that is safe to save anywhere (see the module)."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("/", "_").replace("\\", "_")
    text = _UNSAFE.sub("_", text)
    text = " ".join(text.split())  # no runs of spaces, none at either end
    text = text.strip(". ") or fallback
    if _RESERVED.match(text):
        text = "_" + text
    if len(text) > NAME_LENGTH:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            text = stem[: NAME_LENGTH - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            text = text[:NAME_LENGTH].rstrip(". ")
    return text


def upload_name(name: str | None, *, field: str) -> str:
    """The name of an uploaded file: refused (naming ``field``) when empty or when it
    holds a path separator or a control character; otherwise :func:`safe_name`."""
    text = name or ""
    if not text.strip():
        raise InvalidInput("a file needs a name", field=field)
    shown = _CONTROL.sub("?", text)[:120]
    if "/" in text or "\\" in text:
        raise InvalidInput(
            f"the file name {shown!r} holds a path separator: send the file's own name only", field=field
        )
    if _CONTROL.search(text):
        raise InvalidInput(f"the file name {shown!r} holds control characters", field=field)
    return safe_name(text)


def check_sizes(sizes: list[tuple[str, int]], limits: Limits, *, field: str = "files") -> None:
    """Refuse, naming the file (``files[i]``), an empty file or one over the limit,
    and a set of files over the message's limit."""
    for i, (name, size) in enumerate(sizes):
        if size <= 0:
            raise InvalidInput(f"the file {name!r} is empty", field=f"{field}[{i}]")
        if size > limits.file_bytes:
            raise TooLarge(
                f"the file {name!r} is {_mb(size)}: a file is at most {_mb(limits.file_bytes)}",
                field=f"{field}[{i}]",
            )
    total = sum(size for _, size in sizes)
    if total > limits.message_bytes:
        raise TooLarge(
            f"these files make {_mb(total)}: a message carries at most {_mb(limits.message_bytes)}", field=field
        )


def content_type(data: bytes) -> str:
    """The type the bytes say they are (see the module)."""
    head = data[:SNIFF_BYTES]
    if len(data) > SNIFF_BYTES:
        head += data[-SNIFF_BYTES:]  # some signatures are at the end (zip directories, trailers)
    try:
        found = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return found
    try:
        data[:SNIFF_BYTES].decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is still text.
        if exc.start < min(len(data), SNIFF_BYTES) - 4:
            return "application/octet-stream"
    return "text/plain" if not _binary(data[:SNIFF_BYTES]) else "application/octet-stream"


def _binary(sample: bytes) -> bool:
    return b"\x00" in sample


def size_text(size: int) -> str:
    """``340 KB``, ``2.5 MB``: what a page or a mail says of a file's size."""
    if size < 1024:
        return f"{size} B"
    if size < MB:
        return f"{round(size / 1024)} KB"
    return f"{size / MB:.1f} MB"


@dataclass(frozen=True)
class ConversationSettings:
    """The attachment limits of a deployment (read by :mod:`unisupport.settings`)."""

    attachment_max_bytes: int = 25 * MB  # UNISUPPORT_ATTACHMENT_MAX_MB
    message_max_bytes: int = 100 * MB  # UNISUPPORT_MESSAGE_MAX_MB

    @property
    def limits(self) -> Limits:
        return Limits(self.attachment_max_bytes, self.message_max_bytes)
