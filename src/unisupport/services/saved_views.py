"""A user's saved views (docs/decisions.md D107): a name for a set of filters and a
sort of the queue or of the list of incidents. Created, listed, applied (the page is
opened with the saved parameters) and deleted by their owner only: another user's
view is reported exactly like a missing one."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.storage.tables import SavedViewRow

# The parameters each page reads (what a view may hold), the sort among them.
PAGES: dict[str, frozenset[str]] = {
    "queue": frozenset({"team", "severity", "customer", "state", "status", "q", "sort"}),
    "incidents": frozenset({"status", "q"}),
}
MAX_VIEWS = 50


def _clean(page: str, filters: Mapping[str, object]) -> dict[str, str]:
    if page not in PAGES:
        raise InvalidInput(f"views are saved for {', '.join(sorted(PAGES))}, not {page!r}", field="page")
    unknown = sorted(set(filters) - PAGES[page])
    if unknown:
        raise InvalidInput(f"the {page} page has no filter {unknown[0]!r}", field="filters")
    out = {}
    for key, value in sorted(filters.items()):
        if not isinstance(value, str) or len(value) > 200:
            raise InvalidInput(f"{key} is text of at most 200 characters", field="filters")
        if value:
            out[key] = value
    return out


def create_view(
    session: Session, principal: Principal, page: str, name: str, filters: Mapping[str, object], *, now: datetime
) -> SavedViewRow:
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise InvalidInput("a view's name is 1 to 80 characters", field="name")
    cleaned = _clean(page, filters)
    mine = list_views(session, principal, page)
    if any(v.name == name for v in mine):
        raise InvalidInput(f"you already have a view named {name!r} on the {page} page", field="name")
    if len(mine) >= MAX_VIEWS:
        raise InvalidInput(f"at most {MAX_VIEWS} views per page", field="name")
    row = SavedViewRow(user_id=principal.user_id, page=page, name=name, filters=cleaned, created_at=now)
    session.add(row)
    session.flush()
    return row


def list_views(session: Session, principal: Principal, page: str | None = None) -> list[SavedViewRow]:
    """The principal's own views, by page and name."""
    query = select(SavedViewRow).where(SavedViewRow.user_id == principal.user_id)
    if page is not None:
        query = query.where(SavedViewRow.page == page)
    return list(session.scalars(query.order_by(SavedViewRow.page, SavedViewRow.name)))


def get_view(session: Session, principal: Principal, view_id: int) -> SavedViewRow:
    row = session.get(SavedViewRow, view_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound(f"no view {view_id}", field="id")
    return row


def delete_view(session: Session, principal: Principal, view_id: int) -> None:
    session.delete(get_view(session, principal, view_id))
    session.flush()
