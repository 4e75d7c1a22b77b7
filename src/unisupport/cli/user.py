"""``unisupport user …`` and ``unisupport token …``: users, teams, CSAM assignments
and API tokens (issue 4).

Secrets never travel in argv (where ``ps`` and shell histories show them): a
password comes from stdin with ``--password-stdin``, and a token is printed once, on
stdout alone, so that ``TOKEN=$(unisupport token create --user …)`` captures it."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from unisupport.cli.environment import actor, now, print_json, transaction
from unisupport.errors import InvalidInput
from unisupport.services import users as service

users = typer.Typer(help="Users (provider and customer roles), teams and CSAM assignments.", no_args_is_help=True)
tokens = typer.Typer(
    help="API tokens (Authorization: Bearer <token>): create once, list, revoke.", no_args_is_help=True
)


def _read_password() -> str:
    """The password from stdin: typed without echo on a terminal, else the first
    line of what is piped in (its line ending is not part of it)."""
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput("--password-stdin was given but stdin holds no password", field="password")
    return password


PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from stdin (never from the command line)."
)


@users.command("create")
def create(
    email: str = typer.Option(..., "--email"),
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option(
        ..., "--role", help="admin, engineer, incident-manager, csam, support-administrator, reactive-contact."
    ),
    customer: str | None = typer.Option(None, "--customer", help="Customer code (customer roles only)."),
    contact: str | None = typer.Option(
        None, "--contact", help="The designated contact this user is (default: --email; R-ORD-4)."
    ),
    language: str = typer.Option("en", "--language", help="en or fr."),
    team: list[str] | None = typer.Option(None, "--team", help="Team code (repeatable)."),  # noqa: B008 (typer)
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA zone the web pages show times in (default: the user's site, else UTC)."
    ),
    password_stdin: bool = PASSWORD_STDIN,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user (an audit event records who and when)."""
    password = _read_password() if password_stdin else None
    with transaction() as session:
        user = service.create_user(
            session,
            email=email,
            name=name,
            role=role,
            customer_code=customer,
            contact_email=contact,
            language=language,
            password=password,
            teams=team or (),
            timezone=timezone,
            actor=actor(),
            now=now(),
        )
        result = service.describe_user(session, user)
    if as_json:
        print_json(result)
    else:
        print(
            f"created {result['role']} {result['email']}"
            + (f" of customer {result['customer']}" if result["customer"] else "")
        )


@users.command("update")
def update(
    email: str = typer.Option(..., "--email"),
    role: str | None = typer.Option(None, "--role"),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Let the user sign in, or stop it."),
    language: str | None = typer.Option(None, "--language"),
    name: str | None = typer.Option(None, "--name"),
    timezone: str | None = typer.Option(None, "--timezone", help='IANA zone of the web pages ("": the default).'),
    password_stdin: bool = PASSWORD_STDIN,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change a user's role, activity, language, name, time zone or password."""
    password = _read_password() if password_stdin else None
    with transaction() as session:
        user = service.update_user(
            session,
            email=email,
            role=role,
            active=active,
            language=language,
            name=name,
            password=password,
            timezone=timezone,
            actor=actor(),
            now=now(),
        )
        result = service.describe_user(session, user)
    if as_json:
        print_json(result)
    else:
        print(f"updated {result['email']}")


@users.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """List users with their role, customer, teams and assigned customers."""
    with transaction() as session:
        rows = [service.describe_user(session, u) for u in service.list_users(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("email", "name", "role", "customer", "teams / assigned", "language", "active")
    for r in rows:
        table.add_row(
            r["email"],
            r["name"],
            r["role"],
            r["customer"] or "",
            ", ".join(r["teams"] + r["assigned_customers"]),
            r["language"],
            "yes" if r["active"] else "no",
        )
    Console(highlight=False).print(table)


@users.command("team-create")
def team_create(code: str = typer.Option(..., "--code"), name: str = typer.Option(..., "--name")) -> None:
    """Create a team of engineers."""
    with transaction() as session:
        team = service.create_team(session, code=code, name=name, actor=actor(), now=now())
        print(f"created team {team.code}")


@users.command("team-add")
def team_add(email: str = typer.Option(..., "--email"), team: str = typer.Option(..., "--team")) -> None:
    """Add a provider user to a team."""
    with transaction() as session:
        service.add_to_team(session, email=email, team_code=team, actor=actor(), now=now())
    print(f"{email} is a member of {team}")


@users.command("assign")
def assign(email: str = typer.Option(..., "--email"), customer: str = typer.Option(..., "--customer")) -> None:
    """Assign a customer to a CSAM (the CSAM then sees that customer's data)."""
    with transaction() as session:
        service.assign_csam(session, email=email, customer_code=customer, actor=actor(), now=now())
    print(f"{email} is assigned customer {customer}")


@tokens.command("create")
def token_create(
    user: str = typer.Option(..., "--user", help="The user's email."),
    label: str | None = typer.Option(None, "--label", help="What the token is for (shown in listings)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create an API token and print it once: it cannot be shown again."""
    with transaction() as session:
        token, row = service.create_token(session, user_email=user, label=label, actor=actor(), now=now())
        prefix = row.prefix
    if as_json:
        print_json({"token": token, "prefix": prefix, "user": user.strip().lower(), "label": label})
    else:
        print(token)
    print(f"warning: token {prefix}… is shown once and cannot be shown again; store it now.", file=sys.stderr)


@tokens.command("list")
def token_list(user: str | None = typer.Option(None, "--user"), as_json: bool = typer.Option(False, "--json")) -> None:
    """List tokens by prefix (never the tokens themselves)."""
    with transaction() as session:
        rows: list[dict[str, Any]] = [
            {
                "prefix": t.prefix,
                "user": email,
                "label": t.label,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t, email in service.list_tokens(session, user_email=user)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("prefix", "user", "label", "created", "last used", "revoked")
    for r in rows:
        table.add_row(
            r["prefix"],
            r["user"],
            r["label"] or "",
            *(f"{r[k]:%Y-%m-%d %H:%M}" if r[k] else "" for k in ("created_at", "last_used_at", "revoked_at")),
        )
    Console(highlight=False).print(table)


@tokens.command("revoke")
def token_revoke(
    prefix: str = typer.Option(..., "--prefix", help="The first 8 characters, as listed."),
    user: str | None = typer.Option(None, "--user", help="The user's email, when two tokens share the prefix."),
) -> None:
    """Revoke a token: requests that present it are refused from now on."""
    at = now()
    with transaction() as session:
        row = service.revoke_token(session, prefix=prefix, user_email=user, actor=actor(), now=at)
        already = "" if row.revoked_at == at else "already "
        print(f"{already}revoked {row.prefix}… (since {row.revoked_at:%Y-%m-%d %H:%M} UTC)")
