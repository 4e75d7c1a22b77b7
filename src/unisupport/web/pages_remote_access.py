"""Remote access on the incident page (R-RA-1): the customer authorises systems, a tool
and a window, and withdraws it; engineers start and end the sessions they log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.errors import Forbidden
from unisupport.incidents.requests import RemoteAccessIn, RemoteAccessWithdrawalIn, RemoteSessionEndIn, RemoteSessionIn
from unisupport.services import remote_access
from unisupport.web.outcome import Notice, notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page
from unisupport.web.pages_incident import act_on_incident
from unisupport.web.pages_provider import local_instant

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


def _act(request: Request, form: Form, incident_id: int, form_id: str, work, done: Notice) -> Response:
    with page(request) as p:
        return act_on_incident(p, form, incident_id, form_id, lambda: work(p), done=done, also=(Forbidden,))


@router.post("/incidents/{incident_id:int}/remote-access")
def authorise(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = RemoteAccessIn.model_validate(
            {
                "systems": [form.get("systems") or ""],
                "tool": form.get("tool") or "",
                "other_tool": form.get("other_tool"),
                "acknowledge_data_responsibility": form.flag("acknowledge_data_responsibility"),
                "valid_from": local_instant(form.get("valid_from"), p.zone, field="valid_from"),
                "valid_until": local_instant(form.get("valid_until"), p.zone, field="valid_until"),
                "note": form.get("note"),
            }
        )
        remote_access.authorise(p.db, p.principal, incident_id, data, now=p.now)

    return _act(request, form, incident_id, "remote-access-form", work, notice("done.remote_access_authorised"))


@router.post("/incidents/{incident_id:int}/remote-access/{authorisation_id:int}/withdrawal")
def withdraw(request: Request, incident_id: int, authorisation_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = RemoteAccessWithdrawalIn()
        remote_access.withdraw(p.db, p.principal, incident_id, authorisation_id, data, now=p.now)

    form_id = f"remote-access-withdraw-{authorisation_id}"
    return _act(request, form, incident_id, form_id, work, notice("done.remote_access_withdrawn"))


@router.post("/incidents/{incident_id:int}/remote-sessions")
def start_session(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = RemoteSessionIn.model_validate({"system": form.get("system") or "", "note": form.get("note")})
        remote_access.start_session(p.db, p.principal, incident_id, data, now=p.now)

    done = notice("done.remote_session_started", system=form.get("system") or "")
    return _act(request, form, incident_id, "remote-session-form", work, done)


@router.post("/incidents/{incident_id:int}/remote-sessions/{session_id:int}/end")
def end_session(request: Request, incident_id: int, session_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        remote_access.end_session(p.db, p.principal, incident_id, session_id, RemoteSessionEndIn(), now=p.now)

    form_id = f"remote-session-end-{session_id}"
    return _act(request, form, incident_id, form_id, work, notice("done.remote_session_ended"))
