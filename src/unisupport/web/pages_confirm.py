"""The confirm step of the actions that cannot be undone with one click
(``page.asked``): deactivating a user, ending their sessions, revoking a token,
marking an onboarding milestone done. The page says what the action does and what
follows from it; its button sends the same values again, confirmed; the other way
leads back, changing nothing. Platform outage notices have their own preview: the
audience (``pages_outages``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from unisupport.web.page import CONFIRMED_FIELD, WebRoute, page, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/confirm")
def confirm_page(request: Request) -> Response:
    with page(request) as p:
        outcome = p.outcome
        ask = outcome.ask if outcome is not None else None
        if outcome is None or ask is None:  # nothing to confirm (reopened an hour later, another session)
            return redirect(p, "/")
        context = {
            "question": p.t(ask.question.key, **ask.question.params),
            "consequences": [p.t(c.key, **c.params) for c in ask.consequences],
            "action": ask.action,
            "back": ask.back,
            "values": outcome.values,
            "confirmed_field": CONFIRMED_FIELD,
        }
    return render(p, "confirm.html", context)
