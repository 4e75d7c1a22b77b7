"""``/api/v1/incidents/{id}/remote-access`` and ``…/remote-sessions``: the customer's
authorisations of remote connections and the sessions engineers log (R-RA-1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import RemoteAccess, RemoteAccessChanged, RemoteTools, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, etag, unit
from unisupport.incidents import remote_access as ra
from unisupport.incidents.requests import RemoteAccessIn, RemoteAccessWithdrawalIn, RemoteSessionEndIn, RemoteSessionIn
from unisupport.services import incidents as svc
from unisupport.services import remote_access

router = APIRouter(prefix="/api/v1", tags=["remote access"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/remote-access/tools",
    summary="The remote-connection tools the provider approves (R-RA-1)",
    responses=answer(RemoteTools),
)
def tools(request: Request, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials):
        approved = ra.approved_tools()
        return {
            "version": approved.version,
            "items": [{"code": c, "en": en, "fr": fr} for c, (en, fr) in approved.tools.items()],
            "other": ra.OTHER_TOOL,
            "responsibility": ra.RESPONSIBILITY,
        }


def _view(u, incident_id: int) -> dict[str, Any]:
    incident = svc.get_incident(u.session, u.principal, incident_id)
    calendar = svc.calendar_of(u.session, incident)
    return remote_access.remote_access_view(u.session, u.principal, incident_id, now=u.now, calendar=calendar)


@router.get(
    "/incidents/{incident_id}/remote-access",
    summary="Whether an engineer may connect now, to which systems and until when; every authorisation and session",
    responses=answer(RemoteAccess),
)
def read(request: Request, incident_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return _view(u, incident_id)


def _change(request: Request, credentials, incident_id: int, change) -> JSONResponse:
    with unit(request, credentials) as u:
        change(u)
        incident = svc.get_incident(u.session, u.principal, incident_id)
        body = {"incident": svc.incident_view(u.session, incident, now=u.now), "remote_access": _view(u, incident_id)}
    return JSONResponse(body, headers={"ETag": etag(body["incident"]["version"])})


@router.post(
    "/incidents/{incident_id}/remote-access",
    summary="The customer authorises a remote connection: systems, tool, from and until (R-RA-1)",
    description="Customer users who are designated contacts only. A tool not approved (``tool: other``) needs "
    "``acknowledge_data_responsibility``: the customer is then responsible for its data.",
    responses=answer(RemoteAccessChanged),
)
def authorise(request: Request, incident_id: RecordId, data: RemoteAccessIn, credentials: Credentials) -> JSONResponse:
    return _change(
        request,
        credentials,
        incident_id,
        lambda u: remote_access.authorise(u.session, u.principal, incident_id, data, now=u.now),
    )


@router.post(
    "/incidents/{incident_id}/remote-access/{authorisation_id}/withdrawal",
    summary="The customer withdraws an authorisation: it ends now, and so do its open sessions (R-RA-1)",
    responses=answer(RemoteAccessChanged),
)
def withdraw(
    request: Request,
    incident_id: RecordId,
    authorisation_id: RecordId,
    data: RemoteAccessWithdrawalIn,
    credentials: Credentials,
) -> JSONResponse:
    return _change(
        request,
        credentials,
        incident_id,
        lambda u: remote_access.withdraw(u.session, u.principal, incident_id, authorisation_id, data, now=u.now),
    )


@router.post(
    "/incidents/{incident_id}/remote-sessions",
    summary="An engineer starts a remote session on an authorised system; refused without an authorisation in "
    "force (R-RA-1)",
    responses=answer(RemoteAccessChanged),
)
def start_session(
    request: Request, incident_id: RecordId, data: RemoteSessionIn, credentials: Credentials
) -> JSONResponse:
    return _change(
        request,
        credentials,
        incident_id,
        lambda u: remote_access.start_session(u.session, u.principal, incident_id, data, now=u.now),
    )


@router.post(
    "/incidents/{incident_id}/remote-sessions/{session_id}/end",
    summary="End a remote session (R-RA-1)",
    responses=answer(RemoteAccessChanged),
)
def end_session(
    request: Request, incident_id: RecordId, session_id: RecordId, data: RemoteSessionEndIn, credentials: Credentials
) -> JSONResponse:
    return _change(
        request,
        credentials,
        incident_id,
        lambda u: remote_access.end_session(u.session, u.principal, incident_id, session_id, data, now=u.now),
    )
