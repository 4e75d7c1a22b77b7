"""The CSAM's pages (and every provider user's, within their tenant scope): the
customers they look after, a customer's success plans (R-SUC-2), MCSAP onboarding
milestones (R-MCSAP-2/3) and open follow-ups (RCAs R-RCA-1/2, post-incident
reviews R-PIR-1); an order's balances, forfeiture forecast (R-FLEX-3, R-ORD-3),
charts and ledger statement. Support administrators see their own orders' pages.

A record outside the viewer's ``customer_scope`` answers 404, as in the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import CONTRACT_READERS, DELIVERERS, Role
from unisupport.catalog import default_catalog
from unisupport.errors import InvalidInput, NotFound
from unisupport.inputs import checked_day
from unisupport.mission_critical.success_plan import ItemStatus, default_success_areas
from unisupport.refusal import Refused
from unisupport.services import bookings, ledger, mission_critical
from unisupport.services import incidents as svc
from unisupport.services.customers import customer_by_code, customer_by_id, customers_in_scope
from unisupport.services.orders import order_by_id, order_by_number, orders_in_scope
from unisupport.sla.severity import Severity
from unisupport.storage.tables import CustomerRow, OrderRow
from unisupport.web.contracts import (
    account_labels,
    attainment_chart,
    bookings_chart,
    order_panel,
    today_at,
)
from unisupport.web.outcome import notice
from unisupport.web.reasons import say
from unisupport.web.page import (
    PROVIDER_ROLES,
    Form,
    Page,
    WebRoute,
    asked,
    csrf_form,
    page,
    render,
    submit,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]
PLAN_WRITERS = (Role.CSAM,)  # the success plan's owner is its CSAM (R-SUC-1)
MILESTONE_WRITERS = (Role.CSAM, Role.ADMIN)
PLAN_ROWS = 3  # item rows of the new-plan form (empty ones are ignored)
STATEMENT_LENGTH = 30


# --------------------------------------------------------------------------- lookups
def _customer(p: Page, code: str) -> CustomerRow:
    customer = customer_by_code(p.db, code)
    if customer is None or not p.principal.sees(customer.id):
        raise NotFound(f"no customer {code!r}", field="customer")
    return customer


def _order(p: Page, number: str) -> OrderRow:
    order = order_by_number(p.db, number[:64])
    if not p.principal.sees(order.customer_id):
        raise NotFound(f"no order {number!r}", field="number")  # as if it did not exist
    return order


def _milestones(p: Page, order: OrderRow) -> list[dict[str, Any]] | None:
    """The order's MCSAP onboarding milestones with their status, or None when it
    holds no MCSAP (or is not executed yet)."""
    try:
        views = mission_critical.milestones(p.db, order, as_of=today_at(p, order))
    except Refused:
        return None
    return [
        {
            "code": m.code,
            "label": m.fr if p.language == "fr" else m.en,
            "due": p.fmt.date(m.due, long=True),
            "status": m.status,
            "status_label": p.t(f"milestone.{m.status}"),
            "rule": m.rule,
            "completed_on": p.fmt.date(m.completed_on) if m.completed_on else None,
        }
        for m in views
    ]


def _reviews(p: Page, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "kind": r["kind"],
            "kind_label": p.t(f"review.{r['kind']}"),
            "incident": r["incident"],
            "title": r["title"],
            "severity": Severity(r["severity"]).label(p.language),
            "customer": r["customer"],
            "since": p.at(r["since"]),
            "due": p.at(r["due"]) if r["due"] else None,
            "status": p.t(f"review_status.{r['status']}"),
            "rule": r["rule"],
        }
        for r in rows
    ]


# --------------------------------------------------------------------------- customers
@router.get("/customers")
def customers(request: Request) -> Response:
    """A CSAM's customers (their assignments), every customer for other provider users."""
    with page(request, roles=PROVIDER_ROLES) as p:
        rows = []
        for c in customers_in_scope(p.db, p.principal.customer_scope):
            orders = orders_in_scope(p.db, frozenset({c.id}))
            open_incidents, _ = svc.list_incidents(
                p.db, p.principal, svc.IncidentFilter(status="open", customer=c.code), now=p.now, limit=500
            )
            rows.append(
                {
                    "code": c.code,
                    "name": c.name,
                    "open_incidents": len(open_incidents),
                    "orders": [
                        {
                            "number": o.number,
                            "status": p.t(f"order_status.{o.status}"),
                            "term": p.t("dashboard.term", start=p.fmt.date(o.term_start), end=p.fmt.date(o.term_end)),
                        }
                        for o in orders
                    ],
                }
            )
        reviews = _reviews(p, svc.open_reviews(p.db, p.principal))
        context = {"customers": rows, "reviews": reviews, "is_csam": p.principal.role is Role.CSAM}
    return render(p, "customers.html", context)


