"""``/api/v1/search`` (full-text search over incidents, ranked, with snippets) and
``/api/v1/views`` (the caller's own saved views of the queue and of the list of
incidents), docs/decisions.md D106–D107."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field

from unisupport.api.answers import SavedView, SearchPage, answer
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, unit
from unisupport.inputs import Input
from unisupport.services import saved_views
from unisupport.services import search as svc
from unisupport.services.customers import customer_by_id

router = APIRouter(prefix="/api/v1", tags=["search and views"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SavedViewIn(Input):
    page: Literal["queue", "incidents"]
    name: str = Field(min_length=1, max_length=80)
    filters: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict,
        description="The page's query parameters: queue — team, severity, customer, state, status, q, sort "
        "(a column, '-' before it for descending); incidents — status, q.",
    )


@router.get(
    "/search",
    summary="Full-text search over incidents (title, description, messages, file names), best match first",
    description="Within the caller's tenant scope; internal notes and their files for provider users only. "
    "French and English words are found by their stem (imprimantes → imprimante, printers → printer). "
    "The snippet is HTML: the text escaped, the words found in <mark>.",
    responses=answer(SearchPage),
)
def search(
    request: Request,
    credentials: Credentials,
    q: Annotated[str, Query(min_length=1, max_length=svc.MAX_LENGTH)],
    status: Annotated[str | None, Query(pattern="^(open|mitigated|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        found = svc.search_incidents(u.session, u.principal, q, status=status, limit=limit)
        return {
            "items": [
                {
                    "incident": incident.id,
                    "title": incident.title,
                    "status": incident.status,
                    "severity": incident.severity,
                    "customer": customer_by_id(u.session, incident.customer_id).code,
                    "rank": hit.rank,
                    "snippet": str(hit.snippet),
                }
                for incident, hit in found
            ]
        }


def _view(row) -> dict[str, Any]:
    return {
        "id": row.id,
        "page": row.page,
        "name": row.name,
        "filters": row.filters,
        "created_at": row.created_at.isoformat(),
    }


@router.get("/views", summary="The caller's saved views", responses=answer(list[SavedView]))
def list_views(
    request: Request,
    credentials: Credentials,
    page: Annotated[str | None, Query(pattern="^(queue|incidents)$")] = None,
) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return [_view(v) for v in saved_views.list_views(u.session, u.principal, page)]


@router.post(
    "/views", status_code=201, summary="Save a view (filters and sort) of a page", responses=answer(SavedView, 201)
)
def create_view(request: Request, data: SavedViewIn, credentials: Credentials) -> JSONResponse:
    with unit(request, credentials) as u:
        row = saved_views.create_view(u.session, u.principal, data.page, data.name, dict(data.filters), now=u.now)
        body = _view(row)
    return JSONResponse(body, status_code=201, headers={"Location": f"/api/v1/views/{body['id']}"})


@router.get("/views/{view_id}", summary="One of the caller's saved views", responses=answer(SavedView))
def get_view(request: Request, view_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        return _view(saved_views.get_view(u.session, u.principal, view_id))


@router.delete("/views/{view_id}", summary="Delete one of the caller's saved views", responses=answer(SavedView))
def delete_view(request: Request, view_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        body = _view(saved_views.get_view(u.session, u.principal, view_id))
        saved_views.delete_view(u.session, u.principal, view_id)
        return body
