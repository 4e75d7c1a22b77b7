"""``/api/v1/incidents/{id}/messages``, ``…/attachments``, ``…/copies``: the
conversation on an incident (docs/decisions.md D70–D79). Customers never receive an
internal note, nor a file one carries; posting one is 403."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.uploads import blob_store_of, conversation_settings_of, download, read_multipart
from unisupport.api.answers import FILE, Attachment, Copy, IncidentChanged, Message, MessagePosted, Uploaded, answer
from unisupport.api.problems import STALE
from unisupport.api.unit import Unit, bearer, etag, if_match, remember, replay, unit
from unisupport.errors import NotFound
from unisupport.incidents.requests import MessageIn
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc

router = APIRouter(prefix="/api/v1/incidents", tags=["conversation"])
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            }
        },
    }
}


def _thread_views(u: Unit, incident) -> list[dict[str, Any]]:
    calendar = svc.calendar_of(u.session, incident)
    provider = u.principal.role.is_provider
    return [
        conv.message_view(t, calendar, provider=provider)
        for t in conv.thread_messages(u.session, u.principal, incident)
    ]


@router.post(
    "/{incident_id}/messages",
    status_code=201,
    summary="Write on an incident: a reply to the customer (public, mailed; the first one is the first "
    "response, R-SEV-2) or an internal note (provider roles only; customers: 403). Send If-Match to check "
    "the version you read; Idempotency-Key to retry safely.",
    responses=answer(MessagePosted, 201, "Written") | STALE,
)
def post_message(
    request: Request, incident_id: RecordId, data: MessageIn, credentials: Credentials, key: IdempotencyKey = None
) -> JSONResponse:
    expected = if_match(request)
    with unit(request, credentials) as u:
        replayed, digest = replay(u, key, "POST", request.url.path, data)
        if replayed:
            return replayed
        message = conv.post_message(
            u.session,
            u.principal,
            incident_id,
            data,
            now=u.now,
            settings=request.app.state.incident_settings,
            conversation=conversation_settings_of(request),
            expected_version=expected,
            channel="api",
        )
        incident = svc.get_incident(u.session, u.principal, incident_id)
        [view] = [v for v in _thread_views(u, incident) if v["id"] == message.id]
        body = {"message": view, "incident": svc.incident_view(u.session, incident, now=u.now)}
        remember(u, key, "POST", request.url.path, digest, 201, body)
    return JSONResponse(
        body,
        status_code=201,
        headers={
            "ETag": etag(body["incident"]["version"]),
            "Location": f"/api/v1/incidents/{incident_id}/messages/{message.id}",
        },
    )


@router.get(
    "/{incident_id}/messages",
    summary="The incident's messages, oldest first (customers: the public ones)",
    responses=answer(list[Message]),
)
def list_messages(request: Request, incident_id: RecordId, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        items = _thread_views(u, incident)
        version = incident.version
    return JSONResponse(items, headers={"ETag": etag(version)})


@router.get(
    "/{incident_id}/messages/{message_id}",
    summary="One message",
    responses=answer(Message),
)
def get_message(
    request: Request, incident_id: RecordId, message_id: RecordId, credentials: Credentials
) -> JSONResponse:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        found = [v for v in _thread_views(u, incident) if v["id"] == message_id]
        if not found:
            raise NotFound(f"no message {message_id} on incident {incident_id}", field="message_id")
    return JSONResponse(found[0])


@router.post(
    "/{incident_id}/attachments",
    status_code=201,
    summary="Upload files (multipart, parts named 'files'), then send their ids in a message's 'attachments'. "
    "At most 25 MB a file and 100 MB a message by default: larger is 413, naming the file.",
    openapi_extra=UPLOAD_SCHEMA,
    responses=answer(Uploaded, 201, "Uploaded"),
)
async def upload_attachments(
    request: Request, incident_id: RecordId, credentials: Credentials, key: IdempotencyKey = None
) -> JSONResponse:
    def check() -> None:  # who and which incident, before a byte of the files is read
        with unit(request, credentials) as u:
            svc.get_incident(u.session, u.principal, incident_id)

    await run_in_threadpool(check)
    settings = conversation_settings_of(request)
    form = await read_multipart(request, limit=settings.message_max_bytes)
    files = [conv.UploadedFile(name, data) for name, data in form.files]

    def store() -> tuple[JSONResponse | None, dict[str, Any]]:
        with unit(request, credentials) as u:
            summary = [{"filename": f.filename, "sha256": hashlib.sha256(f.data).hexdigest()} for f in files]
            replayed, digest = replay(u, key, "POST", request.url.path, summary)
            if replayed:
                return replayed, {}
            rows = conv.store_uploads(
                u.session, u.principal, incident_id, files, blobs=blob_store_of(request), now=u.now, settings=settings
            )
            calendar = svc.calendar_of(u.session, svc.get_incident(u.session, u.principal, incident_id))
            body = {"items": [conv.attachment_view(r, calendar) for r in rows]}
            remember(u, key, "POST", request.url.path, digest, 201, body)
            return None, body

    replayed, body = await run_in_threadpool(store)
    return replayed or JSONResponse(body, status_code=201)


@router.get(
    "/{incident_id}/attachments",
    summary="The incident's files you may see: those of its messages (customers: of public ones) and your own "
    "uploads no message carries yet",
    responses=answer(list[Attachment]),
)
def list_attachments(request: Request, incident_id: RecordId, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        calendar = svc.calendar_of(u.session, incident)
        return [
            conv.attachment_view(a, calendar) for a, _ in conv.visible_attachments(u.session, u.principal, incident)
        ]


@router.get(
    "/{incident_id}/attachments/{attachment_id}",
    summary="Download one file (always as an attachment; another tenant's or an internal note's, for a customer: 404)",
    response_class=Response,
    responses=FILE,
)
def download_attachment(
    request: Request, incident_id: RecordId, attachment_id: RecordId, credentials: Credentials
) -> Response:
    with unit(request, credentials) as u:
        attachment = conv.attachment_to_download(u.session, u.principal, incident_id, attachment_id)
        return download(blob_store_of(request), attachment)


@router.get(
    "/{incident_id}/copies",
    summary="The addresses the incident's public messages are copied to",
    responses=answer(list[Copy]),
)
def list_copies(request: Request, incident_id: RecordId, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        incident = svc.get_incident(u.session, u.principal, incident_id)
        calendar = svc.calendar_of(u.session, incident)
        return [
            {"email": c.email, "added_by": c.added_by, "added_at": calendar.localize(c.added_at).isoformat()}
            for c in conv.copies_of(u.session, incident)
        ]


@router.delete(
    "/{incident_id}/copies/{email}",
    summary="Stop copying an address (send If-Match)",
    responses=answer(IncidentChanged) | STALE,
)
def remove_copy(
    request: Request, incident_id: RecordId, email: Annotated[str, Path(max_length=320)], credentials: Credentials
) -> JSONResponse:
    expected = if_match(request)
    with unit(request, credentials) as u:
        incident = conv.remove_copy(u.session, u.principal, incident_id, email, now=u.now, expected_version=expected)
        body = {"incident": svc.incident_view(u.session, incident, now=u.now)}
    return JSONResponse(body, headers={"ETag": etag(body["incident"]["version"])})
