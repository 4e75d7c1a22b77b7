"""The provider's console: the engineers' queue and the actions on an incident (log
a communication, change the severity, name an engineer or incident manager,
mitigate, close). The CSAM's and the administrator's pages are ``pages_accounts``
and ``pages_admin``.

The queue lists the incidents of the engineer's teams (R-INC-3 routes each one to a
team), every team for admins and incident managers, the assigned customers' for a
CSAM (their tenant scope); the soonest first-response due first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.errors import InvalidInput
from unisupport.incidents.requests import ClosureIn, CommunicationIn, MitigationIn
from unisupport.incidents.routing import TEAMS
from unisupport.inputs import checked_instant
from unisupport.services import incidents as svc
from unisupport.services.customers import customers_in_scope
from unisupport.sla.severity import Severity
from unisupport.web.outcome import Notice, notice
from unisupport.web.page import (
    PROVIDER_ROLES,
    Form,
    Page,
    WebRoute,
    csrf_form,
    page,
    render,
)
from unisupport.web.pages_incident import act_on_incident, change_severity_from_form, incident_row, team_name

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
QUEUE_LIMIT = 200
STATES = ("breached", "at-risk")


def _teams_of(p: Page) -> list[str]:
    """Engineers see their teams' incidents; the others may look at any team."""
    if p.principal.role is Role.ENGINEER:
        return sorted(p.principal.teams)
    return list(TEAMS)


def queue_context(
    p: Page, *, team: str | None, severity: str | None, customer: str | None, state: str | None, status: str | None
) -> dict[str, Any]:
    teams = _teams_of(p)
    team = team if team in teams else None
    severity = severity if severity in [s.value for s in Severity] else None
    customers = customers_in_scope(p.db, p.principal.customer_scope)
    customer = customer if customer in [c.code for c in customers] else None
    state = state if state in STATES else None
    status = status if status in ("open", "mitigated", "closed") else "open"
    wanted = [team] if team else (teams if p.principal.role is Role.ENGINEER else [None])
    rows: dict[int, Any] = {}
    for code in wanted:
        found, _ = svc.list_incidents(
            p.db,
            p.principal,
            svc.IncidentFilter(
                status=status,
                severity=severity,
                customer=customer,
                team=code,
                breached=True if state == "breached" else None,
            ),
            now=p.now,
            limit=QUEUE_LIMIT,
        )
        rows.update((r.id, r) for r in found)
    listed = [r for r in rows.values() if state != "at-risk" or svc.first_response_state(r, p.now) == "at-risk"]
    # Unanswered first, soonest due first (R-SLA-1's clock is the one that breaches).
    listed.sort(key=lambda r: (r.first_response_at is not None, r.first_response_due, r.id))
    return {
        "rows": [incident_row(p, r) for r in listed[:QUEUE_LIMIT]],
        "truncated": len(listed) > QUEUE_LIMIT,
        "filters": {
            "team": team or "",
            "severity": severity or "",
            "customer": customer or "",
            "state": state or "",
            "status": status,
        },
        "teams": [(code, team_name(p, code)) for code in teams],
        "severities": [(s.value, s.label(p.language)) for s in Severity],
        "customers": [(c.code, c.name) for c in customers],
        "states": [(s, p.t(f"state.{s}")) for s in STATES],
        "statuses": [(s, p.t(f"status.{s}")) for s in ("open", "mitigated", "closed")],
        "no_team": p.principal.role is Role.ENGINEER and not teams,
    }


@router.get("/queue")
def queue(
    request: Request,
    team: str | None = None,
    severity: str | None = None,
    customer: str | None = None,
    state: str | None = None,
    status: str | None = None,
) -> Response:
    with page(request, roles=PROVIDER_ROLES) as p:
        context = queue_context(p, team=team, severity=severity, customer=customer, state=state, status=status)
    return render(p, "queue.html", context)


