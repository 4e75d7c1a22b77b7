"""Communications users can refuse (R-COM-1): the one-click unsubscribe the optional
mails link to (RFC 8058: a POST of ``List-Unsubscribe=One-Click`` works without a
session; a GET only shows what the button will do, so a link checker never
unsubscribes anyone), the signed-in user's mail preferences, and the incident
managers' and CSAMs' announcements, previewed (who receives it, who refused and
why) before they are sent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from unisupport.notifications.kinds import BROADCASTS, OPTIONAL
from unisupport.services import announcements as svc
from unisupport.services import mail_preferences as prefs
from unisupport.services.customers import customers_in_scope
from unisupport.web.mail_links import links_of, token_form
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, refuse, render, run, submit

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
TokenForm = Annotated[Form, Depends(token_form)]


# ------------------------------------------------------------------ one-click unsubscribe
@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    with page(request, anonymous=True) as p:
        address, kind = prefs.read_unsubscribe(links_of(request), token)
        receives = prefs.preferences_of(p.db, address)[kind]
    return render(
        p, "unsubscribe.html", {"token": token, "address": address, "kind": kind, "receives": receives, "done": False}
    )


@router.post("/unsubscribe/{token}")
def unsubscribe_now(request: Request, token: str, form: TokenForm) -> HTMLResponse:
    """RFC 8058's one-click POST (``List-Unsubscribe=One-Click``), and the
    confirmation page's button: no session, no CSRF token — the signed link is the authority."""
    with page(request, anonymous=True) as p:
        done = prefs.unsubscribe(p.db, links_of(request), token, now=p.now)
    return render(p, "unsubscribe.html", {"token": token, "address": done.address, "kind": done.kind, "done": True})


# ------------------------------------------------------------------ preferences
PREFERENCES_FORM = "mail-preferences"


@router.get("/preferences")
def preferences_page(request: Request) -> Response:
    with page(request) as p:
        chosen = prefs.preferences_of(p.db, p.principal.email)
    return render(
        p,
        "preferences.html",
        {"kinds": OPTIONAL, "chosen": chosen, "form": PREFERENCES_FORM, "address": p.principal.email},
    )


@router.post("/preferences")
def save_preferences(request: Request, form: FormData) -> Response:
    with page(request) as p:
        receives = {k for k in form.getlist("receives") if k}
        return submit(
            p,
            form,
            PREFERENCES_FORM,
            lambda: prefs.set_my_preferences(p.db, p.principal, receives, now=p.now),
            back="/preferences",
            done=notice("preferences.saved"),
        )


# ------------------------------------------------------------------ announcements
ANNOUNCEMENT_FORM = "announcement"
FIELDS = ("kind", "subject_en", "subject_fr", "body_en", "body_fr")


def _announcement_in(form: Form) -> svc.AnnouncementIn:
    return svc.AnnouncementIn.model_validate(
        {**{f: form.get(f) or "" for f in FIELDS}, "customers": [c for c in form.getlist("customers") if c]}
        | {"kind": form.get("kind") or "announcement"}
    )


def _context(p: Page, values: dict[str, Any], chosen: list[str], preview: list[dict[str, Any]] | None) -> dict:
    p.principal.require(*svc.SENDERS, action="send announcements")
    return {
        "form": ANNOUNCEMENT_FORM,
        "values": values,
        "chosen": chosen,
        "kinds": BROADCASTS,
        "customers": [(c.code, c.name) for c in customers_in_scope(p.db, p.principal.customer_scope)],
        "preview": preview,
        "sent": [
            {
                "id": a.id,
                "subject": a.subject_fr if p.language == "fr" else a.subject_en,
                "queued": a.queued,
                "refused": a.refused,
                "at": p.at(a.created_at),
                "customers": ", ".join(a.customers),
            }
            for a in svc.announcements(p.db, p.principal)
        ],
    }


@router.get("/announcements")
def announcements_page(request: Request) -> Response:
    with page(request) as p:
        context = _context(p, p.outcome_values(ANNOUNCEMENT_FORM), p.outcome_list(ANNOUNCEMENT_FORM, "customers"), None)
    return render(p, "announcements.html", context)


@router.post("/announcements/preview")
def preview_announcement(request: Request, form: FormData) -> Response:
    """Who would receive it, and who refused its kind: shown with the form still filled in."""
    with page(request) as p:
        found, problems = run(p, lambda: _preview(p, form))
        if problems or found is None:
            return refuse(p, form, ANNOUNCEMENT_FORM, problems, back="/announcements")
        context = _context(p, form.values(*FIELDS), found[0], found[1])
    return render(p, "announcements.html", context)


def _preview(p: Page, form: Form) -> tuple[list[str], list[dict[str, Any]]]:
    data = _announcement_in(form)
    return list(data.customers), [r.to_dict() for r in svc.recipients(p.db, p.principal, data)]


@router.post("/announcements")
def send_announcement(request: Request, form: FormData) -> Response:
    with page(request) as p:
        return submit(
            p,
            form,
            ANNOUNCEMENT_FORM,
            lambda: svc.send(p.db, p.principal, _announcement_in(form), now=p.now),
            back="/announcements",
            done=lambda row: notice("announcement.sent", queued=row.queued, refused=row.refused),
        )
