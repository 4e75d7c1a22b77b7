"""The customer's pages: the dashboard, opening an incident (with the target shown
before it is confirmed), requesting an RCA, booking a proactive service and
cancelling one (with the fee shown before it is confirmed).

Each view checks nothing the services do not: the forms are parsed into the same
request models as the API (``IncidentIn``, ``BookingIn``) and every rule is
enforced, and explained, by the service that the API calls too."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel import Locale
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import BOOKERS, CONTRACT_READERS
from unisupport.bookings.booking_rules import REQUEST_DEADLINE_DAYS, request_deadline
from unisupport.bookings.cancellation import schedule
from unisupport.bookings.rate_card import default_rate_cards
from unisupport.catalog import default_catalog, default_products
from unisupport.errors import Forbidden, InvalidInput
from unisupport.incidents.requests import IncidentIn, RcaIn
from unisupport.ledger.entitlement import usable_from
from unisupport.services import bookings, ledger
from unisupport.services import incidents as svc
from unisupport.services.booking_requests import BookingIn
from unisupport.services.orders import order_sites, orders_in_scope
from unisupport.services.users import home_site
from unisupport.sla.first_response_due import LANGUAGE_NAMES
from unisupport.sla.severity import DEFINITIONS, Severity
from unisupport.web.contracts import account_labels, attainment_chart, bookings_chart, order_panel
from unisupport.web.outcome import Notice, Outcome, notice
from unisupport.web.page import (
    CUSTOMER_ROLES,
    Form,
    Page,
    WebRoute,
    attempt,
    confirmed,
    csrf_form,
    go,
    page,
    preview,
    refuse,
    render,
    run,
    snapshot,
    submit,
)
from unisupport.web.pages_incident import (
    act_on_incident,
    change_severity_from_form,
    countdown,
    incident_row,
    product_name,
    why_context,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
CUSTOMER_BOOKERS = tuple(r for r in BOOKERS if r in CUSTOMER_ROLES)


# --------------------------------------------------------------------------- dashboard
def _booking_row(p: Page, b) -> dict[str, Any]:
    return {
        "id": b.id,
        "service": default_catalog().get(b.service).name(p.language) if b.service in default_catalog() else b.service,
        "date": p.fmt.date(b.scheduled_on, long=True),
        "cost": p.fmt.amount(b.cost, b.cost_unit),
        "quantity": p.fmt.amount(b.quantity, b.unit),
        "status": b.status,
    }


def dashboard_context(p: Page) -> dict[str, Any]:
    principal = p.principal
    rows = []
    for status in ("open", "mitigated"):
        found, _ = svc.list_incidents(p.db, principal, svc.IncidentFilter(status=status), now=p.now, limit=200)
        rows += found
    rows.sort(key=lambda r: (r.first_response_at is not None, r.first_response_due))
    contracts = principal.role in CONTRACT_READERS
    orders, upcoming, by_family = [], [], None
    if contracts:
        active = orders_in_scope(p.db, principal.customer_scope, status="active")
        orders = [order_panel(p, o) for o in active]
        today = p.today()
        every = bookings.list_bookings(p.db, customer_id=principal.customer_id)
        upcoming = [_booking_row(p, b) for b in every if b.status == "scheduled" and b.scheduled_on >= today]
        by_family = bookings_chart(p, every, id="chart-bookings")
    return {
        "incidents": [incident_row(p, r) for r in rows],
        "contracts": contracts,
        "orders": orders,
        "bookings": upcoming,
        "may_book": principal.role in CUSTOMER_BOOKERS,
        "attainment": attainment_chart(p, id="chart-attainment", customer_id=principal.customer_id),
        "by_family": by_family,
    }


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    with page(request, roles=CUSTOMER_ROLES) as p:
        context = dashboard_context(p)
    return render(p, "dashboard.html", context)


# --------------------------------------------------------------------------- opening an incident
INCIDENT_FIELDS = (
    "order",
    "site",
    "product",
    "severity",
    "title",
    "business_impact",
    "description",
    "reproduction_steps",
    "environment",
    "tenant",
    "language",
)


def _incident_in(p: Page, form: Form) -> IncidentIn:
    data: dict[str, Any] = {k: form.get(k) for k in INCIDENT_FIELDS if form.get(k) is not None}
    data.setdefault("language", p.language)
    data["production_impact"] = form.flag("production_impact")
    data["channel"] = "web"  # R-INC-1: opened through the web portal
    return IncidentIn.model_validate(data)


def _language_choices(p: Page) -> list[tuple[str, str]]:
    return [(code, Locale.parse(code).get_display_name(p.fmt.locale) or code) for code in LANGUAGE_NAMES]


INCIDENT_FORM = "incident-form"
PREVIEWED_INCIDENT = (*INCIDENT_FIELDS, "production_impact")


def new_incident_context(p: Page) -> dict[str, Any]:
    """The form to open an incident, filled in again with what was sent last (a
    refusal, or a preview: then the target it would get, above the form)."""
    kept = p.outcome_values(INCIDENT_FORM)
    orders = orders_in_scope(p.db, p.principal.customer_scope, status="active")
    sites: dict[str, str] = {}
    for order in orders:
        for site in order_sites(p.db, order):
            sites.setdefault(site.code, f"{site.name or site.code} ({site.timezone})")
    home = home_site(p.db, p.principal)
    products: dict[str, list[tuple[str, str]]] = {}
    for product in default_products():
        products.setdefault(p.t(f"family.{product.family.value}"), []).append((product.code, product.name(p.language)))
    severities = [
        {
            "value": s.value,
            "label": s.label(p.language),
            "definition": DEFINITIONS[s][p.language if p.language in ("en", "fr") else "en"],
            "critical": s.is_critical,
        }
        for s in Severity
    ]
    shown = snapshot(p, INCIDENT_FORM, PREVIEWED_INCIDENT)
    preview = None
    if shown is not None:
        preview, _ = attempt(p, lambda: _preview(p, _incident_in(p, Form(list(kept.items())))))
    return {
        "form": INCIDENT_FORM,
        "values": {"language": p.language, "site": home.code if home else ""} | kept,
        "production_impact": kept.get("production_impact") == "on",
        "orders": [o.number for o in orders],
        "sites": sorted(sites.items()),
        "products": sorted((family, sorted(items, key=lambda i: i[1].lower())) for family, items in products.items()),
        "severities": severities,
        "languages": _language_choices(p),
        "preview": preview,
        "snapshot": shown if preview is not None else None,
    }


def _preview(p: Page, data: IncidentIn) -> dict[str, Any]:
    explanation = svc.preview_target(p.db, p.principal, data, now=p.now)
    return {
        "due": p.at(explanation.due, long=True),
        "due_iso": explanation.due.isoformat(),
        "countdown": countdown(p, explanation.due, False),
        "product": product_name(p, data.product),
        "severity": data.severity.label(p.language),
        "why": why_context(
            p,
            explanation.to_dict(),
            plan=explanation.plan,
            minutes=explanation.target_minutes,
            coverage=explanation.coverage.value,
            start=explanation.opened,
            due=explanation.due,
            calendar=explanation.calendar,
        ),
    }


@router.get("/incidents/new")
def new_incident(request: Request) -> Response:
    with page(request, roles=CUSTOMER_ROLES) as p:
        context = new_incident_context(p)
    return render(p, "incident_new.html", context)


@router.post("/incidents/preview")
def preview_incident(request: Request, form: FormData) -> Response:
    """The target this incident would get, computed without creating anything and
    shown above the form, which stays filled in; confirming sends that form with the
    signature of the values previewed."""
    with page(request, roles=CUSTOMER_ROLES) as p:
        return preview(
            p,
            form,
            INCIDENT_FORM,
            lambda: svc.preview_target(p.db, p.principal, _incident_in(p, form), now=p.now),
            back="/incidents/new",
        )


@router.post("/incidents")
def create_incident(request: Request, form: FormData) -> Response:
    """Open the incident previewed — only if the form still says what the preview
    showed; edited since, it is previewed again."""
    with page(request, roles=CUSTOMER_ROLES) as p:
        if not confirmed(p, form, INCIDENT_FORM, PREVIEWED_INCIDENT):
            return preview(
                p,
                form,
                INCIDENT_FORM,
                lambda: svc.preview_target(p.db, p.principal, _incident_in(p, form), now=p.now),
                back="/incidents/new",
                said=notice("preview.changed"),
            )
        return submit(
            p,
            form,
            INCIDENT_FORM,
            lambda: svc.open_incident(
                p.db, p.principal, _incident_in(p, form), now=p.now, settings=request.app.state.incident_settings
            ),
            back="/incidents/new",
            then=lambda incident: f"/incidents/{incident.id}",
            done=lambda incident: notice("done.incident_opened", id=incident.id),
        )


@router.post("/incidents/{incident_id:int}/rca")
def request_rca(request: Request, incident_id: int, form: FormData) -> Response:
    """R-RCA-1 (before closure) or R-RCA-2 (MCSAP: until 7 days after); the service decides."""
    with page(request) as p:
        return act_on_incident(
            p,
            form,
            incident_id,
            "rca-form",
            lambda: svc.request_rca(p.db, p.principal, incident_id, now=p.now, note=RcaIn(note=form.get("note")).note),
            done=notice("done.rca"),
        )


def _customer_act(request: Request, incident_id: int, form: Form, form_id: str, work, done: Notice) -> Response:
    """Run a customer's change on their incident and come back to its page with the
    outcome beside the form ``form_id``."""
    with page(request, roles=CUSTOMER_ROLES) as p:
        version = form.whole_number("version")
        return act_on_incident(p, form, incident_id, form_id, lambda: work(p, version), done=done, also=(Forbidden,))


@router.post("/incidents/{incident_id:int}/upgrade")
def upgrade_severity(request: Request, incident_id: int, form: FormData) -> Response:
    """A customer raises the severity (R-SEV-1); lowering it is the provider's, with
    grounds (R-SEV-3): the service refuses it."""

    def work(p: Page, version: int | None) -> None:
        change_severity_from_form(request, p, incident_id, form, version)

    return _customer_act(
        request, incident_id, form, "upgrade", work, notice("done.severity", severity=form.get("severity") or "")
    )


# --------------------------------------------------------------------------- booking
BOOKING_FIELDS = ("order", "site", "service", "scheduled_on", "funding", "quantity", "attendees", "starts", "ends")


def _booking_in(form: Form, zone_of_site) -> BookingIn:
    """The form as the API's ``BookingIn``. ``service`` is ``code|unit``; start and
    end times of hour-based services are local times at the site."""
    service, _, unit = (form.get("service") or "").partition("|")
    data: dict[str, Any] = {
        "order": form.get("order") or "",
        "site": form.get("site") or "",
        "service": service,
        "unit": unit or None,
        "scheduled_on": form.get("scheduled_on") or "",
        "funding": form.get("funding") or "credits",
    }
    for name in ("quantity", "attendees", "expected_cost"):
        if form.get(name):
            data[name] = form.get(name)
    if service == "workshops" and unit == "per-attendee" and "attendees" not in data and "quantity" in data:
        data["attendees"] = data["quantity"]
    zone = zone_of_site(data["site"])
    try:
        day = datetime.fromisoformat(data["scheduled_on"]).date() if zone else None
    except ValueError:
        day = None  # the model names scheduled_on
    for field, name in (("starts_at", "starts"), ("ends_at", "ends")):
        text = form.get(name)
        if text and day is not None:
            try:
                data[field] = datetime.combine(day, time.fromisoformat(text), ZoneInfo(zone))
            except ValueError:
                data[field] = text  # not a time: the model refuses it, naming the field
    return BookingIn.model_validate(data)


BOOKING_FORM = "booking-form"


def booking_form_context(p: Page) -> dict[str, Any]:
    """The booking form, filled in again with what was sent last (a refusal, or a
    quote: then the cost, above the form)."""
    values = p.outcome_values(BOOKING_FORM)
    shown = snapshot(p, BOOKING_FORM, BOOKING_FIELDS)
    quote = None
    if shown is not None:
        quote, _ = attempt(p, lambda: _quoted(p, Form(list(values.items()))))
    orders = orders_in_scope(p.db, p.principal.customer_scope, status="active")
    catalog = default_catalog()
    services: dict[str, str] = {}
    sites: dict[str, str] = {}
    deadlines = []
    credits = []
    for order in orders:
        for site in order_sites(p.db, order):
            sites.setdefault(site.code, f"{site.name or site.code} ({site.timezone})")
        today = p.today()
        card = default_rate_cards().card_in_force(order.price_list, today)
        for code, rates in card.rates.items():
            for unit, rate in rates.items():
                services.setdefault(
                    f"{code}|{unit}",
                    p.t(
                        "booking.service_option",
                        service=catalog.get(code).name(p.language),
                        unit=p.fmt.unit(unit, 1),
                        rate=p.fmt.number(rate),
                    ),
                )
        deadlines.append(
            {
                "order": order.number,
                "end": p.fmt.date(order.term_end, long=True),
                "deadline": p.fmt.date(request_deadline(order.term_end), long=True),
            }
        )
        balances = ledger.balances(p.db, customer_id=order.customer_id, order_id=order.id)
        labels = account_labels(p, balances)
        for b in balances:
            if b.unit in ("credits", "hours") and b.balance > 0:
                starts = usable_from(order.term_start, b.contract_year)  # R-FLEX-3: a later year's
                credits.append(
                    {
                        "order": order.number,
                        "label": labels[b.key],
                        "balance": p.fmt.amount(b.balance, b.unit),
                        "expires_on": p.fmt.date(b.expires_on),
                        "usable_from": p.fmt.date(starts) if starts and starts > today else None,
                    }
                )
    return {
        "form": BOOKING_FORM,
        "values": {"funding": "credits", "quantity": "1"} | values,
        "orders": [o.number for o in orders],
        "sites": sorted(sites.items()),
        "services": sorted(services.items(), key=lambda s: s[1].lower()),
        "deadlines": deadlines,
        "deadline_days": REQUEST_DEADLINE_DAYS,
        "balances": credits,
        "schedule": _schedule(p),
        "quote": quote,
        "snapshot": shown if quote is not None else None,
    }


def _schedule(p: Page) -> list[str]:
    """R-BOOK-1's bands in the page's language."""
    out = []
    for band in schedule():
        if band.max_notice_days is None:
            notice = p.t("schedule.at_least", days=band.min_notice_days)
        elif band.min_notice_days is None:
            notice = p.t("schedule.at_most", days=band.max_notice_days)
        else:
            notice = p.t("schedule.between", low=band.min_notice_days, high=band.max_notice_days)
        outcome = (
            p.t("schedule.full_refund")
            if band.fee_percent == 0
            else p.t("schedule.fee", percent=p.fmt.percent(band.fee_percent))
        )
        out.append(p.t("schedule.band", notice=notice, outcome=outcome))
    return out


def _zone_of_site(p: Page):
    def zone(code: str) -> str | None:
        for order in orders_in_scope(p.db, p.principal.customer_scope, status="active"):
            for site in order_sites(p.db, order):
                if site.code == code:
                    return site.timezone
        return None

    return zone


def _account_labels(p: Page, number: str) -> dict[str, str]:
    """The accounts of the customer's order ``number``, by key, as they read them."""
    for order in orders_in_scope(p.db, p.principal.customer_scope, status="active"):
        if order.number == number:
            return account_labels(p, ledger.balances(p.db, customer_id=order.customer_id, order_id=order.id))
    return {}


