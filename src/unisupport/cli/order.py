"""``unisupport order …``: Enterprise Services Orders written as YAML files
(docs/order-file.md). ``validate`` reports every violation at once.

Exit codes are part of the contract scripts rely on: 0 valid (warnings allowed),
1 the file was read and breaks rules, 2 the file cannot be read or parsed — then
one line ``error: …`` on stderr naming the problem and its line, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from unisupport.cli.environment import actor, now, parse_date, print_json, reading, transaction
from unisupport.errors import OrderFileUnreadable, OrderInvalid, Refused, UnisupportError
from unisupport.services import ledger
from unisupport.services.orders import close_period, import_order, order_by_number, versions

from unisupport.orders.validation import (
    Violation,
    is_valid,
    read_order_document,
    validate_order,
)

app = typer.Typer(
    help="Enterprise Services Orders: validate, import, show, balances, close periods.", no_args_is_help=True
)

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


@app.command("validate")
def validate_command(
    file: str = typer.Argument(..., help="The order file (YAML, see docs/order-file.md)."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print {"valid": bool, "violations": [{"rule", "path", "message", "severity"}]}.',
    ),
) -> None:
    """Check an order file against the schema and the rules; report every violation."""
    try:
        document = read_order_document(file)
    except OrderFileUnreadable as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise typer.Exit(EXIT_UNREADABLE) from None
    violations = validate_order(document)
    valid = is_valid(violations)
    if as_json:
        print(
            json.dumps(
                {"valid": valid, "violations": [v.to_dict() for v in violations]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _render(file, valid, violations, Console(highlight=False))
    raise typer.Exit(EXIT_VALID if valid else EXIT_INVALID)


def _render(file: str, valid: bool, violations: list[Violation], console: Console) -> None:
    errors = sum(v.severity == "error" for v in violations)
    warnings = len(violations) - errors
    if valid:
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        console.print(Text(f"{file}: valid{tail}"), soft_wrap=True)
    else:
        tail = f" and {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        # soft_wrap: a long path must not break the headline across lines.
        console.print(Text(f"{file}: invalid, {errors} error{'s' if errors != 1 else ''}{tail}"), soft_wrap=True)
    if not violations:
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("rule", no_wrap=True)
    table.add_column("path", no_wrap=True)
    if warnings:
        table.add_column("severity", no_wrap=True)
    table.add_column("message", overflow="fold")
    for v in violations:
        # Text cells: paths such as lines[2] must never be read as Rich markup.
        cells = [Text(v.rule), Text(v.path or "(document)")]
        if warnings:
            cells.append(Text(v.severity))
        cells.append(Text(v.message))
        table.add_row(*cells)
    console.print(table)


# --------------------------------------------------------------------------- storage
def _order_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        files.extend(sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path])
    return files


@app.command("import")
def import_command(
    files: list[str] = typer.Argument(..., help="Order files, or folders of them."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept with the new version)."),
    expected_forfeit: str | None = typer.Option(
        None,
        "--expected-forfeit",
        help="What an amendment takes back or forfeits, as shown when it was refused (e.g. '48 credits, 80 hours').",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create or amend orders in the database, idempotently (the same file twice
    changes nothing). Each file is its own transaction; every file is reported. An
    amendment that takes back or forfeits balances is refused with what it would take
    until --expected-forfeit confirms it (D45)."""
    paths = _order_files(files)
    results: list[dict] = []
    failed = False
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        disable=as_json or len(paths) < 2,
    ) as progress:
        task = progress.add_task("importing orders", total=len(paths))
        for path in paths:
            try:
                document = read_order_document(path)
                with transaction() as session:
                    results.append(
                        {"file": str(path)}
                        | import_order(
                            session,
                            document,
                            actor=actor(),
                            now=now(),
                            reason=reason,
                            expected_forfeit=expected_forfeit,
                        ).to_dict()
                    )
            except OrderInvalid as exc:
                failed = True
                results.append(
                    {"file": str(path), "outcome": "invalid", "violations": [v.to_dict() for v in exc.violations]}
                )
            except (OrderFileUnreadable, UnisupportError) as exc:
                failed = True
                details = {"details": exc.details} if isinstance(exc, Refused) and exc.details else {}
                results.append({"file": str(path), "outcome": "refused", "error": str(exc), "rule": exc.rule} | details)
            progress.advance(task)
    if as_json:
        print_json(results)
    else:
        console = Console(highlight=False, soft_wrap=True)
        for r in results:
            if r["outcome"] == "invalid":
                console.print(
                    Text(
                        f"{r['file']}: invalid, not imported "
                        f"({len(r['violations'])} violations; run `unisupport order validate`)"
                    )
                )
            elif r["outcome"] == "refused":
                console.print(Text(f"{r['file']}: refused: {r['error']}"))
            else:
                console.print(
                    Text(
                        f"{r['file']}: order {r['number']} {r['outcome']} (version {r['version']}, "
                        f"{len(r['changes'])} changes, {r['ledger_entries']} ledger entries)"
                    )
                )
    raise typer.Exit(1 if failed else 0)


