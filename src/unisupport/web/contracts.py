"""What the customer dashboard and the CSAM's order page show about a contract:
balances by group, the forfeiture forecast (R-FLEX-3, R-ORD-3), and the three
charts — balances over time, first responses by month and severity, bookings by
catalog family.

Everything comes from the services (``ledger``, ``bookings``, ``incidents``); this
module only groups, labels and lays out, in the viewer's language."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from unisupport.bookings.booking_rules import request_deadline
from unisupport.catalog import default_catalog
from unisupport.catalog.catalog import ServiceFamily
from unisupport.services import incidents as svc
from unisupport.services import ledger
from unisupport.services.customers import site_by_id
from unisupport.services.orders import host_site
from unisupport.sla.severity import Severity
from unisupport.storage.tables import BookingRow, OrderRow
from unisupport.web.charts import (
    Chart,
    Table,
    month_starts,
    stacked_bars,
    stacked_columns,
    step_lines,
)
from unisupport.web.page import Page

# Entitlements that run for their period rather than being used up by bookings
# (an annual UER fee, a tenant, a downstream site): nothing to forecast for them.
RUNNING_UNITS = frozenset({"annual", "per-tenant", "per-downstream-site", "subscription", "as-needed", "quantity"})
GROUPS = ("flex", "credits", "hours", "services", "fees")
# The accounts bookings draw on (R-CRED-1, R-HRS-1): the ones worth a chart.
CHARTED_UNITS = ("credits", "hours")
ATTAINMENT_MONTHS = 6
STATES = ("met", "late", "breached")
BOOKING_STATES = {
    "scheduled": "scheduled",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "cancelled-by-provider": "cancelled",
}


# --------------------------------------------------------------------------- balances
def _named(p: Page, b: ledger.Balance, provider: bool) -> str:
    catalog = default_catalog()
    if b.key.startswith("flex:"):
        return p.t("account.flex", year=b.contract_year or "")
    if b.key.startswith("fees:"):
        return p.t("account.fees")
    if not (b.service and b.service in catalog):
        return b.label
    name = catalog.get(b.service).name(p.language)
    return f"{name} ({b.key.removeprefix('line:')})" if provider else name


def account_labels(p: Page, balances: list[ledger.Balance]) -> dict[str, str]:
    """The accounts of an order as the reader names them, by key. Provider users:
    the service and the order line's code (``Proactive Credits (credits-y1)``).
    Customers read words: the service, then — only where it tells accounts of the
    same name apart — its site, its contract year, the day it lasts until."""
    provider = p.principal.role.is_provider
    labels = {b.key: [_named(p, b, provider)] for b in balances}
    if provider:
        return {key: parts[0] for key, parts in labels.items()}
    sites = [site_by_id(p.db, i) for i in {b.site_id for b in balances if b.site_id}]
    site_names = {s.id: s.name or s.code for s in sites}
    qualifiers = (
        lambda b: site_names.get(b.site_id) if b.site_id else None,
        lambda b: p.t("account.year", year=b.contract_year) if b.contract_year else None,
        lambda b: p.t("account.until", date=p.fmt.date(b.expires_on)) if b.expires_on else None,
    )
    for qualifier in qualifiers:
        alike: dict[str, list[ledger.Balance]] = {}
        for b in balances:
            alike.setdefault(", ".join(labels[b.key]), []).append(b)
        for group in alike.values():
            if len(group) > 1 and len({qualifier(b) for b in group}) > 1:
                for b in group:
                    labels[b.key] += [words] if (words := qualifier(b)) else []
    return {key: ", ".join(parts) for key, parts in labels.items()}


def account_group(b: ledger.Balance) -> str:
    if b.key.startswith("flex:"):
        return "flex"
    if b.unit in ("credits", "hours"):
        return b.unit
    return "fees" if b.key.startswith("fees:") else "services"


def today_at(p: Page, order: OrderRow) -> date:
    """Today at the order's host site: contract days are the site's days."""
    site = host_site(p.db, order)
    return p.fmt.local(p.now, site.timezone if site else "UTC").date()


def order_panel(p: Page, order: OrderRow, *, charts: bool = True) -> dict[str, Any]:
    """Balances by group, what will be forfeited and when, and the balance charts."""
    balances = ledger.balances(p.db, customer_id=order.customer_id, order_id=order.id)
    labels = account_labels(p, balances)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in GROUPS}
    forecast: list[dict[str, Any]] = []
    for b in balances:
        group = account_group(b)
        if group == "fees" and b.balance == 0:
            continue
        row = {
            "key": b.key,
            "label": labels[b.key],
            "balance": p.fmt.amount(b.balance, b.unit),
            "granted": p.fmt.amount(b.granted, b.unit),
            "used": p.fmt.amount(b.used, b.unit),
            "forfeited": p.fmt.amount(b.forfeited, b.unit),
            "expires_on": p.fmt.date(b.expires_on),
            "rule": b.expiry_rule,
            "year": b.contract_year,
        }
        groups[group].append(row)
        # R-FLEX-3 (per contract year) and R-ORD-3 (the term): unused is forfeited.
        if b.balance > 0 and b.expires_on is not None and group != "fees" and b.unit not in RUNNING_UNITS:
            forecast.append(
                {
                    "sort": b.expires_on,
                    "label": row["label"],
                    "amount": row["balance"],
                    "date": p.fmt.date(b.expires_on, long=True),
                    "rule": b.expiry_rule or "R-ORD-3",
                }
            )
    forecast.sort(key=lambda f: f["sort"])
    return {
        "number": order.number,
        "currency": order.currency,
        "status": order.status,
        "term_start": p.fmt.date(order.term_start),
        "term_end": p.fmt.date(order.term_end),
        "groups": groups,
        "forecast": forecast,
        "deadline": p.fmt.date(request_deadline(order.term_end), long=True),
        "charts": balance_charts(p, order, balances, labels) if charts else [],
    }


def balance_charts(p: Page, order: OrderRow, balances: list[ledger.Balance], labels: dict[str, str]) -> list[Chart]:
    """One chart per unit bookings draw on: each account's balance, day by day,
    from the start of the term to today."""
    end = min(today_at(p, order), order.term_end)
    out = []
    for unit in CHARTED_UNITS:
        accounts = [b for b in balances if b.unit == unit and not b.key.startswith(("fees:", "flex:"))]
        if not accounts:
            continue
        days = ledger.daily_balances(
            p.db, customer_id=order.customer_id, order_id=order.id, keys=[b.key for b in accounts]
        )
        series = [(labels[b.key], days.get(b.key, [])) for b in accounts]
        rows = [
            (p.fmt.date(day), label, p.fmt.number(value))
            for label, points in series
            for day, value in points
            if day <= end
        ]
        unit_name = p.fmt.unit(unit)
        out.append(
            step_lines(
                id=f"chart-balances-{order.number}-{unit}",
                title=p.t(f"chart.balances.{unit}", order=order.number),
                description=p.t("chart.balances_desc", start=p.fmt.date(order.term_start), end=p.fmt.date(end)),
                x_label=p.t("chart.date"),
                y_label=unit_name.capitalize(),
                start=order.term_start,
                end=end,
                series=series,
                # One day (the term's first): that day's date, not its month.
                x_tick=p.fmt.date
                if end <= order.term_start
                else month_tick(p, next(iter(month_starts(order.term_start, end)), order.term_start)),
                y_tick=p.fmt.number,
                table=Table(
                    p.t(f"chart.balances.{unit}", order=order.number),
                    (p.t("chart.date"), p.t("balances.account"), p.t("balances.balance")),
                    rows,
                    numeric_from=2,
                ),
                empty=p.t("chart.empty"),
            )
        )
    return out


def month_tick(p: Page, first: date):
    """Tick labels of a time axis: the year on the first tick and on January only
    (``juin 2026, juil., août …``), so that ``juin 26`` is never read as a day."""

    def label(day: date) -> str:
        return p.fmt.month(day, short=True, year=day.month == 1 or (day.year, day.month) <= (first.year, first.month))

    return label


# --------------------------------------------------------------------------- first responses
def _month_start(day: date, back: int = 0) -> date:
    month = day.year * 12 + day.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def attainment_chart(p: Page, *, id: str, customer_id: int | None = None) -> Chart:
    """Met, late and breached first responses (R-SLA-1, R-SEV-2) of the incidents
    opened in each of the last months (months of the viewer's zone), by severity."""
    zone = p.zone
    this_month = _month_start(p.fmt.local(p.now, zone).date())
    months = [_month_start(this_month, back) for back in range(ATTAINMENT_MONTHS - 1, -1, -1)]
    since = datetime.combine(months[0], datetime.min.time(), UTC)
    counts: dict[tuple[date, str], Counter] = {}
    for opened_at, severity, state in svc.first_response_outcomes(
        p.db, p.principal, since=since, now=p.now, customer_id=customer_id
    ):
        month = _month_start(p.fmt.local(opened_at, zone).date())
        counts.setdefault((month, severity), Counter())[state] += 1
    severities = [s.value for s in Severity]
    tick = month_tick(p, months[0])
    groups = [
        (tick(m), [(s, [counts.get((m, s), Counter())[state] for state in STATES]) for s in severities]) for m in months
    ]
    rows = []
    for m in months:
        for s in Severity:
            c = counts.get((m, s.value))
            if c:
                rows.append((p.fmt.month(m), s.label(p.language), *(p.fmt.number(c[state]) for state in STATES)))
    title = p.t("chart.attainment")
    return stacked_columns(
        id=id,
        title=title,
        description=p.t(
            "chart.attainment_desc", months=ATTAINMENT_MONTHS, start=p.fmt.month(months[0]), end=p.fmt.month(months[-1])
        ),
        x_label=p.t("chart.attainment_x"),
        y_label=p.t("chart.incidents"),
        groups=groups,
        segments=[(f"seg-{state}", p.t(f"state.{state}")) for state in STATES],
        y_tick=p.fmt.number,
        table=Table(
            title,
            (p.t("chart.month"), p.t("incident.severity"), *(p.t(f"state.{state}") for state in STATES)),
            rows,
            numeric_from=2,
        ),
        empty=p.t("chart.attainment_empty", months=ATTAINMENT_MONTHS),
    )


# --------------------------------------------------------------------------- bookings
def bookings_chart(p: Page, rows: list[BookingRow], *, id: str) -> Chart:
    """Bookings counted by the catalog family of their service, by status."""
    catalog = default_catalog()
    counts: dict[str, Counter] = {}
    for b in rows:
        family = catalog.get(b.service).family.value if b.service in catalog else "other"
        counts.setdefault(family, Counter())[BOOKING_STATES.get(b.status, "scheduled")] += 1
    states = ("scheduled", "delivered", "cancelled")
    order = [f.value for f in ServiceFamily] + ["other"]
    bars = [(p.fmt.t_or(f"service_family.{f}", f), [counts[f][s] for s in states]) for f in order if f in counts]
    title = p.t("chart.bookings")
    table_rows = [(label, *(p.fmt.number(v) for v in values), p.fmt.number(sum(values))) for label, values in bars]
    return stacked_bars(
        id=id,
        title=title,
        description=p.t("chart.bookings_desc", count=len(rows), families=len(bars)),
        x_label=p.t("chart.bookings_x"),
        y_label=p.t("chart.family"),
        bars=bars,
        segments=[(f"seg-{s}", p.t(f"booking_status.{s}")) for s in states],
        x_tick=p.fmt.number,
        table=Table(
            title, (p.t("chart.family"), *(p.t(f"booking_status.{s}") for s in states), p.t("chart.total")), table_rows
        ),
        empty=p.t("chart.bookings_empty"),
    )
