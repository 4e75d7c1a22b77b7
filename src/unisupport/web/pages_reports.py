"""The monthly reports in the portal (issue 10): SLA attainment and contract
consumption, with SVG charts and tables, for the CSAM's and incident manager's
customers or a customer's own, and each downloadable as CSV (docs/decisions.md D103).
The figures are those of the API and the CLI (``services.reports``); the tenant scope
is the signed-in user's."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import Response

from unisupport.access import CONTRACT_READERS
from unisupport.errors import InvalidInput
from unisupport.services.reports import consumption, sla
from unisupport.services.reports.csv import LOCALES, write_csv
from unisupport.services.reports.figures import next_month
from unisupport.web.charts import Chart, Table, stacked_columns
from unisupport.web.contracts import month_tick
from unisupport.sla.severity import Severity
from unisupport.web.pages_incident import plan_name
from unisupport.web.page import Page, WebRoute, page, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DEFAULT_MONTHS = 6
SEVERITIES = {s.value for s in Severity}


def _period(p: Page) -> tuple[sla.Period, str | None]:
    query = p.request.query_params
    today = p.today()
    start = today.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        start = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    try:
        first = date.fromisoformat(query["from"]) if query.get("from") else start
        last = date.fromisoformat(query["to"]) if query.get("to") else today
    except ValueError:
        raise InvalidInput("a date is written YYYY-MM-DD", field="from") from None
    return sla.Period(first, last), query.get("customer") or None


def _months(period: sla.Period) -> list[date]:
    out, m = [], period.first.replace(day=1)
    while m <= period.last:
        out.append(m)
        m = next_month(m)
    return out


def _attainment_chart(p: Page, lines: list[sla.SlaLine], period: sla.Period) -> Chart:
    met: dict[date, int] = defaultdict(int)
    breached: dict[date, int] = defaultdict(int)
    for x in lines:
        met[x.month] += x.first_response_met
        breached[x.month] += x.first_response_breached
    months = _months(period)
    tick = month_tick(p, months[0])
    title = p.t("report.chart_attainment")
    label = p.t("report.all_severities")
    return stacked_columns(
        id="report-attainment",
        title=title,
        description=p.t("report.chart_attainment_desc"),
        x_label=p.t("chart.month"),
        y_label=p.t("chart.incidents"),
        groups=[(tick(m), [(label, [met[m], breached[m]])]) for m in months],
        segments=[("seg-met", p.t("report.met")), ("seg-breached", p.t("report.breached"))],
        y_tick=p.fmt.number,
        table=Table(
            title,
            (p.t("chart.month"), p.t("report.met"), p.t("report.breached")),
            [
                (p.fmt.month(m), p.fmt.number(met[m]), p.fmt.number(breached[m]))
                for m in months
                if met[m] or breached[m]
            ],
        ),
        empty=p.t("report.empty"),
    )


def _cells(p: Page, values: list[Any], numeric_from: int) -> list[str]:
    return [v if i < numeric_from or isinstance(v, str) else p.fmt.number(v) for i, v in enumerate(values)]


def _sla_cells(p: Page, line: sla.SlaLine) -> list[str]:
    """A line in words: the severity's and the plan's names, numbers as the language writes them."""
    values = line.values()
    cells = _cells(p, values, 5)
    for i, v in enumerate(values):  # minutes and per cents to the tenth, as the CSV writes them
        if isinstance(v, Decimal):
            cells[i] = format_decimal(v, format="#,##0.0", locale=p.fmt.locale)
    cells[3] = Severity(line.severity).label(p.language) if line.severity in SEVERITIES else line.severity
    cells[4] = plan_name(p, line.plan)
    return cells


def _query(p: Page) -> str:
    """This page's query without its locale (the download links add theirs)."""
    return urlencode([(k, v) for k, v in p.request.query_params.multi_items() if k != "locale"])


@router.get("/reports/sla")
def sla_page(request: Request) -> Response:
    with page(request) as p:
        period, customer = _period(p)
        lines = sla.sla_report(p.db, p.principal, period, now=p.now, customer=customer)
        context = {
            "period": period,
            "customer": customer or "",
            "columns": [p.t(f"report.col.{c}") for c in sla.COLUMNS],
            "rows": [_sla_cells(p, x) for x in lines],
            "chart": _attainment_chart(p, lines, period),
            "csv": f"/reports/sla.csv?{_query(p)}",
            "kind": "sla",
        }
    return render(p, "report_sla.html", context)


@router.get("/reports/consumption")
def consumption_page(request: Request) -> Response:
    with page(request, roles=CONTRACT_READERS) as p:
        period, customer = _period(p)
        lines = consumption.consumption_report(p.db, p.principal, period, customer=customer)
        context = {
            "period": period,
            "customer": customer or "",
            "columns": [p.t(f"report.col.{c}") for c in consumption.COLUMNS],
            "rows": [_cells(p, x.values(), 5) for x in lines],
            "csv": f"/reports/consumption.csv?{_query(p)}",
            "kind": "consumption",
        }
    return render(p, "report_consumption.html", context)


def _download(p: Page, columns: tuple[str, ...], values: list[list[Any]], name: str) -> Response:
    locale = p.request.query_params.get("locale") or p.language
    locale = locale if locale in LOCALES else "en"
    return Response(
        write_csv(columns, values, locale),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/reports/sla.csv")
def sla_csv(request: Request) -> Response:
    with page(request) as p:
        period, customer = _period(p)
        values = [x.values() for x in sla.sla_report(p.db, p.principal, period, now=p.now, customer=customer)]
    return _download(p, sla.COLUMNS, values, f"sla-{period.first}-{period.last}.csv")


@router.get("/reports/consumption.csv")
def consumption_csv(request: Request) -> Response:
    with page(request, roles=CONTRACT_READERS) as p:
        period, customer = _period(p)
        values = [x.values() for x in consumption.consumption_report(p.db, p.principal, period, customer=customer)]
    return _download(p, consumption.COLUMNS, values, f"consumption-{period.first}-{period.last}.csv")
