"""``unisupport booking …``: book, quote, cancel, deliver and list proactive services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer
from rich.console import Console
from rich.table import Table

from unisupport.cli.environment import actor, now, parse_date, print_json, transaction
from unisupport.cli.sla import parse_instant
from unisupport.errors import InvalidInput
from unisupport.services.bookings import (
    BookingRequest,
    booking_dict,
    cancel_booking,
    create_booking,
    deliver_booking,
    list_bookings,
    quote,
    quote_cancellation,
)

app = typer.Typer(help="Bookings of proactive services: cost, cancellation fees (R-BOOK-1).", no_args_is_help=True)


def _decimal(value: str | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not a number", field=field) from None


def _request(
    order, site, service, on, funding, unit, quantity, line, start, end, attendees, minimum, override, consent=None
) -> BookingRequest:
    return BookingRequest(
        order=order,
        site=site,
        service=service,
        scheduled_on=parse_date(on, "--on"),
        funding=funding,
        unit=unit,
        quantity=_decimal(quantity, "--quantity"),
        line=line,
        starts_at=parse_instant(start, "--start"),
        ends_at=parse_instant(end, "--end"),
        attendees=attendees,
        minimum_registrations=minimum,
        override_reason=override,
        recording=consent is not None,
        recording_consent=consent,
    )


ORDER = typer.Option(..., "--order", help="Order number.")
SITE = typer.Option(..., "--site", help="Site code of the order.")
SERVICE = typer.Option(..., "--service", help="Catalog code (workshops, chalk-talks, designated-engineering …).")
ON = typer.Option(..., "--on", help="Scheduled date at the site (YYYY-MM-DD).")
FUNDING = typer.Option("credits", "--funding", help="credits, hours or paid.")


@app.command("create")
def create(
    order: str = ORDER,
    site: str = SITE,
    service: str = SERVICE,
    on: str = ON,
    funding: str = FUNDING,
    unit: str | None = typer.Option(None, "--unit", help="Catalog unit (per-attendee, dedicated-delivery, hours …)."),
    quantity: str | None = typer.Option(None, "--quantity"),
    line: str | None = typer.Option(None, "--line", help="Order line paying (hours, paid)."),
    start: str | None = typer.Option(None, "--start", help="Start instant of hour-based services (ISO 8601)."),
    end: str | None = typer.Option(None, "--end", help="End instant of hour-based services (ISO 8601)."),
    attendees: int | None = typer.Option(None, "--attendees"),
    minimum: int | None = typer.Option(None, "--minimum-registrations"),
    override: str | None = typer.Option(
        None, "--override-reason", help="Provider override of the 60-day rule (R-ORD-5)."
    ),
    recording_consent: str | None = typer.Option(
        None, "--record-with-consent", help="Record the workshop, with this written consent (R-BOOK-3)."
    ),
    dry_run: bool = typer.Option(False, "--quote", help="Only price and check it."),
    expected_cost: str | None = typer.Option(
        None, "--expected-cost", help="The cost --quote showed; without it nothing is booked (D45)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Price a booking with --quote, then book it with --expected-cost (the cost shown)."""
    request = _request(
        order,
        site,
        service,
        on,
        funding,
        unit,
        quantity,
        line,
        start,
        end,
        attendees,
        minimum,
        override,
        recording_consent,
    )
    with transaction() as session:
        if dry_run:
            result = quote(session, request, now=now(), provider=True).to_dict()
        else:
            booked = create_booking(
                session,
                request,
                actor=actor(),
                provider=True,
                now=now(),
                expected_cost=_decimal(expected_cost, "--expected-cost"),
            )
            result = booking_dict(booked)
    if as_json:
        print_json(result)
        return
    console = Console(highlight=False)
    console.print(
        f"{'Quote' if dry_run else 'Booked #' + str(result['id'])}: {result['cost']} {result['cost_unit']} — "
        f"{(result.get('explanation') or result.get('cost_explanation') or {}).get('text', '')}"
    )
    if dry_run:
        console.print(f"Nothing booked: add --expected-cost {result['confirm_with']['expected_cost']} to book it.")


@app.command("cancel")
def cancel(
    booking: int = typer.Argument(..., help="Booking id."),
    confirm: bool = typer.Option(False, "--confirm", help="Cancel for real; without it, only show the fee."),
    expected_fee: str | None = typer.Option(
        None, "--expected-fee", help="With --confirm: the fee you were shown; without it nothing is cancelled."
    ),
    by_provider: bool = typer.Option(
        False, "--by-provider", help="Provider cancellation of a workshop below its minimum registrations (R-BOOK-2)."
    ),
    registered: int | None = typer.Option(
        None, "--registered", help="With --by-provider: how many registered (default: the attendees booked)."
    ),
    reason: str | None = typer.Option(None, "--reason"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the cancellation fee (R-BOOK-1); with --confirm --expected-fee FEE, cancel and charge it."""
    with transaction() as session:
        if confirm:
            result = cancel_booking(
                session,
                booking,
                actor=actor(),
                now=now(),
                by_provider=by_provider,
                reason=reason,
                registered=registered,
                expected_fee=_decimal(expected_fee, "--expected-fee"),
            ).to_dict()
        else:
            result = quote_cancellation(
                session, booking, now=now(), by_provider=by_provider, reason=reason, registered=registered
            ).to_dict(preview=True)
    if as_json:
        print_json(result | {"cancelled": confirm})
        return
    console = Console(highlight=False)
    console.print(result["explanation"])
    console.print(f"Fee: {result['fee']} {result['fee_unit']}; refund: {result['refund']} {result['refund_unit']}.")
    console.print("Schedule: " + "; ".join(result["schedule"]))
    if not confirm:
        fee = "" if by_provider else f" --expected-fee {result['confirm_with']['expected_fee']}"
        console.print(f"Nothing changed: add --confirm{fee} to cancel.")


@app.command("deliver")
def deliver(
    booking: int = typer.Argument(..., help="Booking id."),
    note: str | None = typer.Option(None, "--note", help="What was delivered, for the audit trail."),
    at: str | None = typer.Option(None, "--at", help="When it was delivered (ISO 8601, not ahead of now)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record that a scheduled service was delivered: its contact gets one satisfaction survey (R-CSAT-1)."""
    with transaction() as session:
        result = booking_dict(
            deliver_booking(session, booking, actor=actor(), now=now(), note=note, at=parse_instant(at, "--at"))
        )
    if as_json:
        print_json(result)
        return
    Console(highlight=False).print(f"Booking #{result['id']} ({result['service']}) delivered; its survey is queued.")


@app.command("list")
def list_(order: str | None = typer.Option(None, "--order"), as_json: bool = typer.Option(False, "--json")) -> None:
    """List bookings."""
    with transaction() as session:
        rows = [booking_dict(b) for b in list_bookings(session, order=order)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "service", "date", "status", "cost", "fee")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["service"],
            r["scheduled_on"],
            r["status"],
            f"{r['cost']} {r['cost_unit']}",
            "" if r["fee"] is None else f"{r['fee']} {r['fee_unit']}",
        )
    Console().print(table)
