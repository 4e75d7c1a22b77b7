"""The conversation on the incident page (docs/decisions.md D79): the composer — a
reply, an internal note or the customer's message, with several files and copies —
files downloaded, the copy list, reopening a closed incident, and the list of a
user's incidents with a search by number or title (customers find their closed
ones there, and answer them).

The composer posts ``multipart/form-data`` (its files): read within the message's
limit as it streams in (``api.files``), its CSRF token checked, then answered like
every form (``page.submit``: post, redirect, get, the outcome kept for the page)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from unisupport.access import Forbidden
from unisupport.uploads import blob_store_of, conversation_settings_of, download, read_multipart
from unisupport.errors import NotFound
from unisupport.incidents.requests import MessageIn, ReopeningIn
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc
from unisupport.services import search
from unisupport.services.customers import preload
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, render, require_csrf, submit
from unisupport.web.pages_incident import incident_row
from unisupport.web.pages_views import views_context
from unisupport.web.session import CSRF_FIELD
from unisupport.web.thread import FORM

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
_ADDRESSES = re.compile(r"[\s,;]+")
STATUSES = ("open", "mitigated", "closed")
LIST_LIMIT = 100


def addresses(text: str | None) -> list[str]:
    """The addresses of a CC field: separated by commas, semicolons or spaces."""
    return [a for a in _ADDRESSES.split(text or "") if a]


@router.post("/incidents/{incident_id:int}/messages")
async def write_message(request: Request, incident_id: int) -> Response:
    """The composer (see the module): a message too large for the limit is refused
    before it is all read (413); everything else comes back on the incident page."""
    settings = conversation_settings_of(request)
    received = await read_multipart(request, limit=settings.message_max_bytes)
    require_csrf(request, received.get(CSRF_FIELD))
    form = Form([(name, value) for name, values in received.fields.items() for value in values])
    files = [conv.UploadedFile(name, data) for name, data in received.files]

    def answer() -> Response:
        with page(request) as p:
            return _write(p, incident_id, form, files)

    return await run_in_threadpool(answer)


def _write(p: Page, incident_id: int, form: Form, files: list[conv.UploadedFile]) -> Response:
    request = p.request
    settings = conversation_settings_of(request)
    internal = form.get("visibility") == "internal"

    def work() -> Any:
        # The text first: a message refused for its words stores no file either.
        data = MessageIn.model_validate(
            {
                "visibility": "internal" if internal else "public",
                "body": form.get("body") or "",
                "cc": addresses(form.get("cc")),
                "needs_answer": form.flag("needs_answer"),
            }
        )
        uploaded = (
            conv.store_uploads(
                p.db, p.principal, incident_id, files, blobs=blob_store_of(request), now=p.now, settings=settings
            )
            if files
            else []
        )
        return conv.post_message(
            p.db,
            p.principal,
            incident_id,
            data.model_copy(update={"attachments": [u.id for u in uploaded]}),
            now=p.now,
            settings=request.app.state.incident_settings,
            conversation=settings,
            channel="web",
        )

    return submit(
        p,
        form,
        FORM,
        work,
        back=f"/incidents/{incident_id}",
        then=lambda message: f"/incidents/{incident_id}#message-{message.id}",
        done=notice("done.note") if internal else notice("done.message"),
        also=(Forbidden,),
        aliases={"attachments": "files"},
    )


@router.get("/incidents/{incident_id:int}/attachments/{attachment_id:int}")
def attachment(request: Request, incident_id: int, attachment_id: int) -> Response:
    """A file of the thread, as an attachment (never shown inline); another tenant's,
    or an internal note's for a customer, is a 404 like a missing one."""
    with page(request) as p:
        row = conv.attachment_to_download(p.db, p.principal, incident_id, attachment_id)
        return download(blob_store_of(request), row)


@router.post("/incidents/{incident_id:int}/copies/remove")
def remove_copy(request: Request, incident_id: int, form: FormData) -> Response:
    email = form.get("email") or ""
    with page(request) as p:
        return submit(
            p,
            form,
            "copies",
            lambda: conv.remove_copy(p.db, p.principal, incident_id, email, now=p.now),
            back=f"/incidents/{incident_id}",
            done=notice("done.copy_removed", email=email),
            also=(NotFound,),
        )


@router.post("/incidents/{incident_id:int}/reopening")
def reopen(request: Request, incident_id: int, form: FormData) -> Response:
    """A provider worker reopens a closed incident, saying why (R-INC-1)."""
    with page(request, roles=svc.PROVIDER_WORKERS) as p:

        def work() -> None:
            data = ReopeningIn.model_validate({"reason": form.get("reason") or ""})
            incident = svc.get_incident(p.db, p.principal, incident_id, lock=True)
            svc.reopen(p.db, incident, actor=p.principal.email, reason=data.reason, now=p.now)

        return submit(p, form, "reopening", work, back=f"/incidents/{incident_id}", done=notice("done.reopened"))


def incidents_context(p: Page, *, q: str | None, status: str | None) -> dict[str, Any]:
    """The incidents the user sees: newest first, or those the words find (full-text,
    ``services.search``), best first with their snippets; a number finds that incident."""
    status = status if status in STATUSES else None
    text = (q or "").strip()[: search.MAX_LENGTH] or None
    if text and not svc.is_incident_number(text) and search.words(text):
        found = search.search_incidents(p.db, p.principal, text, status=status, limit=LIST_LIMIT)
        _held = preload(p.db, [r for r, _ in found])  # referenced while the rows are built
        rows = [incident_row(p, r) | {"snippet": hit.snippet} for r, hit in found]
    else:
        listed, _ = svc.list_incidents(
            p.db, p.principal, svc.IncidentFilter(status=status, text=text), now=p.now, limit=LIST_LIMIT
        )
        _held = preload(p.db, listed)
        rows = [incident_row(p, r) for r in listed]
    return {
        "rows": rows,
        "q": text or "",
        "status": status or "",
        "statuses": [(s, p.t(f"status.{s}")) for s in STATUSES],
        "truncated": len(rows) == LIST_LIMIT,
        "show_customer": p.principal.role.is_provider,
        "ranked": any("snippet" in r for r in rows),
        "views": views_context(p, "incidents", {"q": text or "", "status": status or ""}),
    }


@router.get("/incidents")
def incidents(request: Request, q: str | None = None, status: str | None = None) -> Response:
    with page(request) as p:
        context = incidents_context(p, q=q, status=status)
    return render(p, "incidents.html", context)
