"""Saved views on the pages (docs/decisions.md D107): the queue's and the list of
incidents' filters and sort, saved under a name by the user, listed beside the
filters as links that apply them, deleted by their owner (``services.saved_views``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.services import saved_views
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, submit

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
PATHS = {"queue": "/queue", "incidents": "/incidents"}


def view_address(page_name: str, filters: dict[str, str]) -> str:
    query = urlencode({k: v for k, v in sorted(filters.items()) if v})
    return PATHS[page_name] + (f"?{query}" if query else "")


def views_context(p: Page, page_name: str, current: dict[str, str]) -> dict[str, Any]:
    """The user's views of the page (name, link, id) and the filters a new one would keep."""
    return {
        "page": page_name,
        "mine": [
            {"id": v.id, "name": v.name, "href": view_address(page_name, v.filters)}
            for v in saved_views.list_views(p.db, p.principal, page_name)
        ],
        "current": {k: v for k, v in current.items() if v and k in saved_views.PAGES[page_name]},
    }


def _page_of(form: Form) -> str:
    name = form.get("page") or ""
    return name if name in PATHS else "incidents"


@router.post("/views")
def create_view(request: Request, form: FormData) -> Response:
    """Save the filters the page shows (its hidden ``filter.*`` fields) under a name."""
    page_name = _page_of(form)
    filters = {k.removeprefix("filter."): v for k, v in form.pairs if k.startswith("filter.")}
    with page(request) as p:
        back = view_address(page_name, filters)

        def work():
            return saved_views.create_view(p.db, p.principal, page_name, form.get("name") or "", filters, now=p.now)

        return submit(p, form, "views", work, back=back, done=lambda v: notice("done.view_saved", name=v.name))


@router.post("/views/{view_id:int}/deletion")
def delete_view(request: Request, view_id: int, form: FormData) -> Response:
    page_name = _page_of(form)
    with page(request) as p:

        def work() -> None:
            saved_views.delete_view(p.db, p.principal, view_id)

        return submit(p, form, "views", work, back=PATHS[page_name], done=notice("done.view_deleted"))
