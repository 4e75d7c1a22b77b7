"""The ``unisupport`` command. Each sub-command group lives in its own module and
calls the domain core; this module wires them together and turns domain errors
into one readable line and exit code 2 (never a traceback)."""

from __future__ import annotations

import sys

import typer

from unisupport.errors import UnisupportError

app = typer.Typer(
    name="unisupport",
    help="Run an enterprise support program: catalog, contracts, SLA targets, incidents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _register() -> None:
    from unisupport.cli import (
        booking,
        catalog,
        demo,
        mail_in,
        mission_critical,
        order,
        outbox,
        report,
        server,
        sla,
        user,
        webhook,
    )

    app.add_typer(catalog.app, name="catalog")
    app.add_typer(order.app, name="order")
    app.add_typer(booking.app, name="booking")
    app.add_typer(mission_critical.events, name="event")
    app.add_typer(mission_critical.mcsap, name="mcsap")
    app.add_typer(mission_critical.success, name="success")
    app.add_typer(sla.app, name="sla")
    app.add_typer(report.app, name="report")
    app.add_typer(user.users, name="user")
    app.add_typer(user.tokens, name="token")
    app.add_typer(outbox.app, name="outbox")
    app.add_typer(webhook.app, name="webhook")
    app.command("demo")(demo.demo)
    app.command("serve")(server.serve)
    app.command("worker")(server.worker)
    app.command("mail-in")(mail_in.mail_in)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=True)
    except UnisupportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
