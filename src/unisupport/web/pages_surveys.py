"""Satisfaction surveys (R-CSAT-1): answered from the mail's signed link (no sign-in;
once; until it expires) in the contact's language, or from the portal; the results —
per customer, team, service and month, with response rates — on the incident
managers' and CSAMs' page, and as CSV (UTF-8 with a byte-order mark)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from unisupport.services import surveys as svc
from unisupport.storage.tables import SurveyRow
from unisupport.web.i18n import formatter
from unisupport.web.mail_links import links_of, token_form
from unisupport.web.outcome import notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, render, submit

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
TokenForm = Annotated[Form, Depends(token_form)]
SCORES = (1, 2, 3, 4, 5)


def _in_their_language(p: Page, row: SurveyRow) -> None:
    """A visitor from the mail reads the survey in the language it was mailed in,
    unless they chose one with the switch or are signed in."""
    if p.viewer is None and p.web.language is None and row.language != p.language:
        p.fmt = formatter(row.language, p.request.headers.get("accept-language"))
        p.request.state.web_language = row.language


def _about(p: Page, row: SurveyRow) -> str:
    return p.t(f"survey.about.{row.occasion}", reference=row.reference, service=row.service)


def _score(form: Form) -> int | None:
    return form.whole_number("score")


@router.get("/surveys/answer/{token}")
def answer_page(request: Request, token: str) -> Response:
    with page(request, anonymous=True) as p:
        row = svc.survey_of_link(p.db, links_of(request), token, now=p.now)
        _in_their_language(p, row)
        context = {"token": token, "about": _about(p, row), "scores": SCORES, "expires": p.at(row.expires_at)}
    return render(p, "survey_answer.html", context | {"done": False})


@router.post("/surveys/answer/{token}")
def answer_from_link(request: Request, token: str, form: TokenForm) -> HTMLResponse:
    """The answer, from the link: no session and no CSRF token — the signed, single-use link is the authority."""
    with page(request, anonymous=True) as p:
        row = svc.answer_from_link(
            p.db, links_of(request), token, score=_score(form), comment=form.get("comment"), now=p.now
        )
        _in_their_language(p, row)
        context = {"token": token, "about": _about(p, row), "scores": SCORES, "score": row.score}
    return render(p, "survey_answer.html", context | {"done": True})


SURVEY_FORM = "survey"


def _line(p: Page, line: svc.ResultLine) -> dict[str, Any]:
    rate, average = line.response_rate, line.average
    return line.to_dict() | {
        "rate_text": "—" if rate is None else p.fmt.percent(round(rate * 100)),
        "average_text": "—" if average is None else p.fmt.number(Decimal(f"{average:.1f}")),
    }


def _results(p: Page) -> dict[str, Any]:
    lines = svc.results(p.db, p.principal)
    return {
        "groupings": [(g, [_line(p, line) for line in lines[g]]) for g in svc.GROUPINGS],
        "answers": [
            {
                "customer": code,
                "reference": r.reference,
                "service": r.service,
                "team": r.team or "—",
                "score": r.score,
                "comment": r.comment or "",
                "at": p.at(r.answered_at),
                "via": r.answered_via,
            }
            for r, code in svc.answers(p.db, p.principal)
        ],
    }


@router.get("/surveys")
def surveys_page(request: Request) -> Response:
    """A contact's open surveys; the results for the incident managers and CSAMs."""
    with page(request) as p:
        reader = p.principal.role in svc.READERS
        context: dict[str, Any] = {"reader": reader, "form": SURVEY_FORM, "scores": SCORES}
        if reader:
            context |= _results(p)
        else:
            context["open"] = [
                {"id": r.id, "about": _about(p, r), "expires": p.at(r.expires_at)}
                for r in svc.open_surveys(p.db, p.principal, now=p.now)
            ]
    return render(p, "surveys.html", context)


@router.post("/surveys/{survey_id}/answer")
def answer_from_portal(request: Request, survey_id: int, form: FormData) -> Response:
    with page(request) as p:
        return submit(
            p,
            form,
            SURVEY_FORM,
            lambda: svc.answer_from_portal(
                p.db, p.principal, survey_id, score=_score(form), comment=form.get("comment"), now=p.now
            ),
            back="/surveys",
            done=notice("survey.thanks"),
        )


@router.get("/surveys/results.csv")
def results_csv(request: Request) -> Response:
    with page(request) as p:
        text = svc.results_csv(p.db, p.principal)
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="survey-results.csv"', "Cache-Control": "no-store"},
    )