def _areas(p: Page) -> list[dict[str, Any]]:
    return [
        {
            "code": a.code,
            "name": a.name(p.language),
            "activities": [(f"{a.code}/{x.code}", x.name(p.language)) for x in a.activities.values()],
        }
        for a in default_success_areas()
    ]


def _plans(p: Page, customer: CustomerRow) -> list[dict[str, Any]]:
    areas = default_success_areas()
    out = []
    for plan, items in mission_critical.success_plans(p.db, customer_id=customer.id):
        by_area = []
        for area in areas:
            mine = [i for i in items if i.area == area.code]
            by_area.append(
                {
                    "name": area.name(p.language),
                    "entries": [
                        {
                            "activity": area.activities[i.activity].name(p.language)
                            if i.activity in area.activities
                            else i.activity,
                            "status": i.status,
                            "status_label": p.t(f"plan_status.{i.status}"),
                            "due": p.fmt.date(i.due_on),
                            "notes": i.notes,
                        }
                        for i in mine
                    ],
                }
            )
        order = order_by_id(p.db, plan.order_id)
        out.append(
            {
                "id": plan.id,
                "title": plan.title,
                "owner": plan.owner,
                "created": p.fmt.date(plan.created_at.date()),
                "order": order.number if order else None,
                "areas": by_area,
                "count": len(items),
            }
        )
    return out


def customer_context(p: Page, code: str) -> dict[str, Any]:
    customer = _customer(p, code)
    orders = orders_in_scope(p.db, frozenset({customer.id}))
    order_rows = [
        {
            "number": o.number,
            "status": p.t(f"order_status.{o.status}"),
            "term_start": p.fmt.date(o.term_start),
            "term_end": p.fmt.date(o.term_end),
            "milestones": _milestones(p, o),
        }
        for o in orders
    ]
    reviews = [r for r in svc.open_reviews(p.db, p.principal) if r["customer"] == customer.code]
    return {
        "customer": {"code": customer.code, "name": customer.name},
        "orders": order_rows,
        "plans": _plans(p, customer),
        "reviews": _reviews(p, reviews),
        "may_plan": p.principal.role in PLAN_WRITERS,
        "may_complete": p.principal.role in MILESTONE_WRITERS,
        "areas": _areas(p),
        "plan_rows": range(PLAN_ROWS),
        "statuses": [(s.value, p.t(f"plan_status.{s.value}")) for s in ItemStatus],
        "order_numbers": [o.number for o in orders],
        "values": p.outcome_values("plan-form"),
        "attainment": attainment_chart(p, id=f"chart-attainment-{customer.code}", customer_id=customer.id),
    }


@router.get("/customers/{code}")
def customer_page(request: Request, code: str) -> Response:
    with page(request, roles=PROVIDER_ROLES) as p:
        context = customer_context(p, code)
    return render(p, "customer.html", context)


