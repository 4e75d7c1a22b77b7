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
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.errors import InvalidInput
from unisupport.incidents.requests import ClosureIn, CommunicationIn, MitigationIn
from unisupport.incidents.routing import TEAMS
from unisupport.inputs import checked_instant
from unisupport.services import incidents as svc
from unisupport.services import queue as queue_svc
from unisupport.services import search
from unisupport.services.customers import customers_in_scope, preload
from unisupport.services.users import list_users
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
    submit,
)
from unisupport.web.pages_views import view_address, views_context
from unisupport.web.pages_incident import act_on_incident, change_severity_from_form, incident_row, team_name

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
QUEUE_PAGE = queue_svc.PAGE
MAX_OFFSET = 10_000  # deeper than this, a filter or a search finds it sooner
STATES = queue_svc.STATES
# The queue's columns, in the order shown: each sortable (services.queue.SORTS).
COLUMNS = (
    ("number", "incident.number"),
    ("title", "incident.title"),
    ("severity", "incident.severity"),
    ("customer", "incident.customer"),
    ("product", "incident.product"),
    ("team", "incident.team"),
    ("assignee", "queue.assignee"),
    ("answered", "queue.answered"),
    ("deadline", "queue.deadline"),
    ("due", "incident.first_response_due"),
    ("state", "incident.state"),
)


def _teams_of(p: Page) -> list[str]:
    """Engineers see their teams' incidents; the others may look at any team."""
    if p.principal.role is Role.ENGINEER:
        return sorted(p.principal.teams)
    return list(TEAMS)


def _sort_links(filters: dict[str, str], sort: str) -> dict[str, dict[str, Any]]:
    """Each column's header: a link sorting by it, the other way round when it is the sort already."""
    key, descending = queue_svc.parse_sort(sort)
    out = {}
    for column, label in COLUMNS:
        wanted = ("" if descending else "-") + column if column == key else column
        query = urlencode({k: v for k, v in (filters | {"sort": wanted}).items() if v})
        state = ("descending" if descending else "ascending") if column == key else "none"
        out[column] = {"key": column, "label": label, "href": f"/queue?{query}", "aria_sort": state}
    return out


def _page_address(filters: dict[str, str], sort: str, start: int) -> str:
    return view_address("queue", filters | {"sort": sort, "start": str(start) if start > 0 else ""})


def _queue_row(p: Page, r: queue_svc.QueueRow) -> dict[str, Any]:
    return incident_row(p, r.incident) | {
        "assignee": r.assignee or "",
        "answered": r.customer_answered,
        "deadline": p.at(r.next_deadline) if r.next_deadline else "",
        "deadline_iso": r.next_deadline.isoformat() if r.next_deadline else "",
        "deadline_clock": p.t(f"queue.clock.{r.next_clock}") if r.next_clock else "",
    }