@app.command("show")
def show_command(number: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """An order: its current document and every version with what changed."""
    with reading() as session:
        row = order_by_number(session, number)
        start, end = row.term_start, row.term_end
        kept = versions(session, row)
        history: list[dict[str, Any]] = [
            {"version": v.version, "at": v.at, "actor": v.actor, "reason": v.reason, "changes": v.changes} for v in kept
        ]
        result = {
            "number": row.number,
            "status": row.status,
            "currency": row.currency,
            "term": [row.term_start, row.term_end],
            "executed_on": row.executed_on,
            "version": row.version,
            "document": kept[-1].document,
            "history": history,
        }
    # Only values from here on: the row left its session with the block.
    if as_json:
        print_json(result)
        return
    console = Console(highlight=False)
    console.print(
        Text(f"Order {result['number']} · {result['status']} · {start} to {end} · version {result['version']}")
    )
    for v in history:
        console.print(
            Text(
                f"  v{v['version']} {v['at']:%Y-%m-%d %H:%M} by {v['actor']}: {len(v['changes'])} changes"
                + (f" ({v['reason']})" if v["reason"] else "")
            )
        )
        for c in v["changes"][:20]:
            console.print(Text(f"      {c['path']}: {c['before']} → {c['after']}"))


@app.command("balances")
def balances_command(
    number: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
    entries: bool = typer.Option(False, "--entries", help="Also list every ledger entry."),
) -> None:
    """Balances of every account of an order (derived from the append-only ledger)."""
    with reading() as session:
        row = order_by_number(session, number)
        rows = [b.to_dict() for b in ledger.balances(session, customer_id=row.customer_id, order_id=row.id)]
        lines = (
            [
                {
                    "id": e.id,
                    "account": key,
                    "kind": e.kind,
                    "amount": e.amount,
                    "unit": e.unit,
                    "balance_after": e.balance_after,
                    "rule": e.rule,
                    "reason": e.reason,
                    "actor": e.actor,
                    "at": e.at,
                }
                for e, key in ledger.entries(session, customer_id=row.customer_id, order_id=row.id)
            ]
            if entries
            else []
        )
    if as_json:
        print_json({"order": number, "balances": rows} | ({"entries": lines} if entries else {}))
        return
    table = Table("account", "unit", "granted", "used", "forfeited", "balance", "expires", title=f"Order {number}")
    for b in rows:
        table.add_row(
            b["account"],
            b["unit"],
            b["granted"],
            b["used"],
            b["forfeited"],
            b["balance"],
            f"{b['expires_on'] or ''} {b['expiry_rule'] or ''}".strip(),
        )
    console = Console(highlight=False)
    console.print(table)
    for e in lines:
        console.print(
            Text(
                f"#{e['id']} {e['at']:%Y-%m-%d} {e['account']} {e['kind']} {e['amount']} {e['unit']} → "
                f"{e['balance_after']}"
                f" [{e['rule'] or '-'}] {e['reason']} ({e['actor']})"
            )
        )


@app.command("close-period")
def close_period_command(
    as_of: str = typer.Option(..., "--as-of", help="Forfeit what expired before this date (YYYY-MM-DD)."),
    number: str | None = typer.Option(None, "--order", help="Only this order."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Forfeit unused balances at the end of each contract year (R-FLEX-3) and of the
    term (R-ORD-3); expire finished orders. Running it twice changes nothing."""
    day = parse_date(as_of, "--as-of")
    with transaction() as session:
        results = [r.to_dict() for r in close_period(session, as_of=day, actor=actor(), now=now(), number=number)]
    if as_json:
        print_json(results)
        return
    console = Console(highlight=False)
    for r in results:
        console.print(
            Text(f"{r['order']}: {len(r['forfeited'])} forfeitures" + (", order expired" if r["expired"] else ""))
        )
        for f in r["forfeited"]:
            console.print(Text(f"  {f['account']}: {f['amount']} forfeited [{f['rule']}] {f['reason']}"))


@app.command("verify")
def verify_command(number: str = typer.Argument(...)) -> None:
    """Re-derive every balance from the ledger entries and compare."""
    with reading() as session:
        row = order_by_number(session, number)
        problems = ledger.verify(session, customer_id=row.customer_id, order_id=row.id)
    for p in problems:
        print(f"{p.account}: running {p.running}, entries say {p.from_entries} ({p.entries} vs {p.counted} entries)")
    print("balances match the ledger" if not problems else f"{len(problems)} accounts differ")
    raise typer.Exit(1 if problems else 0)


@app.command("exchange")
def exchange_command(
    number: str = typer.Argument(...),
    from_line: str = typer.Option(..., "--from-line"),
    quantity: str = typer.Option(..., "--quantity", help="How much of the line is given up."),
    to_service: str = typer.Option(..., "--to-service"),
    to_unit: str = typer.Option(..., "--to-unit"),
    to_quantity: str = typer.Option(..., "--to-quantity"),
    to_value: str = typer.Option(
        ..., "--to-value", help="The new service's value in the order's currency (must be equal)."
    ),
    approver: str = typer.Option(None, "--approver", help="The service delivery manager who agreed (R-FLEX-5)."),
    reason: str = typer.Option(None, "--reason"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Exchange part of a line for another service of equal value (R-FLEX-5, R-BOOK-4)."""
    from decimal import Decimal, InvalidOperation

    from unisupport.services.exchanges import exchange

    def number_of(value: str, field: str) -> Decimal:
        try:
            return Decimal(value)
        except InvalidOperation:
            raise UnisupportError(f"{value!r} is not a number", field=field) from None

    with transaction() as session:
        result = exchange(
            session,
            order_by_number(session, number),
            from_line=from_line,
            quantity=number_of(quantity, "--quantity"),
            to_service=to_service,
            to_unit=to_unit,
            to_quantity=number_of(to_quantity, "--to-quantity"),
            to_value=number_of(to_value, "--to-value"),
            approver=approver,
            reason=reason,
            actor=actor(),
            now=now(),
        )
    if as_json:
        print_json(result.to_dict())
    else:
        print(f"exchanged {result.given_up} (worth {result.value}) into account {result.account}")
