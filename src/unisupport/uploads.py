"""Files over HTTP, for the API and the pages alike: a ``multipart/form-data`` upload
read within the message's limit (counted as it streams in: a request past it is
refused before it is all read, and nothing is stored), and a download answered so
that no browser ever renders it (``Content-Disposition: attachment`` with the RFC
6266 ``filename*``, ``X-Content-Type-Options: nosniff``, a sandboxing CSP)."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.attachment import MB, TooLarge
from unisupport.services.conversation import DEFAULT_CONVERSATION, ConversationSettings, default_blob_store
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import AttachmentRow

FORM_OVERHEAD = 1 * MB  # boundaries, part headers and the form's other fields
MAX_FILES = 50
FIELD_BYTES = 64 * 1024  # a text field of the composer (the body is at most 20,000 characters)


def blob_store_of(request: Request) -> BlobStore:
    """The app's blob store (``create_app(blobs=…)``), else the environment's, made on first use."""
    state = request.app.state
    if getattr(state, "blobs", None) is None:
        state.blobs = default_blob_store()
    return state.blobs


def conversation_settings_of(request: Request) -> ConversationSettings:
    return getattr(request.app.state, "conversation_settings", None) or DEFAULT_CONVERSATION


@dataclass
class Multipart:
    """What a multipart form carried: its files (under ``files``, in order) and its text fields."""

    files: list[tuple[str | None, bytes]] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        if not values:
            return None
        return values[0].strip() or None

    def getlist(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the files of one message make at most {limit // MB} MB", field="files")


async def read_multipart(request: Request, *, limit: int) -> Multipart:
    """The form's files and fields; refused (413, naming ``files``) as soon as the body
    passes ``limit`` and the form's overhead, 422 when it is not a multipart form."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        raise InvalidInput("send the files as multipart/form-data, each in a part named 'files'", field="files")
    ceiling = limit + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise _too_large(limit)

    async def counted() -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > ceiling:
                raise _too_large(limit)
            yield chunk

    parser = MultiPartParser(request.headers, counted(), max_files=MAX_FILES, max_fields=100, max_part_size=FIELD_BYTES)  # type: ignore[arg-type]
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"the form cannot be read: {exc.message}", field="files") from None
    out = Multipart()
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if name == "files" and (value.filename or data):  # a file input left empty sends neither
                out.files.append((value.filename, data))
        else:
            out.fields.setdefault(name, []).append(value)
    return out


def content_disposition(filename: str) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` (RFC 6266): an ASCII name for
    old clients, the real one for the others."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(c if c.isprintable() and c not in '"\\' else "_" for c in ascii_name).strip() or "attachment"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(blobs: BlobStore, attachment: AttachmentRow) -> Response:
    """The file, never shown inline whatever its type."""
    path = blobs.path(attachment.sha256)
    if not path.is_file():
        raise NotFound(
            f"the content of attachment {attachment.id} is missing from the file store", field="attachment_id"
        )
    return FileResponse(
        path,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
            "ETag": f'"{attachment.sha256}"',
        },
    )
