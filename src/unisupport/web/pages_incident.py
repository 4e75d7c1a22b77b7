"""The incident page, shared by customers and provider users, and the pieces of it
that lists reuse (a row with its first-response countdown).

What it shows comes from ``services.incidents``: the target and its state
(R-SLA-1, R-SEV-2), the resolver's explanation with every plan considered, the
day-by-day story of business time (R-SEV-4), the severity history with reasons
(R-SEV-1, R-SEV-3, R-SLA-4), the timeline of communications and events, and the
RCA window (R-RCA-1, R-RCA-2). Provider workers also get the action forms
(``pages_provider``)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.catalog import default_catalog, default_products
from unisupport.errors import UnisupportError
from unisupport.incidents.communication import Direction, Medium
from unisupport.incidents.requests import SeverityChangeIn, StateChangeIn
from unisupport.incidents.routing import TEAMS
from unisupport.incidents.severity_change import ORDER as SEVERITY_ORDER
from unisupport.incidents.severity_change import DowngradeGrounds
from unisupport.incidents.state import State, targets
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc
from unisupport.services.customers import contact_by_id, customer_by_id, site_by_id
from unisupport.services.users import list_users
from unisupport.sla.calendar import epoch_seconds
from unisupport.sla.severity import Severity
from unisupport.sla.story import business_time_days
from unisupport.storage.tables import IncidentRow, SiteRow
from unisupport.web.diagnosis import diagnosis_context
from unisupport.web.entitlement import entitlement_context
from unisupport.web.outcome import Notice, notice
from unisupport.web.page import Form, Page, WebRoute, csrf_form, page, render, submit
from unisupport.web.reasons import say
from unisupport.web.remote_access import remote_access_context
from unisupport.web.thread import composer_context, linked_communications, thread_context

router = APIRouter(route_class=WebRoute, include_in_schema=False)
WORKERS = svc.PROVIDER_WORKERS
FormData = Annotated[Form, Depends(csrf_form)]


# --------------------------------------------------------------------------- names
def product_name(p: Page, code: str) -> str:
    products = default_products()
    return products.get(code).name(p.language) if code in products else code


def plan_name(p: Page, code: str) -> str:
    catalog = default_catalog()
    if code in catalog:
        return catalog.get(code).name(p.language)
    return p.fmt.t_or(f"plan.{code}", code)


def team_name(p: Page, code: str | None) -> str:
    if code in TEAMS:
        return TEAMS[code][1 if p.language == "fr" else 0]
    return code or "—"


def site_label(p: Page, site: SiteRow | None) -> str:
    """A site as the reader knows it: its code for provider users, its name for
    customers (``paris`` is the provider's word for « Contoso France, Paris »)."""
    if site is None:
        return ""
    if p.principal.role.is_provider:
        return site.code
    return site.name or site.code


def severity_label(p: Page, value: str) -> str:
    return Severity(value).label(p.language)


# --------------------------------------------------------------------------- countdowns
def duration(p: Page, seconds: int) -> str:
    """``2 h 05 min``, ``3 j 4 h``: the same compact form ``countdown.js`` writes."""
    minutes = max(0, seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} {p.t('countdown.day_unit')} {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def countdown_text(p: Page, left: int) -> str:
    """The countdown in words, as the state badge says it (``countdown.js`` says the
    same): due in less than a minute is « less than a minute left », never « 0 min
    left »; the due instant passed is overdue — the badge says breached — and never
    « overdue by 0 min »."""
    if left >= 60:
        return p.t("countdown.left", time=duration(p, left))
    if left > 0:
        return p.t("countdown.under_a_minute")
    if left > -60:
        return p.t("countdown.just_over")
    return p.t("countdown.over", time=duration(p, -left))


def countdown(p: Page, due: datetime, settled: bool, warn_at: datetime | None = None) -> dict[str, Any] | None:
    """What the countdown shows now (and what the script needs to keep counting,
    and to keep the state badge beside it saying the same: at risk from
    ``warn_at``, breached from ``due``)."""
    if settled:
        return None
    left = epoch_seconds(due) - epoch_seconds(p.now)
    return {
        "to": due.isoformat(),
        "warn": warn_at.isoformat() if warn_at is not None else "",
        "text": countdown_text(p, left),
        "left": p.t("countdown.left", time="{time}"),
        "over": p.t("countdown.over", time="{time}"),
        "soon": p.t("countdown.under_a_minute"),
        "just": p.t("countdown.just_over"),
        "day_unit": p.t("countdown.day_unit"),
        "states": {s: p.t(f"state.{s}") for s in ("pending", "at-risk", "breached")},
    }


def incident_row(p: Page, row: IncidentRow) -> dict[str, Any]:
    """One line of a list of incidents (the dashboard, the queue)."""
    site = site_by_id(p.db, row.site_id)
    customer = customer_by_id(p.db, row.customer_id)
    state = svc.first_response_state(row, p.now)
    return {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "severity_label": severity_label(p, row.severity),
        "product": product_name(p, row.product),
        "site": site.code if site else "",
        "site_label": site_label(p, site),
        "customer": customer.name if customer else "",
        "customer_code": customer.code if customer else "",
        "team": team_name(p, row.team),
        "status": row.status,
        "status_label": p.t(f"status.{row.status}"),
        "state": state,
        "state_label": p.t(f"state.{state}"),
        "due": p.at(row.first_response_due),
        "due_iso": row.first_response_due.isoformat(),
        "countdown": countdown(
            p, row.first_response_due, row.first_response_at is not None, row.first_response_warn_at
        ),
    }


# --------------------------------------------------------------------------- the page
def _severity_history(p: Page, events) -> list[dict[str, Any]]:
    out = []
    for e in events:
        if e.kind == "opened":
            out.append(
                {
                    "at": p.at(e.at),
                    "actor": actor_name(p, e.actor),
                    "from": None,
                    "to": severity_label(p, (e.after or {}).get("severity", ""))
                    if (e.after or {}).get("severity")
                    else "—",
                    "reason": None,
                    "grounds": None,
                    "rule": "R-SEV-1",
                }
            )
        elif e.kind == "severity-changed":
            grounds = (e.after or {}).get("grounds")
            out.append(
                {
                    "at": p.at(e.at),
                    "actor": actor_name(p, e.actor),
                    "from": severity_label(p, e.before["severity"]) if e.before else None,
                    "to": severity_label(p, e.after["severity"]) if e.after else "—",
                    "reason": e.reason,
                    "grounds": p.fmt.t_or(f"grounds.{grounds}", grounds) if grounds else None,
                    "rule": e.rule,
                }
            )
    return out


def _event_detail(p: Page, e) -> str | None:
    after = e.after or {}
    if e.kind == "routed":
        return team_name(p, after.get("team"))
    if e.kind == "role-assigned":
        role = p.fmt.t_or(f"role.{after.get('role')}", str(after.get("role")))
        return f"{role}: {after['person']}" if after.get("person") else role
    if e.kind == "first-response":
        return p.t(f"state.{after.get('state', 'met')}")
    return None


def actor_name(p: Page, actor: str) -> str:
    """Who did it: a person's e-mail, or the system's own doing, in words."""
    return p.t("actor.system") if actor == "system" else actor


def _event_reason(p: Page, e) -> str | None:
    """The reason of the events the system words the same way every time, in the
    page's language ("" when the line says it all); None: the recorded reason, said
    by ``web.reasons`` (a known sentence in the page's language, a person's words
    as written)."""
    after = e.after or {}
    if e.kind == "opened" and after.get("due"):
        return p.t(
            "timeline.opened",
            due=p.at(after["due"], long=True),
            plan=plan_name(p, after.get("plan", "")),
        )
    if e.kind == "role-assigned":
        return p.t("timeline.assigned_automatically") if e.actor == "system" else ""
    if e.kind == "first-response":
        return p.t("timeline.first_contact")
    if e.kind == "pir-created":
        return p.t("timeline.pir")
    return None


def _timeline(p: Page, events, comms, *, linked: AbstractSet[int] = frozenset()) -> list[dict[str, Any]]:
    """The communications (but those ``linked`` to a message, shown with it) and the
    events, worded for the page; the conversation merges its messages in (``web.thread``)."""
    items = []
    for c in comms:
        if c.id in linked:
            continue
        items.append(
            {
                "sort": (epoch_seconds(c.at), 0, c.id),
                "kind": "communication",
                "at": p.at(c.at),
                "local_reason": None,
                "label": p.t(f"direction.{c.direction}") + " · " + p.t(f"medium.{c.medium}"),
                "actor": actor_name(p, c.author),
                "body": p.t("timeline.acknowledgement") if c.automated and c.body == svc.ACKNOWLEDGEMENT else c.body,
                "automated": c.automated,
                "first_response": c.first_response,
                "reason": None,
                "rule": "R-SEV-2" if c.first_response or c.automated else None,
                "detail": None,
                "logged_late": epoch_seconds(c.logged_at) - epoch_seconds(c.at) > 60,
            }
        )
    for e in events:
        if e.kind == "communication":  # shown with its text above
            continue
        local = _event_reason(p, e)
        said = say(p.fmt, e.reason, as_written=p.principal.role.is_provider) if local is None else None
        items.append(
            {
                "sort": (epoch_seconds(e.at), 1, e.id),
                "kind": e.kind,
                "at": p.at(e.at),
                "label": p.fmt.t_or(f"event.{e.kind}", e.kind),
                "actor": actor_name(p, e.actor),
                "body": None,
                "automated": False,
                "first_response": False,
                "reason": said,
                "local_reason": local or None,
                "rule": e.rule,
                "detail": _event_detail(p, e),
                "logged_late": False,
            }
        )
    return sorted(items, key=lambda i: i["sort"])


def _story(p: Page, calendar, start: datetime, due: datetime) -> list[dict[str, Any]]:
    zone = calendar.timezone
    out = []
    for d in business_time_days(calendar, start, due):
        day = p.fmt.date(d.day, long=True)
        if d.closed == "closure":
            text = p.t("story.closure")
        elif d.closed == "holiday":
            text = p.t("story.holiday", name=d.holiday)
        elif d.closed == "weekend":
            text = p.t("story.weekend")
        elif d.counted:
            windows = ", ".join(f"{p.fmt.time(a, zone)}–{p.fmt.time(b, zone)}" for a, b in d.counted)
            text = p.t("story.counted", windows=windows, minutes=p.fmt.number(round(d.minutes)))
        else:
            text = p.t("story.outside")
        out.append({"day": day, "text": text, "closed": d.closed is not None})
    return out


def why_context(
    p: Page,
    explanation: dict[str, Any],
    *,
    plan: str,
    minutes: int,
    coverage: str,
    start: datetime,
    due: datetime,
    calendar,
) -> dict[str, Any]:
    """ "Why this target" (R-SLA-1): the governing plan, every plan considered with
    its reason (the resolver's words, in the reader's language when the resolver gave
    it: explanations stored before French reasons existed stay English), the extras, and for business-hours
    targets the day-by-day story on the site's calendar (R-SEV-4)."""
    considered = []
    for c in explanation.get("considered", []):
        considered.append(
            {
                "plan": plan_name(p, c["plan"]),
                "code": c["plan"],
                "applies": c["applies"],
                "governs": c["plan"] == plan,
                "target": p.t("format.minutes", minutes=p.fmt.number(c["target_minutes"]))
                if c.get("target_minutes") is not None
                else "—",
                "reason": (c.get("reason_fr") if p.language == "fr" else None) or c["reason"],
                "reason_lang": "fr" if p.language == "fr" and c.get("reason_fr") else "en",
            }
        )
    extras = []
    for x in explanation.get("extras", []):
        extras.append(
            {
                "text": x.get(p.language) or x.get("en"),
                "plan": plan_name(p, x.get("plan", "")),
                "due": p.at(x["due"]) if x.get("due") else None,
            }
        )
    business = coverage == "business_hours"
    return {
        "plan": plan_name(p, plan),
        "minutes": p.fmt.number(minutes),
        "coverage": p.t(f"coverage.{coverage}"),
        "business_hours": business,
        "started": p.fmt.datetime(start, calendar.timezone),
        "due_site": p.fmt.datetime(due, calendar.timezone, long=True),
        "considered": considered,
        "extras": extras,
        "story": _story(p, calendar, start, due) if business else [],
        "site_zone": calendar.timezone,
    }


def _rca(p: Page, view: dict[str, Any]) -> dict[str, Any]:
    if view["rca"]:
        rca = view["rca"]
        return {
            "requested": True,
            "requested_at": p.at(rca["requested_at"]),
            "due": p.at(rca["due"]) if rca["due"] else None,
            "rule": rca["rule"],
        }
    window = view["rca_window"] or {}
    reason = (window.get("reason_fr") if p.language == "fr" else None) or window.get("reason")
    return {
        "requested": False,
        "open": window.get("open", False),
        "rule": window.get("rule"),
        "reason": reason,
        "reason_translated": reason is not None and reason != window.get("reason"),
        "until": p.at(window["until"]) if window.get("until") else None,
        "due_if_requested_now": p.at(window["due_if_requested_now"]) if window.get("due_if_requested_now") else None,
        "may_request": p.principal.role is not Role.CSAM,
    }


def _third_parties(p: Page, view: dict[str, Any], *, worker: bool) -> dict[str, Any]:
    """The collaborations with other vendors the customer asked for (R-INC-4)."""

    def when(value: str | None) -> str | None:
        return p.at(value) if value else None

    open_incident = view["status"] != "closed"
    may_ask = p.principal.role is not Role.CSAM and open_incident
    return {
        "collaborations": [
            {
                "id": c["id"],
                "vendor": c["vendor"],
                "product": c["product"],
                "status": c["status"],
                "status_label": p.t(f"third_party.status.{c['status']}"),
                "requested_at": when(c["requested_at"]),
                "requested_by": c["requested_by"],
                "engaged_at": when(c["engaged_at"]),
                "vendor_reference": c["vendor_reference"],
                "ended_at": when(c["ended_at"]),
                "may_engage": worker and open_incident and c["status"] == "requested",
                "may_end": may_ask and c["status"] != "ended",
            }
            for c in view["third_parties"]
        ],
        "may_request": may_ask,
    }


def incident_context(p: Page, incident_id: int) -> dict[str, Any]:
    """Everything the incident page shows."""
    incident = svc.get_incident(p.db, p.principal, incident_id)  # NotFound for another tenant's
    view = svc.incident_view(p.db, incident, now=p.now)
    calendar = svc.calendar_of(p.db, incident)
    events = svc.timeline(p.db, p.principal, incident_id)
    comms = svc.communications(p.db, incident)
    messages = conv.thread_messages(p.db, p.principal, incident)
    copies = [c.email for c in conv.copies_of(p.db, incident)]
    state = view["first_response"]["state"]
    worker = p.principal.role in WORKERS
    customer = p.principal.role.is_customer and incident.status != "closed"
    return {
        "incident": view,
        "site_label": site_label(p, site_by_id(p.db, incident.site_id)),
        "title": incident.title,
        "zone": p.zone,
        "severity_label": severity_label(p, incident.severity),
        "product": product_name(p, incident.product),
        "team": team_name(p, incident.team),
        "status_label": p.t(f"status.{incident.status}"),
        "incident_state": incident.state,
        "incident_state_label": p.t(f"incident_state.{incident.state}"),
        "state_control": _state_control(p, incident) if worker else None,
        "update": _update_context(p, view["update_target"], calendar),
        "opened": p.at(incident.opened_at),
        "due": p.at(incident.first_response_due, long=True),
        "due_iso": incident.first_response_due.isoformat(),
        "responded": p.at(incident.first_response_at) if incident.first_response_at else None,
        "state": state,
        "state_label": p.t(f"state.{state}"),
        "countdown": countdown(
            p, incident.first_response_due, incident.first_response_at is not None, incident.first_response_warn_at
        ),
        "why": why_context(
            p,
            incident.explanation,
            plan=incident.plan,
            minutes=incident.target_minutes,
            coverage=incident.coverage,
            start=incident.target_started_at,
            due=incident.first_response_due,
            calendar=calendar,
        ),
        "severity_history": _severity_history(p, events),
        "thread": thread_context(p, messages, _timeline(p, events, comms, linked=linked_communications(messages))),
        "composer": composer_context(p, incident, copies),
        "contact": _contact(p, incident),
        "copies": copies,
        "reopen": worker and incident.status == "closed",
        "rca": _rca(p, view),
        "third_parties": _third_parties(p, view, worker=worker),
        "remote_access": remote_access_context(p, incident, calendar),  # R-RA-1 (web/remote_access.py)
        "entitlement": entitlement_context(
            p, view, worker=worker, product=product_name(p, incident.product)
        ),  # R-SUP-1 (web/entitlement.py)
        "diagnosis": diagnosis_context(p, view),  # R-REQ-1 (web/diagnosis.py)
        "definition": Severity(incident.severity).definition(p.language),
        "worker": worker and incident.status != "closed",
        "actions": {
            "severities": [(s.value, s.label(p.language)) for s in Severity if s.value != incident.severity],
            "grounds": [(g.value, p.t(f"grounds.{g.value}"), g.rule) for g in DowngradeGrounds],
            "media": [(m.value, p.t(f"medium.{m.value}")) for m in Medium],
            "directions": [(d.value, p.t(f"direction.{d.value}")) for d in Direction],
            "can_mitigate": incident.status == "open",
        },
        "assignments": [
            {
                "role": p.fmt.t_or(f"role.{a['role']}", a["role"]),
                "person": a["person"],
                "automatic": a["automatic"],
                "rule": a["rule"],
            }
            for a in view["assignments"]
        ],
        "assign": _assign_choices(p) if worker and incident.status != "closed" else None,
        "customer_actions": {
            # Customers may raise the severity, never lower it (R-SEV-1, D25): the service refuses the rest.
            "upgrades": [
                (s.value, s.label(p.language))
                for s in Severity
                if SEVERITY_ORDER[s] < SEVERITY_ORDER[Severity(incident.severity)]
            ],
        }
        if customer
        else None,
    }


def _state_control(p: Page, incident: IncidentRow) -> dict[str, Any] | None:
    """The states a person may move the incident to (incidents.state), in words."""
    choices = targets(State(incident.state))
    if not choices:
        return None
    return {"choices": [(s.value, p.t(f"incident_state.{s.value}")) for s in choices]}


def _update_context(p: Page, target: dict[str, Any] | None, calendar) -> dict[str, Any] | None:
    """The next update due (R-INC-2): when, or paused since when, and why — which plan,
    which figure, which calendar, the pauses, and the day-by-day story."""
    if target is None:
        return None
    explanation = target["explanation"]
    considered = [
        {
            "plan": plan_name(p, c["plan"]),
            "governs": c["plan"] == target["plan"],
            "target": p.t("format.minutes", minutes=p.fmt.number(c["minutes"])) if c.get("minutes") else "—",
            "reason": (c.get("reason_fr") if p.language == "fr" else None) or c["reason"],
        }
        for c in explanation.get("considered", [])
    ]
    business = target["coverage"] == "business_hours"
    story = []
    if business and target["due"]:
        story = _story(p, calendar, datetime.fromisoformat(target["started_at"]), datetime.fromisoformat(target["due"]))
    return {
        "state": target["state"],
        "state_label": p.t(f"update.state.{target['state']}"),
        "due": p.at(target["due"], long=True) if target["due"] else None,
        "due_iso": target["due"],
        "started": p.at(target["started_at"]),
        "paused_since": p.at(target["paused_since"]) if target["paused_since"] else None,
        "plan": plan_name(p, target["plan"]),
        "minutes": p.fmt.number(target["target_minutes"]),
        "coverage": p.t(f"coverage.{target['coverage']}"),
        "calendar": explanation.get("site", {}).get("calendar") if business else None,
        "pauses": [
            {
                "from": p.at(x["from"]),
                "to": p.at(x["to"]) if x["to"] else None,
                "minutes": p.fmt.number(round(x["minutes"])),
            }
            for x in target["pauses"]
        ],
        "paused_minutes": p.fmt.number(round(target["paused_minutes"])),
        "met_at": p.at(target["met_at"]) if target["met_at"] else None,
        "breached_at": p.at(target["breached_at"]) if target["breached_at"] else None,
        "considered": considered,
        "story": story,
    }


def _contact(p: Page, incident: IncidentRow) -> dict[str, Any] | None:
    """Who the engineer calls or mails for the first response (R-SEV-2): provider users only."""
    if not p.principal.role.is_provider:
        return None
    contact = contact_by_id(p.db, incident.contact_id)
    if contact is None:
        return None
    return {"name": contact.name, "email": contact.email, "phone": contact.phone}


def _assign_choices(p: Page) -> dict[str, Any]:
    """Who may be named on an incident: active engineers and incident managers."""
    roles = [r.value for r in svc.ASSIGNABLE_ROLES]
    people = [(u.email, u.name, p.t(f"role.{u.role}")) for u in list_users(p.db) if u.active and u.role in roles]
    return {"roles": [(r, p.t(f"role.{r}")) for r in roles], "people": people}


def change_severity_from_form(request: Request, p: Page, incident_id: int, form: Form, version: int | None) -> None:
    """A severity change as the pages post it, for customers (an upgrade) and engineers
    alike: the service decides who may change what (R-SEV-1, R-SEV-3)."""
    data = SeverityChangeIn.model_validate(
        {"severity": form.get("severity") or "", "reason": form.get("reason") or "", "grounds": form.get("grounds")}
    )
    svc.change_severity(
        p.db,
        p.principal,
        incident_id,
        data,
        now=p.now,
        settings=request.app.state.incident_settings,
        expected_version=version,
    )


def act_on_incident(
    p: Page,
    form: Form,
    incident_id: int,
    form_id: str,
    work: Callable[[], object],
    *,
    done: Notice,
    also: tuple[type[UnisupportError], ...] = (),
) -> Response:
    """Run ``work()``, a change to the incident, and come back to its page with the
    outcome (``page.submit``): ``done``, or the problems beside the form ``form_id``."""
    return submit(p, form, form_id, work, back=f"/incidents/{incident_id}", done=done, also=also)


@router.get("/incidents/{incident_id:int}")
def incident_page(request: Request, incident_id: int) -> Response:
    with page(request) as p:
        context = incident_context(p, incident_id)
    return render(p, "incident.html", context)


@router.post("/incidents/{incident_id:int}/state")
def change_state(request: Request, incident_id: int, form: FormData) -> Response:
    """The state control (incidents.state): a move with its reason, checked by the service."""
    with page(request, roles=WORKERS) as p:
        version = form.whole_number("version")

        def work() -> None:
            data = StateChangeIn.model_validate({"state": form.get("state") or "", "reason": form.get("reason") or ""})
            svc.change_state(p.db, p.principal, incident_id, data, now=p.now, expected_version=version)

        wanted = form.get("state") or ""
        label = p.t(f"incident_state.{wanted}") if wanted in {s.value for s in State} else wanted
        return act_on_incident(p, form, incident_id, "state", work, done=notice("done.state", state=label))
