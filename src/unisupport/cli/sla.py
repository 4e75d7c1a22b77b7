"""``unisupport sla …``: the first-response calculator of the SLA engine."""

from __future__ import annotations

import json
from datetime import datetime
from typing import overload

import typer
from rich.console import Console
from rich.table import Table

from unisupport.cli.environment import actor, now, print_json, transaction
from unisupport.errors import InvalidInput
from unisupport.services.incidents.updates import recalculate_all
from unisupport.sla import Calendar, Explanation, Holding, explain
from unisupport.sla.matrix import Coverage, Scope, default_matrix
from unisupport.sla.story import business_time_days

app = typer.Typer(
    help="First-response targets: compute them and explain them; recalculate the update targets.",
    no_args_is_help=True,
)


@overload
def parse_instant(value: str, field: str) -> datetime: ...
@overload
def parse_instant(value: None, field: str) -> None: ...
@overload
def parse_instant(value: str | None, field: str) -> datetime | None: ...
def parse_instant(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 instant with a UTC offset (``Z`` accepted), or InvalidInput."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{value!r} is not an ISO 8601 date-time such as 2026-11-27T16:45:00+01:00", field=field
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{value!r} has no UTC offset (add +01:00, Z …)", field=field)
    return moment


def _codes(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(v.strip() for v in value.split(",") if v.strip())


@app.command("explain")
def explain_command(
    severity: str = typer.Option(..., "--severity", help="1, A, B or C (R-SEV-1)."),
    product: str = typer.Option(..., "--product", help="Product code (see `unisupport catalog products`)."),
    opened: str = typer.Option(..., "--opened", help="When the incident was opened, ISO 8601 with offset."),
    country: str = typer.Option(..., "--country", help="Site country, ISO 3166-1 alpha-2 (FR, US …)."),
    timezone: str = typer.Option(..., "--timezone", help="Site IANA time zone (Europe/Paris …)."),
    plans: str = typer.Option("", "--plans", help="Plans held, comma-separated catalog codes; base is always held."),
    description: str | None = typer.Option(
        None, "--description", help='Case description (Azure Events cases carry "AEM").'
    ),
    event_start: str | None = typer.Option(None, "--event-start", help="Azure Events window start, ISO 8601."),
    event_end: str | None = typer.Option(None, "--event-end", help="Azure Events window end, ISO 8601."),
    arr_components: str | None = typer.Option(
        None, "--arr-components", help="Azure components named for ARR on the order."
    ),
    mcsap_products: str | None = typer.Option(
        None, "--mcsap-products", help="Products enrolled in MCSAP on the order."
    ),
    security_tenants: str | None = typer.Option(None, "--security-tenants", help="Tenants named for Security Plus."),
    tenant: str | None = typer.Option(None, "--tenant", help="The incident's tenant (Security Plus)."),
    language: str | None = typer.Option(None, "--language", help="Requested language (en, fr, ja …; R-SLA-3)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Compute the first-response due instant of an incident and explain it."""
    opened_at = parse_instant(opened, "--opened")
    scopes = {
        Scope.AZURE_COMPONENTS: (_codes(arr_components), "--arr-components"),
        Scope.ENROLLED_PRODUCTS: (_codes(mcsap_products), "--mcsap-products"),
        Scope.TENANTS: (_codes(security_tenants), "--security-tenants"),
    }
    matrix = default_matrix()
    holdings = []
    used = set()
    for code in (p.strip() for p in plans.split(",")):
        if not code:
            continue
        plan = matrix.plan(code, field="--plans")
        scope, flag = scopes.get(plan.scope, (None, None))
        if scope is not None:
            used.add(flag)
        holdings.append(Holding(code, scope))
    for scope, flag in scopes.values():
        if scope is not None and flag not in used:
            raise InvalidInput(f"{flag} was given but no plan held takes it", field=flag)
    try:
        result = explain(
            severity=severity,
            product=product,
            opened=opened_at,
            calendar=Calendar.for_country(country, timezone),
            plans=holdings,
            description=description,
            event_start=parse_instant(event_start, "--event-start"),
            event_end=parse_instant(event_end, "--event-end"),
            tenant=tenant,
            language=language,
        )
    except InvalidInput as exc:
        # Library field names → the CLI's flag names.
        if exc.field and not exc.field.startswith("--"):
            exc.field = "--" + exc.field.replace("_", "-")
        raise
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        render(result, Console(highlight=False))


def _when(moment: datetime) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M %Z")


def render(result: Explanation, console: Console) -> None:
    """The short, readable explanation printed by ``sla explain`` and the demo."""
    cal = result.calendar
    unit = "business minutes" if result.coverage is Coverage.BUSINESS_HOURS else "minutes, 24x7"
    console.print(
        f"[bold]Severity {result.severity.value}[/] · {result.product.en} ({result.product.code}) · "
        f"opened {_when(result.opened)} · site {cal.country} {cal.timezone}"
    )
    console.print(
        f"First response due [bold]{_when(result.due)}[/]: {result.target_minutes} {unit}, "
        f"from plan [bold]{result.plan}[/] (R-SLA-1: the shortest target wins)."
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("plan")
    table.add_column("applies")
    table.add_column("target", justify="right")
    table.add_column("reason", overflow="fold")
    for c in result.considered:
        mark = "yes" if c.applies else "no"
        target = "—" if c.target_minutes is None else f"{c.target_minutes} min"
        table.add_row(("→ " if c.plan == result.plan else "  ") + c.plan, mark, target, c.reason)
    console.print(table)
    if result.coverage is Coverage.BUSINESS_HOURS:
        for line in business_time_story(cal, result.opened, result.due):
            console.print(f"  {line}")
    for extra in result.extras:
        when = f" (by {_when(datetime.fromisoformat(extra['due']))})" if "due" in extra else ""
        console.print(f"  + {extra['en']}{when} [{extra['plan']}]")


def business_time_story(cal: Calendar, start: datetime, end: datetime, *, limit: int = 8) -> list[str]:
    """Day by day, the working time counted between ``start`` and ``end`` and the
    days skipped with their reason: the answer to "why is it due then?"."""
    lines: list[str] = []
    for d in business_time_days(cal, start, end, limit=limit):
        if d.closed:
            lines.append(f"{d.day:%a %Y-%m-%d}: closed, {cal.closed_reason(d.day)}")
        elif d.counted:
            spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in d.counted)
            lines.append(f"{d.day:%a %Y-%m-%d}: {spans} counted ({d.minutes:g} min)")
        else:
            lines.append(f"{d.day:%a %Y-%m-%d}: outside working hours")
    return lines


@app.command("recalculate")
def recalculate_command(
    reason: str = typer.Option(
        "the site calendars or the severity matrix were edited", "--reason", help="Why, kept on each timeline."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute the pending update targets of the open incidents from their recorded
    start and pauses with the calendars and matrix as they are now (after editing
    data/calendars.yaml or data/severity-matrix.yaml); met and breached targets never
    change, and each change is an event that says why (docs/decisions.md D98)."""
    with transaction() as session:
        changed = recalculate_all(session, now=now(), why=reason, actor=actor())
    if as_json:
        print_json({"recalculated": changed})
    else:
        Console().print(f"{changed} pending update target(s) recalculated")
