"""Third-party collaboration on the incident page (R-INC-4): the customer asks the
provider to work with a vendor (an engineer may record a request made by phone); the
provider marks the vendor engaged, with the vendor's case number; either ends it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.errors import Forbidden
from unisupport.incidents.requests import CollaborationEndIn, EngagementIn, ThirdPartyIn
from unisupport.services import third_parties
from unisupport.web.outcome import Notice, notice
from unisupport.web.page import (
    Form,
    Page,
    WebRoute,
    csrf_form,
    page,
)
from unisupport.web.pages_incident import act_on_incident

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


def _collaborate(request: Request, form: Form, incident_id: int, form_id: str, work, done: Notice) -> Response:
    with page(request) as p:
        return act_on_incident(p, form, incident_id, form_id, lambda: work(p), done=done, also=(Forbidden,))


@router.post("/incidents/{incident_id:int}/third-parties")
def request_collaboration(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = ThirdPartyIn.model_validate(
            {
                "vendor": form.get("vendor") or "",
                "product": form.get("product") or None,
                "note": form.get("note") or None,
            }
        )
        third_parties.request_collaboration(p.db, p.principal, incident_id, data, now=p.now)

    done = notice("done.third_party_requested", vendor=form.get("vendor") or "")
    return _collaborate(request, form, incident_id, "third-party-form", work, done)


@router.post("/incidents/{incident_id:int}/third-parties/{collaboration_id:int}/engagement")
def engage(request: Request, incident_id: int, collaboration_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = EngagementIn.model_validate({"vendor_reference": form.get("vendor_reference") or None})
        third_parties.engage(p.db, p.principal, incident_id, collaboration_id, data, now=p.now)

    form_id = f"third-party-engage-{collaboration_id}"
    return _collaborate(request, form, incident_id, form_id, work, notice("done.third_party_engaged"))


@router.post("/incidents/{incident_id:int}/third-parties/{collaboration_id:int}/end")
def end(request: Request, incident_id: int, collaboration_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        third_parties.end(p.db, p.principal, incident_id, collaboration_id, CollaborationEndIn(), now=p.now)

    form_id = f"third-party-end-{collaboration_id}"
    return _collaborate(request, form, incident_id, form_id, work, notice("done.third_party_ended"))
