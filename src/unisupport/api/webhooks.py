"""``/api/v1/webhooks``: subscriptions to signed event deliveries, their delivery log
and redelivery (docs/webhooks.md). Provider admins and customer support
administrators (their own customer's) only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from unisupport.api.answers import Webhook, WebhookCreated, WebhookDelivery, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.services import webhooks as svc
from unisupport.settings import WebhookSettings

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _settings(request: Request) -> WebhookSettings:
    return request.app.state.webhook_settings


@router.post(
    "",
    status_code=201,
    summary="Subscribe an https:// address to event types; the answer holds the signing secret, once",
    responses=answer(WebhookCreated, 201, "Subscribed"),
)
def create(request: Request, data: svc.WebhookIn, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        made = svc.create_subscription(u.session, u.principal, data, now=u.now, settings=_settings(request))
        body = {"subscription": made.subscription, "secret": made.secret}
    location = f"/api/v1/webhooks/{made.subscription['id']}"
    return JSONResponse(jsonable_encoder(body), status_code=201, headers={"Location": location})


@router.get("", summary="Webhook subscriptions in the caller's scope", responses=answer(list[Webhook]))
def list_subscriptions(request: Request, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return svc.subscriptions(u.session, u.principal)


@router.get("/{subscription_id}", summary="One webhook subscription", responses=answer(Webhook))
def get_subscription(request: Request, subscription_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return svc.subscription_view(u.session, svc.get_subscription(u.session, u.principal, subscription_id))


@router.post(
    "/{subscription_id}/state",
    summary="Disable a subscription, or enable it again (waiting deliveries get 24 hours more)",
    responses=answer(Webhook),
)
def set_state(
    request: Request, subscription_id: RecordId, data: svc.WebhookStateIn, credentials: Credentials
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return svc.set_active(u.session, u.principal, subscription_id, data.active, now=u.now)


@router.get(
    "/{subscription_id}/deliveries",
    summary="The delivery log, newest first: each delivery and its tries (status, duration, answer)",
    responses=answer(list[WebhookDelivery]),
)
def deliveries(
    request: Request,
    subscription_id: RecordId,
    credentials: Credentials,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return svc.deliveries(u.session, u.principal, subscription_id, limit=limit)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redelivery",
    summary="Send a delivery again, now, with the same webhook-id",
    responses=answer(WebhookDelivery),
)
def redeliver(
    request: Request, subscription_id: RecordId, delivery_id: RecordId, credentials: Credentials
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return svc.redeliver(u.session, u.principal, subscription_id, delivery_id, now=u.now)