# --------------------------------------------------------------------------- actions
def local_instant(value: str | None, zone: str, *, field: str = "at") -> datetime | None:
    """A ``datetime-local`` field, read in the zone the page shows times in, within the
    span every instant lies in (``unisupport.inputs``)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date and time", field=field) from None
    return checked_instant(moment, field=field)


def _act(request: Request, incident_id: int, form: Form, form_id: str, work, done: Notice) -> Response:
    """Run ``work(p, zone, version)`` and come back to the incident page with the
    outcome beside the form ``form_id``."""
    with page(request, roles=svc.PROVIDER_WORKERS) as p:
        svc.get_incident(p.db, p.principal, incident_id)  # NotFound for another tenant's
        zone = p.zone  # the times typed are read in the zone the page shows them in (D60)
        version = form.whole_number("version")
        return act_on_incident(p, form, incident_id, form_id, lambda: work(p, zone, version), done=done)


@router.post("/incidents/{incident_id:int}/communications")
def log_communication(request: Request, incident_id: int, form: FormData) -> Response:
    """The first outbound, non-automated phone call or e-mail is the first response (R-SEV-2)."""

    def work(p: Page, zone: str, version: int | None) -> None:
        data = CommunicationIn.model_validate(
            {
                "direction": form.get("direction") or "outbound",
                "medium": form.get("medium") or "",
                "body": form.get("body") or "",
                "at": local_instant(form.get("at"), zone),
                "requests_customer_action": form.flag("requests_customer_action"),
            }
        )
        svc.add_communication(
            p.db,
            p.principal,
            incident_id,
            data,
            now=p.now,
            settings=request.app.state.incident_settings,
            expected_version=version,
        )

    return _act(request, incident_id, form, "communication", work, notice("done.communication"))


@router.post("/incidents/{incident_id:int}/severity")
def change_severity(request: Request, incident_id: int, form: FormData) -> Response:
    """R-SEV-1: who, when, why; a downgrade needs its grounds (R-SEV-3, R-SLA-4)."""

    def work(p: Page, zone: str, version: int | None) -> None:
        change_severity_from_form(request, p, incident_id, form, version)

    return _act(
        request, incident_id, form, "severity", work, notice("done.severity", severity=form.get("severity") or "")
    )


@router.post("/incidents/{incident_id:int}/severity/confirmation")
def confirm_severity(request: Request, incident_id: int, form: FormData) -> Response:
    """R-SEV-1: the provider agrees the severity an incident was opened at by mail."""

    def work(p: Page, zone: str, version: int | None) -> None:
        svc.confirm_severity(p.db, p.principal, incident_id, now=p.now, expected_version=version)

    return _act(request, incident_id, form, "severity", work, notice("done.severity_confirmed"))


@router.post("/incidents/{incident_id:int}/mitigation")
def mitigate(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page, zone: str, version: int | None) -> None:
        data = MitigationIn.model_validate(
            {"summary": form.get("summary") or "", "at": local_instant(form.get("at"), zone)}
        )
        svc.mitigate(p.db, p.principal, incident_id, data, now=p.now, expected_version=version)

    return _act(request, incident_id, form, "mitigation", work, notice("done.mitigation"))


@router.post("/incidents/{incident_id:int}/closure")
def close(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page, zone: str, version: int | None) -> None:
        data = ClosureIn.model_validate(
            {"summary": form.get("summary") or "", "at": local_instant(form.get("at"), zone)}
        )
        svc.close(p.db, p.principal, incident_id, data, now=p.now, expected_version=version)

    return _act(request, incident_id, form, "closure", work, notice("done.closure"))


@router.post("/incidents/{incident_id:int}/assignments")
def assign(request: Request, incident_id: int, form: FormData) -> Response:
    """Name an engineer or an incident manager (beside the automatic roles, R-INC-3)."""

    def work(p: Page, zone: str, version: int | None) -> None:
        svc.assign(
            p.db,
            p.principal,
            incident_id,
            form.get("role") or "",
            form.get("person") or "",
            now=p.now,
            expected_version=version,
        )

    return _act(
        request, incident_id, form, "assignment", work, notice("done.assignment", person=form.get("person") or "")
    )
