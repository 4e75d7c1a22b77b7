"""Third-party collaboration on the incident page (R-INC-4): the customer asks the
provider to work with a vendor (an engineer may record a request made by phone); the
provider marks the vendor engaged, with the vendor's case number; either ends it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from unisupport.access import Forbidden
from unisupport.errors import InvalidInput, NotFound, UnisupportError
from unisupport.incidents.requests import CollaborationEndIn, EngagementIn, ThirdPartyIn
from unisupport.refusal import Refused
from unisupport.services import third_parties
from unisupport.web.page import (
    Form,
    Page,
    WebRoute,
    csrf_form,
    field_errors,
    page,
    redirect,
    render,
)
from unisupport.web.pages_incident import incident_context

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


def _collaborate(request: Request, incident_id: int, work) -> Response:
    """Run ``work(p)``; a refusal shows the incident page again, the message next to
    the third-party section."""
    with page(request) as p:
        error: UnisupportError | None = None
        try:
            with p.db.begin_nested():
                work(p)
        except ValidationError as exc:
            error = InvalidInput("; ".join(f"{k}: {v}" for k, v in field_errors(exc).items()), field="form")
        except NotFound:
            raise
        except (Refused, InvalidInput, Forbidden) as exc:
            error = exc
        if error is not None:
            context = incident_context(p, incident_id, error=error.message, error_rule=error.rule, action="third-party")
            status = 409 if isinstance(error, Refused) else 403 if isinstance(error, Forbidden) else 422
            return render(p, "incident.html", context | {"path": f"/incidents/{incident_id}"}, status=status)
        return redirect(p, f"/incidents/{incident_id}#third-parties")


@router.post("/incidents/{incident_id:int}/third-parties")
def request_collaboration(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = ThirdPartyIn.model_validate({"vendor": form.get("vendor") or "", "product": form.get("product") or None,
                                            "note": form.get("note") or None})
        third_parties.request_collaboration(p.db, p.principal, incident_id, data, now=p.now)
    return _collaborate(request, incident_id, work)


@router.post("/incidents/{incident_id:int}/third-parties/{collaboration_id:int}/engagement")
def engage(request: Request, incident_id: int, collaboration_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        data = EngagementIn.model_validate({"vendor_reference": form.get("vendor_reference") or None})
        third_parties.engage(p.db, p.principal, incident_id, collaboration_id, data, now=p.now)
    return _collaborate(request, incident_id, work)


@router.post("/incidents/{incident_id:int}/third-parties/{collaboration_id:int}/end")
def end(request: Request, incident_id: int, collaboration_id: int, form: FormData) -> Response:
    def work(p: Page) -> None:
        third_parties.end(p.db, p.principal, incident_id, collaboration_id, CollaborationEndIn(), now=p.now)
    return _collaborate(request, incident_id, work)
