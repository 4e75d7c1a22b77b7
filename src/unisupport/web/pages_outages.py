"""Platform outages (R-MCSAP-5): the incident managers' page to declare an Azure
platform outage, see who it reaches and why, post updates and the end; customers see
the outages they were told of."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.catalog.product import default_products
from unisupport.errors import UnisupportError
from unisupport.mission_critical.platform_outage import OutageIn, OutageNoticeIn
from unisupport.services import platform_outages as svc
from unisupport.storage.tables import PlatformOutageRow
from unisupport.web.page import (
    Form,
    Page,
    WebRoute,
    attempt,
    csrf_form,
    page,
    redirect,
    render,
    status_of,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
FIELDS = ("reference", "title", "regions", "message")


def _declarer(p: Page) -> bool:
    return p.principal.role in svc.DECLARERS


def _when(p: Page, value: str | None) -> str | None:
    return p.fmt.datetime(datetime.fromisoformat(value), p.zone or "UTC") if value else None


def _summary(p: Page, row: PlatformOutageRow) -> dict[str, Any]:
    view = svc.outage_view(p.db, p.principal, row)
    return view | {
        "declared": _when(p, view["declared_at"]),
        "resolved": _when(p, view["resolved_at"]),
        "status_label": p.t(f"outage.status.{view['status']}"),
        "told": sum(d["notified"] for n in view["notices"][:1] for d in n["decisions"]),
    }


def outages_context(
    p: Page,
    *,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    error: UnisupportError | None = None,
) -> dict[str, Any]:
    return {
        "outages": [_summary(p, o) for o in svc.outages(p.db, p.principal)],
        "declarer": _declarer(p),
        "products": [(x.code, x.name(p.language)) for x in default_products()],
        "values": values or {},
        "chosen": chosen or [],
        "error": error.message if error else None,
        "error_rule": error.rule if error else None,
    }


@router.get("/outages")
def outages_page(request: Request) -> Response:
    with page(request) as p:
        context = outages_context(p)
    return render(p, "outages.html", context)


@router.post("/outages")
def declare(request: Request, form: FormData) -> Response:
    chosen = [c for c in form.getlist("products") if c]
    with page(request, roles=svc.DECLARERS) as p:
        created: list[int] = []

        def act() -> None:
            data = OutageIn.model_validate(
                {
                    "reference": (form.get("reference") or "").strip(),
                    "title": form.get("title") or "",
                    "products": chosen,
                    "message": form.get("message") or "",
                    "regions": [r.strip() for r in (form.get("regions") or "").split(",") if r.strip()],
                }
            )
            outage, _ = svc.declare(p.db, p.principal, data, now=p.now)
            created.append(outage.id)

        _, error = attempt(p, act)
        if error is not None:
            context = outages_context(p, values=form.values(*FIELDS), chosen=chosen, error=error)
            return render(p, "outages.html", context | {"path": "/outages"}, status=status_of(error))
        return redirect(p, f"/outages/{created[0]}")


def outage_context(p: Page, outage_id: int, *, error: UnisupportError | None = None) -> dict[str, Any]:
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
    return {
        "outage": summary,
        "notices": notices,
        "products": ", ".join(names.get(c, c) for c in row.products),
        "declarer": _declarer(p) and row.status == "active",
        "error": error.message if error else None,
        "error_rule": error.rule if error else None,
    }


@router.get("/outages/{outage_id:int}")
def outage_page(request: Request, outage_id: int) -> Response:
    with page(request) as p:
        context = outage_context(p, outage_id)
    return render(p, "outage.html", context)


@router.post("/outages/{outage_id:int}/notices")
def post_notice(request: Request, outage_id: int, form: FormData) -> Response:
    with page(request, roles=svc.DECLARERS) as p:

        def act() -> None:
            data = OutageNoticeIn.model_validate(
                {"message": form.get("message") or "", "resolved": form.flag("resolved")}
            )
            svc.post_notice(p.db, p.principal, outage_id, data, now=p.now)

        _, error = attempt(p, act)
        if error is not None:
            context = outage_context(p, outage_id, error=error)
            return render(p, "outage.html", context | {"path": f"/outages/{outage_id}"}, status=status_of(error))
        return redirect(p, f"/outages/{outage_id}")
