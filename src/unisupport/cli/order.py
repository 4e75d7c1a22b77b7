"""``unisupport order …``: Enterprise Services Orders written as YAML files
(docs/order-file.md). ``validate`` reports every violation at once.

Exit codes are part of the contract scripts rely on: 0 valid (warnings allowed),
1 the file was read and breaks rules, 2 the file cannot be read or parsed — then
one line ``error: …`` on stderr naming the problem and its line, never a traceback.
"""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from unisupport.orders.validation import OrderFileUnreadable, Violation, is_valid, read_order_document, validate_order

app = typer.Typer(help="Enterprise Services Orders: check order files.", no_args_is_help=True)

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


@app.command("validate")
def validate_command(
    file: str = typer.Argument(..., metavar="FILE", help="The order file (YAML, see docs/order-file.md)."),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"valid": bool, "violations": [{"rule", "path", "message", "severity"}]}.'
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
        print(json.dumps({"valid": valid, "violations": [v.to_dict() for v in violations]}, ensure_ascii=False, indent=2))
    else:
        _render(file, valid, violations, Console(highlight=False))
    raise typer.Exit(EXIT_VALID if valid else EXIT_INVALID)


def _render(file: str, valid: bool, violations: list[Violation], console: Console) -> None:
    errors = sum(v.severity == "error" for v in violations)
    warnings = len(violations) - errors
    if valid:
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        console.print(Text(f"{file}: valid{tail}"))
    else:
        tail = f" and {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        console.print(Text(f"{file}: invalid, {errors} error{'s' if errors != 1 else ''}{tail}"))
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