def queue_context(
    p: Page,
    *,
    team: str | None,
    severity: str | None,
    customer: str | None,
    state: str | None,
    status: str | None,
    q: str | None = None,
    sort: str | None = None,
    start: int = 0,
) -> dict[str, Any]:
    teams = _teams_of(p)
    team = team if team in teams else None
    severity = severity if severity in [s.value for s in Severity] else None
    customers = customers_in_scope(p.db, p.principal.customer_scope)
    customer = customer if customer in [c.code for c in customers] else None
    state = state if state in STATES else None
    status = status if status in queue_svc.STATUSES else "open"
    text = (q or "").strip()[: search.MAX_LENGTH]
    key, descending = queue_svc.parse_sort(sort)
    sort = ("-" if descending else "") + key
    wanted = [team] if team else (teams if p.principal.role is Role.ENGINEER else None)
    found = queue_svc.queue(
        p.db,
        p.principal,
        queue_svc.QueueFilter(
            teams=wanted, severity=severity, customer=customer, state=state, status=status, q=text, sort=sort
        ),
        now=p.now,
        offset=start,
    )
    # The sites and customers of the rows, loaded at once and held while the rows are
    # built (the session's identity map keeps only what is referenced).
    _held = preload(p.db, [r.incident for r in found.rows])
    filters = {
        "team": team or "",
        "severity": severity or "",
        "customer": customer or "",
        "state": state or "",
        "status": status,
        "q": text,
    }
    return {
        "rows": [_queue_row(p, r) for r in found.rows],
        "truncated": found.truncated,
        "first": start + 1 if found.rows else 0,
        "last": start + len(found.rows),
        "previous": _page_address(filters, sort, start - QUEUE_PAGE) if start else "",
        "next": _page_address(filters, sort, start + QUEUE_PAGE) if found.truncated else "",
        "filters": filters,
        "sort": sort,
        "columns": _sort_links(filters, sort),
        "teams": [(code, team_name(p, code)) for code in teams],
        "severities": [(s.value, s.label(p.language)) for s in Severity],
        "customers": [(c.code, c.name) for c in customers],
        "states": [(s, p.t(f"state.{s}")) for s in STATES],
        "statuses": [(s, p.t(f"status.{s}")) for s in queue_svc.STATUSES],
        "no_team": p.principal.role is Role.ENGINEER and not teams,
        "engineers": [(u.email, u.name) for u in list_users(p.db) if u.active and u.role == Role.ENGINEER.value],
        "may_assign": p.principal.role in svc.PROVIDER_WORKERS,
        "views": views_context(p, "queue", filters | {"sort": sort}),
        "back": view_address("queue", filters | {"sort": sort}),
    }


@router.get("/queue")
def queue(
    request: Request,
    team: str | None = None,
    severity: str | None = None,
    customer: str | None = None,
    state: str | None = None,
    status: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    start: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    with page(request, roles=PROVIDER_ROLES) as p:
        context = queue_context(
            p, team=team, severity=severity, customer=customer, state=state, status=status, q=q, sort=sort, start=start
        )
    return render(p, "queue.html", context)


@router.post("/queue/assignments")
def bulk_assign(request: Request, form: FormData) -> Response:
    """Take the incidents selected (``action=take``) or name an engineer on them, each
    through the assignment service (an audited timeline event each, R-INC-3)."""
    back = form.get("back") or "/queue"
    back = back if back.startswith("/queue") else "/queue"
    with page(request, roles=svc.PROVIDER_WORKERS) as p:

        def work() -> queue_svc.BulkOutcome:
            ids = []
            for value in form.getlist("incident"):
                if not value.isdigit() or int(value) > 2**31 - 1:
                    raise InvalidInput(f"{value!r} is not an incident number", field="incidents")
                ids.append(int(value))
            person = p.principal.email if form.get("action") == "take" else (form.get("person") or "")
            return queue_svc.bulk_assign(p.db, p.principal, ids, person, now=p.now)

        def done(outcome: queue_svc.BulkOutcome) -> Notice:
            refused = "; ".join(f"#{i}: {why}" for i, why in outcome.refused)
            if refused:
                return notice("done.bulk_assignment_partly", count=len(outcome.done), refused=refused)
            return notice("done.bulk_assignment", count=len(outcome.done))

        return submit(p, form, "bulk", work, back=back, done=done)


# --------------------------------------------------------------------------- actions
def _local_instant(value: str | None, zone: str) -> datetime | None:
    """A ``datetime-local`` field, read in the incident's site zone, within the
    span every instant lies in (``unisupport.inputs``)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date and time", field="at") from None
    return checked_instant(moment, field="at")


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
                "at": _local_instant(form.get("at"), zone),
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
            {"summary": form.get("summary") or "", "at": _local_instant(form.get("at"), zone)}
        )
        svc.mitigate(p.db, p.principal, incident_id, data, now=p.now, expected_version=version)

    return _act(request, incident_id, form, "mitigation", work, notice("done.mitigation"))


@router.post("/incidents/{incident_id:int}/closure")
def close(request: Request, incident_id: int, form: FormData) -> Response:
    def work(p: Page, zone: str, version: int | None) -> None:
        data = ClosureIn.model_validate(
            {"summary": form.get("summary") or "", "at": _local_instant(form.get("at"), zone)}
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
