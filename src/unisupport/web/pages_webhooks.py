"""Webhooks (docs/webhooks.md): provider admins' and customer support administrators'
page of subscriptions — subscribe an address (its secret shown once), see each one's
delivery log with every try, redeliver, disable and enable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.errors import NotFound
from unisupport.notifications.webhooks import EVENT_TYPES
from unisupport.services import webhooks as svc
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, render, submit

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
FORM = "webhook-form"


def _view(p: Page, s: dict[str, Any]) -> dict[str, Any]:
    return s | {"created": p.at(s["created_at"]), "disabled": p.at(s["disabled_at"]) if s["disabled_at"] else None}


def webhooks_context(p: Page) -> dict[str, Any]:
    admin = p.principal.role is Role.ADMIN
    return {
        "subscriptions": [_view(p, s) for s in svc.subscriptions(p.db, p.principal)],
        "event_types": list(EVENT_TYPES),
        "admin": admin,
        "customers": svc.customer_choices(p.db) if admin else [],
        "form": FORM,
        "values": p.outcome_values(FORM),
        "chosen": p.outcome_list(FORM, "event_types"),
    }


@router.get("/webhooks")
def webhooks_page(request: Request) -> Response:
    with page(request, roles=svc.SUBSCRIBERS) as p:
        context = webhooks_context(p)
    return render(p, "webhooks.html", context)


def _webhook_in(form: Form) -> svc.WebhookIn:
    return svc.WebhookIn.model_validate(
        {
            "url": (form.get("url") or "").strip(),
            "event_types": [t for t in form.getlist("event_types") if t],
            "customer": (form.get("customer") or "").strip() or None,
            "description": form.get("description") or "",
            "internal": form.flag("internal"),
        }
    )


@router.post("/webhooks")
def create(request: Request, form: FormData) -> Response:
    with page(request, roles=svc.SUBSCRIBERS) as p:
        settings = request.app.state.webhook_settings
        return submit(
            p,
            form,
            FORM,
            lambda: svc.create_subscription(p.db, p.principal, _webhook_in(form), now=p.now, settings=settings),
            back="/webhooks",
            then=lambda made: f"/webhooks/{made.subscription['id']}",
            done=lambda made: notice("done.webhook_created", secret=made.secret),
            also=(NotFound,),
        )


def webhook_context(p: Page, subscription_id: int) -> dict[str, Any]:
    row = svc.get_subscription(p.db, p.principal, subscription_id)
    log = [
        d
        | {
            "created": p.at(d["created_at"]),
            "status_label": p.t(f"webhook.status.{d['status']}"),
            "tries": [
                t | {"when": p.at(t["at"]), "outcome_label": p.t(f"webhook.outcome.{t['outcome']}")} for t in d["tries"]
            ],
        }
        for d in svc.deliveries(p.db, p.principal, subscription_id, limit=50)
    ]
    return {"s": _view(p, svc.subscription_view(p.db, row)), "log": log}


@router.get("/webhooks/{subscription_id:int}")
def webhook_page(request: Request, subscription_id: int) -> Response:
    with page(request, roles=svc.SUBSCRIBERS) as p:
        context = webhook_context(p, subscription_id)
    return render(p, "webhook.html", context)


@router.post("/webhooks/{subscription_id:int}/state")
def set_state(request: Request, subscription_id: int, form: FormData) -> Response:
    with page(request, roles=svc.SUBSCRIBERS) as p:
        active = form.get("active") == "yes"
        return submit(
            p,
            form,
            "webhook-state",
            lambda: svc.set_active(p.db, p.principal, subscription_id, active, now=p.now),
            back=f"/webhooks/{subscription_id}",
            done=notice("done.webhook_enabled" if active else "done.webhook_disabled"),
        )


@router.post("/webhooks/{subscription_id:int}/deliveries/{delivery_id:int}/redelivery")
def redeliver(request: Request, subscription_id: int, delivery_id: int, form: FormData) -> Response:
    with page(request, roles=svc.SUBSCRIBERS) as p:
        return submit(
            p,
            form,
            f"redeliver-{delivery_id}",
            lambda: svc.redeliver(p.db, p.principal, subscription_id, delivery_id, now=p.now),
            back=f"/webhooks/{subscription_id}",
            done=notice("done.webhook_redelivery", id=delivery_id),
        )
