"""``/api/v1/announcements``: an announcement to the contacts of chosen customers,
previewed (who receives it, who refused its kind) and sent through the outbox
(R-COM-1, docs/rules.md) — the same service as the ``/announcements`` page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import Announcement, AnnouncementRecipient, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.services import announcements as svc
from unisupport.services.mail_preferences import RULE
from unisupport.storage.tables import AnnouncementRow

router = APIRouter(prefix="/api/v1/announcements", tags=["communications"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def announcement_view(row: AnnouncementRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "subject_en": row.subject_en,
        "subject_fr": row.subject_fr,
        "customers": list(row.customers),
        "queued": row.queued,
        "refused": row.refused,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "rule": RULE,
    }


@router.post(
    "/audience",
    summary="Who an announcement would reach, and who refused its kind, before anything is sent (R-COM-1)",
    responses=answer(list[AnnouncementRecipient]),
)
def audience(request: Request, data: svc.AnnouncementIn, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return [r.to_dict() for r in svc.recipients(u.session, u.principal, data)]


@router.post(
    "",
    status_code=201,
    summary="Send an announcement: one mail per contact who did not refuse its kind, in their language (R-COM-1)",
    responses=answer(Announcement, 201, "Sent"),
)
def send(request: Request, data: svc.AnnouncementIn, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        body = announcement_view(svc.send(u.session, u.principal, data, now=u.now))
    return JSONResponse(body, status_code=201)
