"""``/api/v1/reports/…``: the monthly SLA and contract reports (issue 10), as JSON or
as CSV for a spreadsheet (docs/decisions.md D103). Same figures as the portal's
``/reports`` pages and ``unisupport report``; always within the caller's tenants."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from unisupport.api.answers import answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.inputs import Day
from unisupport.services.reports import consumption, sla
from unisupport.services.reports.csv import write_csv

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
From = Annotated[Day, Query(alias="from", description="First day reported on (ISO 8601 date, UTC).")]
To = Annotated[Day, Query(alias="to", description="Last day reported on, included.")]
Customer = Annotated[str | None, Query(max_length=64, description="A customer code; default: every one in scope.")]
Locale = Annotated[str, Query(pattern="^(en|fr)$", description="en: 1.5 and ','; fr: 1,5 and ';'.")]
CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "UTF-8 CSV with a byte order mark, one header row, as an attachment",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


class SlaLineOut(BaseModel):
    """One month × customer × severity × plan; minutes and per cents as decimal text, None when there is none."""

    month: str
    customer: str
    customer_name: str
    severity: str
    plan: str
    incidents: int
    first_response_met: int
    first_response_breached: int
    first_response_met_percent: str | None
    first_response_breached_percent: str | None
    first_response_minutes_median: str | None
    first_response_minutes_p90: str | None
    mitigate_minutes_median: str | None
    mitigate_minutes_p90: str | None
    close_minutes_median: str | None
    close_minutes_p90: str | None
    customer_requests: int
    customer_misses: int
    rcas_due: int
    rcas_on_time: int
    rcas_late: int
    updates_met: int
    updates_late: int
    updates_met_percent: str | None


class SlaReportOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    lines: list[SlaLineOut]


class ConsumptionLineOut(BaseModel):
    month: str
    customer: str
    customer_name: str
    service: str
    unit: str
    consumed: str
    forfeited: str
    forfeit_rules: str
    fees: str


class ConsumptionReportOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    lines: list[ConsumptionLineOut]


def _csv(body: bytes, name: str) -> Response:
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/sla", summary="SLA attainment by month × customer × severity × plan", responses=answer(SlaReportOut))
def sla_report(request: Request, credentials: Credentials, first: From, last: To, customer: Customer = None) -> Any:
    with unit(request, credentials) as u:
        lines = sla.sla_report(u.session, u.principal, sla.Period(first, last), now=u.now, customer=customer)
        return {"from": first.isoformat(), "to": last.isoformat(), "lines": [x.to_dict() for x in lines]}


@router.get("/sla.csv", summary="The SLA report as CSV", response_class=Response, responses=CSV)
def sla_csv(
    request: Request, credentials: Credentials, first: From, last: To, customer: Customer = None, locale: Locale = "en"
) -> Response:
    with unit(request, credentials) as u:
        lines = sla.sla_report(u.session, u.principal, sla.Period(first, last), now=u.now, customer=customer)
    return _csv(write_csv(sla.COLUMNS, (x.values() for x in lines), locale), f"sla-{first}-{last}.csv")


@router.get(
    "/consumption",
    summary="Consumption, forfeitures and cancellation fees by month × customer × service",
    responses=answer(ConsumptionReportOut),
)
def consumption_report(
    request: Request, credentials: Credentials, first: From, last: To, customer: Customer = None
) -> Any:
    with unit(request, credentials) as u:
        lines = consumption.consumption_report(u.session, u.principal, sla.Period(first, last), customer=customer)
        return {"from": first.isoformat(), "to": last.isoformat(), "lines": [x.to_dict() for x in lines]}


@router.get("/consumption.csv", summary="The consumption report as CSV", response_class=Response, responses=CSV)
def consumption_csv(
    request: Request, credentials: Credentials, first: From, last: To, customer: Customer = None, locale: Locale = "en"
) -> Response:
    with unit(request, credentials) as u:
        lines = consumption.consumption_report(u.session, u.principal, sla.Period(first, last), customer=customer)
    return _csv(write_csv(consumption.COLUMNS, (x.values() for x in lines), locale), f"consumption-{first}-{last}.csv")