def _quote_view(p: Page, q: bookings.Quote, data: BookingIn) -> dict[str, Any]:
    explanation = q.explanation
    return {
        "cost": p.fmt.amount(q.cost, q.cost_unit),
        "quantity": p.fmt.amount(q.quantity, q.unit),
        "service": default_catalog().get(data.service).name(p.language),
        "date": p.fmt.date(data.scheduled_on, long=True),
        "rule": explanation.get("rule"),
        "text": explanation.get("text"),
        "rate_card": explanation.get("rate_card"),
        "rate": p.fmt.number(explanation["rate"]) if explanation.get("rate") else None,
        "deadline": p.fmt.date(datetime.fromisoformat(explanation["deadline"]).date(), long=True)
        if explanation.get("deadline")
        else None,
        "accounts": [
            {"account": _account_labels(p, data.order).get(key, key), "amount": p.fmt.number(amount)}
            for key, amount in q.draws
        ],
        "expected_cost": q.charge.confirmation,  # sent back by the confirmation (D45)
    }


def _quote(p: Page, form: Form) -> bookings.Quote:
    data = _booking_in(form, _zone_of_site(p))
    return bookings.quote(p.db, data.request(), now=p.now, provider=False, customer_id=p.principal.customer_id)


def _quoted(p: Page, form: Form) -> dict[str, Any]:
    return _quote_view(p, _quote(p, form), _booking_in(form, _zone_of_site(p)))


