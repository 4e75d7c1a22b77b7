"""``unisupport report sla|consumption``: the monthly reports (issue 10) as a table,
CSV for a spreadsheet (docs/decisions.md D103) or JSON; a progress bar on stderr while
the months are read. The command line is the operator: every customer, or one."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from unisupport.access import SYSTEM
from unisupport.cli.environment import now, parse_date, print_json, reading
from unisupport.services.reports import consumption, sla
from unisupport.services.reports.csv import cell, write_csv
from unisupport.services.reports.figures import month_starts

app = typer.Typer(help="Monthly reports: SLA attainment, contract consumption.", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FROM = typer.Option(..., "--from", help="First day, YYYY-MM-DD (UTC).")
TO = typer.Option(..., "--to", help="Last day, YYYY-MM-DD, included.")
CUSTOMER = typer.Option(None, "--customer", help="A customer code; default: every customer.")
FORMAT = typer.Option(Format.TABLE, "--format", help="table, csv (for a spreadsheet) or json.")
LOCALE = typer.Option("en", "--locale", help="CSV: en (1.5 and ',') or fr (1,5 and ';').")
# Shown in the table (the CSV and JSON carry every column).
SLA_SHOWN = {
    "month": "month",
    "customer": "customer",
    "severity": "sev",
    "plan": "plan",
    "incidents": "n",
    "first_response_met_percent": "met %",
    "first_response_minutes_median": "1st resp. p50",
    "first_response_minutes_p90": "p90",
    "mitigate_minutes_median": "mitigate p50",
    "close_minutes_median": "close p50",
    "customer_misses": "cust. misses",
    "rcas_on_time": "RCAs on time",
    "updates_met_percent": "updates met %",
}


Run = Callable[[Session, sla.Period, Callable[[date], None]], list[Any]]


def _read(first_day: str, last_day: str, run: Run) -> list[Any]:
    """The lines ``run`` reads for the period, with the progress bar over its months."""
    first, last = parse_date(first_day, "--from"), parse_date(last_day, "--to")
    period = sla.Period(first, last)
    months = len(month_starts(first, last))
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=months < 3 or not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("months read", total=months)
        with reading() as session:
            return run(session, period, lambda _month: bar.advance(task))


def _show(lines: Sequence[Any], columns: Sequence[str], shown: dict[str, str], output: Format, locale: str) -> None:
    if output is Format.JSON:
        print_json({"lines": [x.to_dict() for x in lines]})
        return
    if output is Format.CSV:
        sys.stdout.buffer.write(write_csv(columns, (x.values() for x in lines), locale))
        return
    console = Console(highlight=False)
    if not lines:
        console.print("nothing to report in that period")
        return
    table = Table(*shown.values(), caption="minutes: as the target counted them (business or wall-clock)")
    index = [columns.index(c) for c in shown]
    for line in lines:
        values = line.values()
        table.add_row(*(cell(values[i], ".") for i in index))
    console.print(table)


@app.command("sla")
def sla_command(
    first: str = FROM,
    last: str = TO,
    customer: str | None = CUSTOMER,
    output: Format = FORMAT,
    locale: str = LOCALE,
) -> None:
    """SLA attainment by month × customer × severity × plan: first responses met and breached, minutes to first
    response (as the target counted them), to mitigate and to close, customer-side misses (R-SLA-4), RCAs on time
    (R-RCA-2)."""
    at = now()
    lines = _read(
        first,
        last,
        lambda session, period, step: sla.sla_report(session, SYSTEM, period, now=at, customer=customer, progress=step),
    )
    _show(lines, sla.COLUMNS, SLA_SHOWN, output, locale)


@app.command("consumption")
def consumption_command(
    first: str = FROM,
    last: str = TO,
    customer: str | None = CUSTOMER,
    output: Format = FORMAT,
    locale: str = LOCALE,
) -> None:
    """Consumption by month × customer × service, forfeitures (R-FLEX-3, R-ORD-3) and cancellation fees (R-BOOK-1)."""
    lines = _read(
        first,
        last,
        lambda session, period, step: consumption.consumption_report(
            session, SYSTEM, period, customer=customer, progress=step
        ),
    )
    _show(lines, consumption.COLUMNS, {c: c.replace("_", " ") for c in consumption.COLUMNS}, output, locale)
