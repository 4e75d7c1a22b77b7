"""``unisupport outbox …``: the mail the worker has not sent yet — what is waiting or
failing and why — and making it due now once the cause is fixed."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.console import Console
from rich.text import Text

from unisupport.cli.environment import actor, now, print_json, reading, transaction
from unisupport.errors import InvalidInput
from unisupport.notifications.outbox import Waiting, retry, waiting

app = typer.Typer(help="Mail not sent yet: what is waiting or failing and why; retry it.", no_args_is_help=True)


def next_attempt(item: Waiting, at: datetime) -> str:
    """When the mail goes out, in words."""
    if item.next_attempt is None:
        return f"failed for good: `unisupport outbox retry {item.id}` tries again"
    when = f"{item.next_attempt:%Y-%m-%d %H:%M} UTC"
    if item.status == "sending":
        return f"being sent by {item.claimed_by}, taken over after {when} if it was lost"
    return "due now" if item.next_attempt <= at else f"next try {when}"


@app.command("list")
def list_command(
    stuck: bool = typer.Option(
        False, "--stuck", help="Only mail a send was tried for and failed (or whose worker was lost)."
    ),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many, oldest due first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Mail not sent yet: id, kind, recipient, attempts, last error, next attempt."""
    at = now()
    with reading() as session:
        items, total = waiting(session, now=at, stuck=stuck, limit=limit)
    if as_json:
        print_json({"total": total, "mail": [i.to_dict() for i in items]})
        return
    console = Console(highlight=False, soft_wrap=True)  # addresses and errors stay whole
    if not items:
        console.print("nothing stuck in the outbox" if stuck else "the outbox is empty: every mail was sent")
        return
    for i in items:
        attempts = f"{i.attempts} attempt{'s' if i.attempts != 1 else ''}"
        console.print(Text(f"{i.id:>6}  {i.kind} to {i.recipient} · {i.status}, {attempts} · {next_attempt(i, at)}"))
        if i.last_error:
            console.print(Text(f"        last error: {' '.join(i.last_error.split())}"))
    if total > len(items):
        console.print(f"… and {total - len(items)} more (--limit)")


@app.command("retry")
def retry_command(
    ids: list[int] | None = typer.Argument(None, help="Outbox ids, as `outbox list` shows them."),  # noqa: B008 (typer)
    every: bool = typer.Option(False, "--all", help="Every mail that failed (for good, or waiting for a retry)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make mail due now (after fixing what failed it): the worker's next pass sends it."""
    if bool(ids) == every:
        raise InvalidInput("give outbox ids or --all (not both)", field="ID")
    at = now()
    with transaction() as session:
        done = retry(session, None if every else ids, now=at, actor=actor())
    if as_json:
        print_json([d.to_dict() for d in done])
        return
    for d in done:
        print(f"mail {d.id} ({d.kind}) to {d.recipient} is due now")
    if every:
        print(f"{len(done)} mail{'s' if len(done) != 1 else ''} due now")