# The form's names for BookingIn's fields.
BOOKING_ALIASES = {"starts_at": "starts", "ends_at": "ends"}


@router.get("/bookings/new")
def new_booking(request: Request) -> Response:
    with page(request, roles=CUSTOMER_BOOKERS) as p:
        context = booking_form_context(p)
    return render(p, "booking_new.html", context)


@router.post("/bookings/quote")
def quote_booking(request: Request, form: FormData) -> Response:
    """The cost at today's rate (R-CRED-1) or in hours (R-HRS-1), every rule checked
    (R-ORD-5, R-HRS-2, R-CRED-2 …), nothing booked: shown above the form."""
    with page(request, roles=CUSTOMER_BOOKERS) as p:
        return preview(p, form, BOOKING_FORM, lambda: _quote(p, form), back="/bookings/new", aliases=BOOKING_ALIASES)


def _quote_again(p: Page, form: Form, why: str) -> Response:
    """The form quoted again, with ``why`` it was not booked as it was."""
    return preview(
        p, form, BOOKING_FORM, lambda: _quote(p, form), back="/bookings/new", said=notice(why), aliases=BOOKING_ALIASES
    )


@router.post("/bookings")
def create_booking(request: Request, form: FormData) -> Response:
    """Book what was quoted — only if the form still says what the quote showed and
    the cost is still the one shown (D45); else it is quoted again."""
    with page(request, roles=CUSTOMER_BOOKERS) as p:
        if not confirmed(p, form, BOOKING_FORM, BOOKING_FIELDS):
            return _quote_again(p, form, "preview.changed")

        def book():
            data = _booking_in(form, _zone_of_site(p))
            return bookings.create_booking(
                p.db,
                data.request(),
                actor=p.principal.email,
                provider=False,
                now=p.now,
                customer_id=p.principal.customer_id,
                expected_cost=data.expected_cost,  # the cost the quote showed (D45)
            )

        row, problems = run(p, book, aliases=BOOKING_ALIASES)
        if any(problem.field == "expected_cost" for problem in problems):  # the cost changed since it was shown
            return _quote_again(p, form, "preview.cost_changed")
        if problems or row is None:
            return refuse(p, form, BOOKING_FORM, problems, back="/bookings/new")
        return go(p, "/dashboard", Outcome(BOOKING_FORM, done=notice("dashboard.booked", id=row.id)))


