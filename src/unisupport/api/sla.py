"""``/api/v1/sla/explain``: the SLA engine's calculator, same parameters and JSON
as ``unisupport sla explain --json``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import Explanation, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.errors import InvalidInput
from unisupport.inputs import Instant
from unisupport.sla import Calendar, Holding, explain
from unisupport.sla.matrix import Scope, default_matrix

router = APIRouter(prefix="/api/v1/sla", tags=["sla"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
Codes = Annotated[str | None, Query(max_length=2000)]


def _codes(value: str | None) -> frozenset[str] | None:
    return None if value is None else frozenset(v.strip() for v in value.split(",") if v.strip())


@router.get("/explain", summary="First-response target of an incident and why (R-SLA-1)", responses=answer(Explanation))
def explain_endpoint(
    request: Request,
    credentials: Credentials,
    severity: Annotated[str, Query(max_length=2)],
    product: Annotated[str, Query(max_length=64)],
    opened: Instant,
    country: Annotated[str, Query(max_length=2)],
    timezone: Annotated[str, Query(max_length=64)],
    plans: Annotated[str, Query(max_length=500)] = "",
    description: Annotated[str | None, Query(max_length=2000)] = None,
    event_start: Instant | None = None,
    event_end: Instant | None = None,
    arr_components: Codes = None,
    mcsap_products: Codes = None,
    security_tenants: Codes = None,
    tenant: Annotated[str | None, Query(max_length=200)] = None,
    language: Annotated[str | None, Query(max_length=2)] = None,
) -> dict[str, Any]:
    with unit(request, credentials):
        scopes = {
            Scope.AZURE_COMPONENTS: _codes(arr_components),
            Scope.ENROLLED_PRODUCTS: _codes(mcsap_products),
            Scope.TENANTS: _codes(security_tenants),
        }
        matrix = default_matrix()
        holdings = [
            Holding(code, scopes.get(matrix.plan(code).scope)) for code in (p.strip() for p in plans.split(",")) if code
        ]
        try:
            result = explain(
                severity=severity,
                product=product,
                opened=opened,
                calendar=Calendar.for_country(country, timezone),
                plans=holdings,
                description=description,
                event_start=event_start,
                event_end=event_end,
                tenant=tenant,
                language=language,
            )
        except InvalidInput as exc:
            raise InvalidInput(exc.message, field=exc.field, rule=exc.rule) from None
        return result.to_dict()
