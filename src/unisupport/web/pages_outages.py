"""Platform outages (R-MCSAP-5): the incident managers' page to declare an Azure
platform outage, see who it reaches and why, post updates and the end; customers see
the outages they were told of."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.catalog.product import default_products
from unisupport.mission_critical.platform_outage import OutageIn, OutageNoticeIn
from unisupport.services import platform_outages as svc
from unisupport.storage.tables import OutageNoticeRow, PlatformOutageRow
from unisupport.web.outcome import Notice, notice
from unisupport.web.page import (
    Form,
    Page,
    WebRoute,
    attempt,
    confirmed,
    csrf_form,
    page,
    preview,
    render,
    snapshot,
    submit,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


def _declarer(p: Page) -> bool:
    return p.principal.role in svc.DECLARERS


def _when(p: Page, value: str | None) -> str | None:
    return p.at(value) if value else None


def _summary(p: Page, row: PlatformOutageRow) -> dict[str, Any]:
    view = svc.outage_view(p.db, p.principal, row)
    return view | {
        "declared": _when(p, view["declared_at"]),
        "resolved": _when(p, view["resolved_at"]),
        "status_label": p.t(f"outage.status.{view['status']}"),
        "told": sum(d["notified"] for n in view["notices"][:1] for d in n["decisions"]),
    }


OUTAGE_FORM = "outage-form"
NOTICE_FORM = "notice-form"
PREVIEWED_OUTAGE = ("reference", "title", "products", "regions", "message")
PREVIEWED_NOTICE = ("message", "resolved")


def _outage_in(form: Form) -> OutageIn:
    return OutageIn.model_validate(
        {
            "reference": (form.get("reference") or "").strip(),
            "title": form.get("title") or "",
            "products": [c for c in form.getlist("products") if c],
            "message": form.get("message") or "",
            "regions": [r.strip() for r in (form.get("regions") or "").split(",") if r.strip()],
        }
    )


def _notice_in(form: Form) -> OutageNoticeIn:
    return OutageNoticeIn.model_validate({"message": form.get("message") or "", "resolved": form.flag("resolved")})


def _audience(p: Page, products: list[str]) -> dict[str, Any]:
    """Who a notice about ``products`` would reach and why (R-MCSAP-5), before it is
    sent: the same decisions the notice will record (``services.platform_outages.audience``)."""
    names = {x.code: x.name(p.language) for x in default_products()}
    decisions: list[dict[str, Any]] = [
        d.to_dict()
        | {
            "why": d.reason_fr if p.language == "fr" else d.reason,
            "products": ", ".join(names.get(c, c) for c in d.affected_products),
        }
        for d in svc.audience(p.db, p.principal, products, now=p.now)
    ]
    return {
        "decisions": decisions,
        "whole_platform": not products,
        "products": ", ".join(names.get(c, c) for c in products),
        "customers": sum(1 for d in decisions if d["notified"]),
        "contacts": sum(len(d["contacts"]) for d in decisions if d["notified"]),
    }


def outages_context(p: Page) -> dict[str, Any]:
    shown = snapshot(p, OUTAGE_FORM, PREVIEWED_OUTAGE) if _declarer(p) else None
    audience = None
    if shown is not None:
        audience, _ = attempt(p, lambda: _audience(p, [c for c in p.outcome_list(OUTAGE_FORM, "products") if c]))
    return {
        "outages": [_summary(p, o) for o in svc.outages(p.db, p.principal)],
        "declarer": _declarer(p),
        "products": [(x.code, x.name(p.language)) for x in default_products()],
        "form": OUTAGE_FORM,
        "values": p.outcome_values(OUTAGE_FORM),
        "chosen": p.outcome_list(OUTAGE_FORM, "products"),
        "audience": audience,
        "snapshot": shown if audience is not None else None,
    }


@router.get("/outages")
def outages_page(request: Request) -> Response:
    with page(request) as p:
        context = outages_context(p)
    return render(p, "outages.html", context)


@router.post("/outages/preview")
def preview_outage(request: Request, form: FormData) -> Response:
    """Who the declaration would tell, and why, before anything is sent."""
    with page(request, roles=svc.DECLARERS) as p:
        return preview(
            p,
            form,
            OUTAGE_FORM,
            lambda: svc.audience(p.db, p.principal, _outage_in(form).products, now=p.now),
            back="/outages",
        )


@router.post("/outages")
def declare(request: Request, form: FormData) -> Response:
    """Declare the outage and tell its audience — only as previewed; the form edited
    since (another product, no product: the whole platform), it is previewed again."""
    with page(request, roles=svc.DECLARERS) as p:
        if not confirmed(p, form, OUTAGE_FORM, PREVIEWED_OUTAGE):
            return preview(
                p,
                form,
                OUTAGE_FORM,
                lambda: svc.audience(p.db, p.principal, _outage_in(form).products, now=p.now),
                back="/outages",
                said=notice("preview.changed"),
            )
        return submit(
            p,
            form,
            OUTAGE_FORM,
            lambda: svc.declare(p.db, p.principal, _outage_in(form), now=p.now),
            back="/outages",
            then=lambda made: f"/outages/{made[0].id}",
            done=lambda made: _told(made[1]),
        )


def _told(notice_row: OutageNoticeRow) -> Notice:
    told = [d for d in notice_row.decisions if d["notified"]]
    return notice("done.outage_notice", customers=len(told), contacts=sum(len(d["contacts"]) for d in told))


def outage_context(p: Page, outage_id: int) -> dict[str, Any]:
    row = svc.get_outage(p.db, p.principal, outage_id)
    summary = _summary(p, row)
    names = {x.code: x.name(p.language) for x in default_products()}
    notices = [
        n
        | {
            "at_label": _when(p, n["at"]),
            "kind_label": p.t(f"outage.notice.{n['kind']}"),
            "decisions": [
                d
                | {
                    "why": d["reason_fr"] if p.language == "fr" else d["reason"],
                    "products": ", ".join(names.get(c, c) for c in d["affected_products"]),
                }
                for d in n["decisions"]
            ],
        }
        for n in summary["notices"]
    ]
    declarer = _declarer(p) and row.status == "active"
    shown = snapshot(p, NOTICE_FORM, PREVIEWED_NOTICE) if declarer else None
    audience = None
    if shown is not None:
        audience, _ = attempt(p, lambda: _audience(p, list(row.products)))
    return {
        "outage": summary,
        "notices": notices,
        "products": ", ".join(names.get(c, c) for c in row.products),
        "declarer": declarer,
        "form": NOTICE_FORM,
        "audience": audience,
        "snapshot": shown if audience is not None else None,
    }


@router.get("/outages/{outage_id:int}")
def outage_page(request: Request, outage_id: int) -> Response:
    with page(request) as p:
        context = outage_context(p, outage_id)
    return render(p, "outage.html", context)


def _check_notice(p: Page, outage_id: int, form: Form) -> object:
    _notice_in(form)
    return svc.audience(p.db, p.principal, list(svc.get_outage(p.db, p.principal, outage_id).products), now=p.now)


@router.post("/outages/{outage_id:int}/notices/preview")
def preview_notice(request: Request, outage_id: int, form: FormData) -> Response:
    with page(request, roles=svc.DECLARERS) as p:
        return preview(p, form, NOTICE_FORM, lambda: _check_notice(p, outage_id, form), back=f"/outages/{outage_id}")


@router.post("/outages/{outage_id:int}/notices")
def post_notice(request: Request, outage_id: int, form: FormData) -> Response:
    with page(request, roles=svc.DECLARERS) as p:
        back = f"/outages/{outage_id}"
        if not confirmed(p, form, NOTICE_FORM, PREVIEWED_NOTICE):
            return preview(
                p,
                form,
                NOTICE_FORM,
                lambda: _check_notice(p, outage_id, form),
                back=back,
                said=notice("preview.changed"),
            )
        return submit(
            p,
            form,
            NOTICE_FORM,
            lambda: svc.post_notice(p.db, p.principal, outage_id, _notice_in(form), now=p.now),
            back=back,
            done=_told,
        )