def _notice(p: Page, days: int) -> str:
    if days == 0:
        return p.t("cancel.notice_same_day")
    return p.t("cancel.notice_one") if days == 1 else p.t("cancel.notice_other", days=days)


def cancel_context(p: Page, booking_id: int) -> dict[str, Any]:
    row = bookings.get_booking(p.db, booking_id, customer_id=p.principal.customer_id)  # NotFound for another tenant's
    quoted = bookings.quote_cancellation(p.db, row.id, now=p.now, customer_id=p.principal.customer_id)
    terms = quoted.terms
    return {
        "booking": _booking_row(p, row),
        "notice_days": terms.notice_days,
        "fee_percent": p.fmt.percent(terms.fee_percent),
        "fee": p.fmt.amount(quoted.fee, quoted.fee_unit),
        "refund": p.fmt.amount(quoted.refund, quoted.refund_unit),
        "expected_fee": str(quoted.fee),
        "rule": terms.rule,
        "cancelled_on": p.fmt.date(terms.cancelled_on, long=True),
        "schedule": _schedule(p),
        "explanation": p.t(
            "cancel.explanation",
            cancelled=p.fmt.date(terms.cancelled_on, long=True),
            notice=_notice(p, terms.notice_days),
            start=p.fmt.date(row.scheduled_on, long=True),
            outcome=p.t("schedule.full_refund")
            if terms.fee_percent == 0
            else p.t("schedule.fee", percent=p.fmt.percent(terms.fee_percent)),
        ),
    }