def _plan_items(form: Form) -> list[dict[str, Any]]:
    """The filled rows of the form as the service's items (area, activity, status,
    due, notes); the service checks each one against Annex B (R-SUC-2)."""
    items = []
    for i in range(PLAN_ROWS):
        activity = form.get(f"activity_{i}")
        if not activity:
            continue
        area, _, code = activity.partition("/")
        due = form.get(f"due_{i}")
        try:
            due_on = checked_day(date.fromisoformat(due), field=f"due_{i}") if due else None
        except ValueError:
            raise InvalidInput(f"{due!r} is not a date", field=f"due_{i}") from None
        items.append(
            {
                "area": area,
                "activity": code,
                "status": form.get(f"status_{i}") or "planned",
                "due": due_on,
                "notes": form.get(f"notes_{i}") or "",
            }
        )
    return items


def _create_plan(p: Page, customer: CustomerRow, form: Form) -> None:
    title = (form.get("title") or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput("give the plan a title (at most 200 characters)", field="title")
    items = _plan_items(form)
    if not items:
        raise InvalidInput("choose at least one activity", field="activity_0", rule="R-SUC-2")
    mission_critical.create_success_plan(
        p.db,
        customer_code=customer.code,
        owner=p.principal.email,
        title=title,
        items=items,
        actor=p.principal.email,
        now=p.now,
        order_number=form.get("order"),
    )


@router.post("/customers/{code}/success-plans")
def create_plan(request: Request, code: str, form: FormData) -> Response:
    """A success plan by area and activity (R-SUC-2), owned by the CSAM creating it."""
    with page(request, roles=PLAN_WRITERS) as p:
        customer = _customer(p, code)
        return submit(
            p,
            form,
            "plan-form",
            lambda: _create_plan(p, customer, form),
            back=f"/customers/{code}",
            done=notice("done.plan", title=(form.get("title") or "").strip()),
            also=(NotFound,),
        )


@router.post("/orders/{number}/milestones")
def complete_milestone(request: Request, number: str, form: FormData) -> Response:
    """Mark an MCSAP onboarding milestone done today (R-MCSAP-2/3), asked first: it
    cannot be undone."""
    with page(request, roles=MILESTONE_WRITERS) as p:
        order = _order(p, number)
        customer = customer_by_id(p.db, order.customer_id)
        back = form.get("next")
        back = back if back in (f"/orders/{number}", f"/customers/{customer.code}") else f"/orders/{number}"
        code = form.get("milestone") or ""
        current = {m["code"]: m for m in _milestones(p, order) or []}
        today = today_at(p, order)
        label = current[code]["label"] if code in current else code
        ask = asked(
            p,
            form,
            f"milestone-{number}",
            notice("milestone.ask", name=label, order=number, date=p.fmt.date(today, long=True)),
            [notice("milestone.ask_what"), notice("milestone.ask_undo")],
            action=f"/orders/{number}/milestones",
            back=back,
        )
        if ask is not None:
            return ask

        def complete() -> None:
            if code not in current:
                raise InvalidInput(f"order {number} has no milestone {code!r}", field="milestone", rule="R-MCSAP-2")
            if current[code]["status"] != "done":  # completing twice changes nothing
                mission_critical.complete_milestone(
                    p.db, order, code, completed_on=today, actor=p.principal.email, now=p.now
                )

        done = notice("milestone.done_notice", name=label, date=p.fmt.date(today, long=True))
        return submit(p, form, f"milestone-{number}", complete, back=back, done=done)


# --------------------------------------------------------------------------- an order's bookings
def _order_bookings(p: Page, order: OrderRow) -> list[dict[str, Any]]:
    """The order's bookings, for its provider users (who may mark one delivered, R-CSAT-1)."""
    catalog = default_catalog()
    return [
        {
            "id": b.id,
            "service": catalog.get(b.service).name(p.language) if b.service in catalog else b.service,
            "date": p.fmt.date(b.scheduled_on, long=True),
            "status": b.status,
            "status_label": p.fmt.t_or(f"booking_status.{b.status}", b.status),
        }
        for b in bookings.list_bookings(p.db, customer_id=order.customer_id, order=order.number)
    ]


@router.post("/bookings/{booking_id:int}/delivery")
def deliver_booking(request: Request, booking_id: int, form: FormData) -> Response:
    """A provider user records that a scheduled service was delivered; its contact
    then gets one satisfaction survey (R-CSAT-1)."""
    with page(request, roles=DELIVERERS) as p:
        row = bookings.get_booking(p.db, booking_id)
        if not p.principal.sees(row.customer_id):  # another tenant's: as if it did not exist
            raise NotFound(f"no booking {booking_id}", field="booking")
        back = f"/orders/{p.db.get_one(OrderRow, row.order_id).number}"
        return submit(
            p,
            form,
            f"booking-{booking_id}",
            lambda: bookings.deliver_booking(p.db, booking_id, actor=p.principal.email, now=p.now),
            back=back,
            done=notice("booking.delivered_notice", id=booking_id),
        )


# --------------------------------------------------------------------------- an order
def _event_summaries(p: Page, order: OrderRow) -> list[dict[str, Any]]:
    """Each Azure event of the order with its post-event summary (R-EVT-1)."""
    out = []
    for event in mission_critical.events(p.db, order):
        summary = svc.event_summary(p.db, p.principal, order.number, event.code)
        out.append(
            {
                "code": event.code,
                "solution": summary["solution"],
                "window": p.t(
                    "azure_event.window", start=p.at(summary["window_start"]), end=p.at(summary["window_end"])
                ),
                "all_resolved": summary["all_resolved"],
                "rule": summary["rule"],
                "cases": [
                    {
                        "id": c["id"],
                        "opened": p.at(c["opened_at"]),
                        "severity": Severity(c["severity"]).label(p.language),
                        "status": p.t(f"status.{c['status']}"),
                        "resolved": c["resolved"],
                    }
                    for c in summary["cases"]
                ],
            }
        )
    return out


def _statement(p: Page, order: OrderRow) -> list[dict[str, Any]]:
    labels = account_labels(p, ledger.balances(p.db, customer_id=order.customer_id, order_id=order.id))
    return [
        {
            "id": e.id,
            "at": p.at(e.at),
            "account": labels.get(key, key),
            "kind": e.kind,
            "kind_label": p.fmt.t_or(f"entry.{e.kind}", e.kind),
            "amount": p.fmt.amount(e.amount, e.unit),
            "balance": p.fmt.amount(e.balance_after, e.unit),
            "reason": say(p.fmt, e.reason, as_written=p.principal.role.is_provider),
            "rule": e.rule,
            "booking": e.booking_id,
        }
        for e, key in ledger.recent_entries(
            p.db, customer_id=order.customer_id, order_id=order.id, limit=STATEMENT_LENGTH
        )
    ]


@router.get("/orders/{number}")
def order_page(request: Request, number: str) -> Response:
    """Balances, what will be forfeited (R-FLEX-3, R-ORD-3), the charts and the
    latest ledger entries of one order."""
    with page(request, roles=CONTRACT_READERS) as p:
        order = _order(p, number)
        customer = customer_by_id(p.db, order.customer_id)
        context = {
            "o": order_panel(p, order),
            "customer": {"code": customer.code, "name": customer.name},
            "milestones": _milestones(p, order),
            "may_complete": p.principal.role in MILESTONE_WRITERS,
            "by_family": bookings_chart(
                p,
                bookings.list_bookings(p.db, customer_id=order.customer_id, order=order.number),
                id=f"chart-bookings-{order.number}",
            ),
            "attainment": attainment_chart(p, id=f"chart-attainment-{order.number}", customer_id=order.customer_id),
            "statement": _statement(p, order),
            "events": _event_summaries(p, order),
            "statement_length": STATEMENT_LENGTH,
            "is_provider_view": p.principal.role.is_provider,
            "bookings": _order_bookings(p, order) if p.principal.role.is_provider else [],
            "may_deliver": p.principal.role in DELIVERERS,
        }
    return render(p, "order.html", context)
