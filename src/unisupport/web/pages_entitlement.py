"""The engineer records the outcome of the supported-product check on the incident page (R-SUP-1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.errors import Forbidden
from unisupport.incidents.requests import EntitlementCheckIn
from unisupport.services.incidents.entitlement import record_entitlement_check
from unisupport.web.outcome import notice
from unisupport.web.page import Form, WebRoute, csrf_form, page
from unisupport.web.pages_incident import act_on_incident

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


@router.post("/incidents/{incident_id:int}/entitlement-check")
def check_entitlement(request: Request, incident_id: int, form: FormData) -> Response:
    with page(request) as p:

        def work() -> None:
            data = EntitlementCheckIn.model_validate({"outcome": form.get("outcome") or "", "note": form.get("note")})
            record_entitlement_check(p.db, p.principal, incident_id, data, now=p.now)

        done = notice("done.entitlement_checked")
        return act_on_incident(p, form, incident_id, "entitlement-form", work, done=done, also=(Forbidden,))
