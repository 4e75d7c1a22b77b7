"""``unisupport event …``, ``unisupport mcsap …`` and ``unisupport success …``:
Azure Events, MCSAP onboarding and improvement plans, success plans."""

from __future__ import annotations

import json
from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from unisupport.access import SYSTEM
from unisupport.cli.environment import actor, now, parse_date, print_json, reading, transaction
from unisupport.errors import InvalidInput
from unisupport.orders.order_file import AzureEvent
from unisupport.services import incidents
from unisupport.services import mission_critical as mc
from unisupport.services.orders import order_by_number

events = typer.Typer(
    help="Azure Events engagements and their post-event summaries (R-EVT-1, R-EVT-2).", no_args_is_help=True
)
mcsap = typer.Typer(
    help="MCSAP onboarding, monitoring scenarios, improvement plans (R-MCSAP-2..4).", no_args_is_help=True
)
success = typer.Typer(help="Success plans by area and activity (R-SUC-2).", no_args_is_help=True)


@events.command("create")
def event_create(
    order: str = typer.Option(..., "--order"),
    line: str = typer.Option(..., "--line", help="The mcs-azure-events line paying for it."),
    event_id: str = typer.Option(..., "--id"),
    solution: str = typer.Option(..., "--solution"),
    start: str = typer.Option(..., "--start", help="First day (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", help="Last day, inclusive (at most 5 days)."),
    confirmed_on: str = typer.Option(..., "--confirmed-on", help="Written confirmation date (≥ 6 weeks before)."),
    provider_consent: bool = typer.Option(
        False, "--provider-consent", help="Accept a late confirmation (reduced assessment)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record an Azure Events engagement; it consumes one event of its line."""
    try:
        event = AzureEvent(
            id=event_id,
            line=line,
            solution=solution,
            start=parse_date(start, "--start"),
            end=parse_date(end, "--end"),
            confirmed_on=parse_date(confirmed_on, "--confirmed-on"),
            provider_consent=provider_consent,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc).splitlines()[0], field="--id") from None
    with transaction() as session:
        row = mc.create_event(session, order_by_number(session, order), event, actor=actor(), now=now())
        result = mc.event_dict(row, mc.event_plan(session, row))
    if as_json:
        print_json(result)
    else:
        Console(highlight=False).print(
            f"Event {result['id']}: {result['solution']}, {result['start']} to {result['end']}; "
            f"covered {result['window_start']} to {result['window_end']}"
            + (" (reduced pre-event assessment)" if result["reduced_pre_event_assessment"] else "")
        )


@events.command("list")
def event_list(order: str = typer.Option(..., "--order"), as_json: bool = typer.Option(False, "--json")) -> None:
    """The order's Azure events, each with its post-event summary (R-EVT-1)."""
    with reading() as session:
        rows = [
            mc.event_dict(e, mc.event_plan(session, e))
            | {"summary": incidents.event_summary(session, SYSTEM, order, e.code)}
            for e in mc.events(session, order_by_number(session, order))
        ]
    if as_json:
        print_json(rows)
        return
    console = Console(highlight=False, soft_wrap=True)
    for r in rows:
        cases = r["summary"]["cases"]
        reduced = " · reduced pre-event assessment" if r["reduced_pre_event_assessment"] else ""
        console.print(f"{r['id']}  {r['start']} to {r['end']}  {r['solution']}{reduced}")
        console.print(
            f"  {len(cases)} case(s) opened during the event, {sum(c['resolved'] for c in cases)} resolved "
            f"({r['summary']['rule']}: unisupport event summary --order {order} --id {r['id']})"
        )


@events.command("summary")
def event_summary(
    order: str = typer.Option(..., "--order"),
    event_id: str = typer.Option(..., "--id"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The post-event summary: every case opened during the event's window and whether
    each is resolved (R-EVT-1)."""
    with reading() as session:
        summary = incidents.event_summary(session, SYSTEM, order, event_id)
    if as_json:
        print_json(summary)
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"Event {summary['event']}: {summary['solution']}, covered {summary['window_start']} to "
        f"{summary['window_end']}; {len(summary['cases'])} case(s), "
        + ("all resolved" if summary["all_resolved"] else "not all resolved")
        + f" ({summary['rule']})"
    )
    table = Table("incident", "opened", "severity", "status", "resolved")
    for c in summary["cases"]:
        table.add_row(c["id"], c["opened_at"], c["severity"], c["status"], "yes" if c["resolved"] else "no")
    console.print(table)


@mcsap.command("milestones")
def milestones(
    order: str = typer.Option(..., "--order"),
    as_of: str | None = typer.Option(None, "--as-of"),
    as_json: bool = typer.Option(False, "--json"),
    lang: str = typer.Option("en", "--lang"),
) -> None:
    """Onboarding milestones from the execution date, with their status."""
    day = parse_date(as_of, "--as-of") or now().date()
    with transaction() as session:
        rows = [m.to_dict() for m in mc.milestones(session, order_by_number(session, order), as_of=day)]
    if as_json:
        print_json(rows)
        return
    table = Table("milestone", "due", "status", "rule")
    for r in rows:
        table.add_row(r["fr" if lang == "fr" else "en"], r["due"], r["status"], r["rule"])
    Console().print(table)


@mcsap.command("complete")
def complete(
    order: str = typer.Option(..., "--order"),
    milestone: str = typer.Option(..., "--milestone"),
    on: str = typer.Option(..., "--on"),
) -> None:
    with transaction() as session:
        mc.complete_milestone(
            session,
            order_by_number(session, order),
            milestone,
            completed_on=parse_date(on, "--on"),
            actor=actor(),
            now=now(),
        )
    print(f"{milestone} completed on {on}")


@mcsap.command("scenario")
def scenario(
    order: str = typer.Option(..., "--order"),
    name: str = typer.Option(..., "--name"),
    on: str | None = typer.Option(None, "--on"),
) -> None:
    """Define a monitoring scenario (MCSAP Plus, at most 7: R-MCSAP-3)."""
    with transaction() as session:
        mc.add_monitoring_scenario(
            session,
            order_by_number(session, order),
            name,
            defined_on=parse_date(on, "--on") or now().date(),
            actor=actor(),
            now=now(),
        )
    print(f"scenario {name!r} defined")


@mcsap.command("sip")
def sip(
    order: str = typer.Option(..., "--order"),
    title: str = typer.Option(..., "--title"),
    starts_on: str = typer.Option(..., "--starts-on"),
) -> None:
    """Open a Service Improvement Plan (at most 2 in any 12 months: R-MCSAP-4)."""
    with transaction() as session:
        mc.add_service_improvement_plan(
            session,
            order_by_number(session, order),
            title,
            starts_on=parse_date(starts_on, "--starts-on"),
            actor=actor(),
            now=now(),
        )
    print(f"service improvement plan {title!r} opened")


@success.command("create")
def success_create(
    customer: str = typer.Option(..., "--customer"),
    owner: str = typer.Option(..., "--owner", help="The CSAM's e-mail."),
    title: str = typer.Option(..., "--title"),
    items: str = typer.Option("[]", "--items", help='JSON list of {"area", "activity", "status", "due", "notes"}.'),
    order: str | None = typer.Option(None, "--order"),
) -> None:
    """Create a success plan (Annex B areas and activities)."""
    try:
        parsed = json.loads(items)
        for item in parsed:
            if isinstance(item, dict) and isinstance(item.get("due"), str):
                item["due"] = date.fromisoformat(item["due"])
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a JSON list of items ({exc})", field="--items") from None
    with transaction() as session:
        row = mc.create_success_plan(
            session,
            customer_code=customer,
            owner=owner,
            title=title,
            items=parsed,
            actor=actor(),
            now=now(),
            order_number=order,
        )
        plan_id = row.id
    print(f"success plan {plan_id} created")
