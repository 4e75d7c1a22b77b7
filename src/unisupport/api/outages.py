"""``/api/v1/outages``: Azure platform outages told to MCSAP Plus customers'
pre-identified contacts (R-MCSAP-5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import NoticeDecision, Outage, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.mission_critical.platform_outage import OutageIn, OutageNoticeIn
from unisupport.services import platform_outages as svc

router = APIRouter(prefix="/api/v1/outages", tags=["platform outages"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/audience",
    summary="Who a notice would reach, and why, before anything is sent (R-MCSAP-5)",
    responses=answer(list[NoticeDecision]),
)
def audience(
    request: Request,
    credentials: Credentials,
    product: Annotated[
        list[str] | None, Query(max_length=100, description="Affected product codes; none: the whole platform")
    ] = None,
) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return [d.to_dict() for d in svc.audience(u.session, u.principal, product or [], now=u.now)]


@router.post(
    "",
    status_code=201,
    summary="Declare an Azure platform outage and tell the MCSAP Plus customers it concerns (R-MCSAP-5)",
    responses=answer(Outage, 201, "Declared"),
)
def declare(request: Request, data: OutageIn, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        outage, _ = svc.declare(u.session, u.principal, data, now=u.now)
        body = svc.outage_view(u.session, u.principal, outage)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/outages/{body['id']}"})


@router.post(
    "/{outage_id}/notices",
    summary="Post an update, or the end of the outage (resolved: true)",
    responses=answer(Outage),
)
def post_notice(
    request: Request, outage_id: RecordId, data: OutageNoticeIn, credentials: Credentials
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        svc.post_notice(u.session, u.principal, outage_id, data, now=u.now)
        return svc.outage_view(u.session, u.principal, svc.get_outage(u.session, u.principal, outage_id))


@router.get(
    "",
    summary="Platform outages (customers: those they were told of)",
    responses=answer(list[Outage]),
)
def list_outages(request: Request, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return [svc.outage_view(u.session, u.principal, o) for o in svc.outages(u.session, u.principal)]


@router.get(
    "/{outage_id}",
    summary="One outage with its notices and, per customer, who was told and why",
    responses=answer(Outage),
)
def get_outage(request: Request, outage_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return svc.outage_view(u.session, u.principal, svc.get_outage(u.session, u.principal, outage_id))