@router.get("/bookings/{booking_id:int}/cancel")
def cancel_form(request: Request, booking_id: int) -> Response:
    """The fee a cancellation would cost now (R-BOOK-1), before confirming."""
    with page(request, roles=CUSTOMER_BOOKERS) as p:
        context = cancel_context(p, booking_id)
    return render(p, "booking_cancel.html", context)


def _expected_fee(form: Form) -> Decimal:
    try:
        return Decimal(form.get("expected_fee") or "")
    except InvalidOperation:
        # The confirmation carries the fee that was shown: without it, nothing is agreed.
        raise InvalidInput("confirm from the page that shows the fee", field="expected_fee", rule="R-BOOK-1") from None


@router.post("/bookings/{booking_id:int}/cancel")
def cancel_booking(request: Request, booking_id: int, form: FormData) -> Response:
    with page(request, roles=CUSTOMER_BOOKERS) as p:
        return submit(
            p,
            form,
            "cancel-form",
            lambda: bookings.cancel_booking(
                p.db,
                booking_id,
                actor=p.principal.email,
                now=p.now,
                customer_id=p.principal.customer_id,
                expected_fee=_expected_fee(form),
            ),
            back=f"/bookings/{booking_id}/cancel",
            then="/dashboard",
            done=notice("dashboard.cancelled", id=booking_id),
        )
