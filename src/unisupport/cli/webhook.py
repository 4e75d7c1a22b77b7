"""``unisupport webhook …``: subscriptions to signed event deliveries (docs/webhooks.md),
their delivery log and redelivery — and ``receive``, a local receiver that verifies
and prints what arrives. The command line acts as a provider admin."""

from __future__ import annotations

import json
import time
from email.utils import parseaddr
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from standardwebhooks import Webhook

from unisupport.access import Principal, Role
from unisupport.cli.environment import now, print_json, reading, transaction
from unisupport.cli.webhook_receiver import Received, Receiver, receiving
from unisupport.errors import InvalidInput
from unisupport.services import webhooks as svc
from unisupport.settings import Settings

app = typer.Typer(help="Webhooks: signed event deliveries to other tools (docs/webhooks.md).", no_args_is_help=True)


def _operator(owner: str | None = None) -> Principal:
    """A provider admin: ``owner`` (told when a subscription is disabled), by default
    the address mail is sent from (UNISUPPORT_MAIL_FROM)."""
    email = owner or parseaddr(Settings.from_env().mail_from)[1]
    return Principal(user_id=0, email=email, role=Role.ADMIN)


def _line(s: dict[str, Any]) -> str:
    state = "active" if s["active"] else f"disabled ({s['disabled_reason']})"
    scope = s["customer"] or "every customer"
    counts = ", ".join(f"{n} {status}" for status, n in s["deliveries"].items() if n)
    return f"{s['id']:>4}  {s['url']}  {', '.join(s['event_types'])} · {scope} · {state}" + (
        f" · {counts}" if counts else ""
    )


@app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every subscription: address, event types, customer, state, deliveries by status."""
    with reading() as session:
        found = svc.subscriptions(session, _operator())
    if as_json:
        print_json(found)
        return
    console = Console(highlight=False, soft_wrap=True)
    if not found:
        console.print("no webhook subscription (`unisupport webhook create --url … --event …` makes one)")
    for s in found:
        console.print(Text(_line(s)))


@app.command("create")
def create_command(
    url: str = typer.Option(..., "--url", help="https:// address (http:// only to a network the operator allows)."),
    events: list[str] = typer.Option(..., "--event", help="An event type of docs/webhooks.md; repeat for more."),  # noqa: B008 (typer)
    customer: str | None = typer.Option(None, "--customer", help="A customer's code; none: every customer."),
    description: str = typer.Option("", "--description"),
    internal: bool = typer.Option(False, "--internal", help="Internal events too (internal notes)."),
    owner: str | None = typer.Option(None, "--owner", help="Who is mailed if it is disabled (default: MAIL_FROM)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Subscribe an address to event types; prints the signing secret, once."""
    data = svc.WebhookIn(url=url, event_types=events, customer=customer, description=description, internal=internal)
    with transaction() as session:
        made = svc.create_subscription(
            session, _operator(owner), data, now=now(), settings=Settings.from_env().webhooks
        )
    if as_json:
        print_json({"subscription": made.subscription, "secret": made.secret})
        return
    print(_line(made.subscription))
    print(f"secret (shown once, give it to the receiver): {made.secret}")


@app.command("deliveries")
def deliveries_command(
    subscription_id: int = typer.Argument(..., help="The subscription's id (`webhook list`)."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The delivery log, newest first: each delivery, its status and every try."""
    with reading() as session:
        found = svc.deliveries(session, _operator(), subscription_id, limit=limit)
    if as_json:
        print_json(found)
        return
    console = Console(highlight=False, soft_wrap=True)
    if not found:
        console.print(f"nothing delivered to subscription {subscription_id} yet")
    for d in found:
        about = f" incident {d['incident_id']}" if d["incident_id"] else ""
        console.print(Text(f"{d['id']:>6}  {d['event_type']}{about} · {d['status']} · {d['webhook_id']}"))
        for t in d["tries"]:
            code = f" {t['status_code']}" if t["status_code"] else ""
            excerpt = " ".join((t["excerpt"] or "").split())[:120]
            when = f"{t['at']:%Y-%m-%d %H:%M:%S}"
            outcome = f"{t['outcome']}{code}, {t['duration_ms']} ms"
            console.print(Text(f"        try {t['attempt']} {when} UTC: {outcome} {excerpt}"))


@app.command("redeliver")
def redeliver_command(
    subscription_id: int = typer.Argument(...),
    delivery_id: int = typer.Argument(..., help="The delivery's id (`webhook deliveries`)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Send a delivery again with the same webhook-id: the worker's next pass tries it."""
    with transaction() as session:
        done = svc.redeliver(session, _operator(), subscription_id, delivery_id, now=now())
    if as_json:
        print_json(done)
        return
    print(f"delivery {done['id']} ({done['event_type']}, {done['webhook_id']}) is due now")


def _state(subscription_id: int, active: bool) -> None:
    with transaction() as session:
        done = svc.set_active(session, _operator(), subscription_id, active, now=now())
    print(_line(done))


@app.command("enable")
def enable_command(subscription_id: int = typer.Argument(...)) -> None:
    """Send to a subscription again (after it was disabled); waiting deliveries get 24 hours."""
    _state(subscription_id, True)


@app.command("disable")
def disable_command(subscription_id: int = typer.Argument(...)) -> None:
    """Stop sending to a subscription; its deliveries wait."""
    _state(subscription_id, False)


@app.command("receive")
def receive_command(
    secret: str = typer.Option(..., "--secret", help="The subscription's whsec_… secret."),
    port: int = typer.Option(8090, "--port", min=1, max=65535),
    path: str = typer.Option("/hook", "--path", help="The path of the subscribed URL."),
    seconds: float = typer.Option(0.0, "--for", min=0.0, help="Stop after this many seconds (0: on Ctrl-C)."),
) -> None:
    """A local receiver on 127.0.0.1: verifies each delivery's signature (Standard
    Webhooks) and prints it; a request that fails verification is answered 401."""

    def show(received: Received) -> None:
        print(f"verified {received.webhook_id} {received.payload.get('type')}", flush=True)
        print(json.dumps(received.payload, ensure_ascii=False, indent=2), flush=True)

    try:
        Webhook(secret)
    except Exception:  # noqa: BLE001 - the library raises several kinds for a malformed secret
        why = "not a Standard Webhooks secret (whsec_… as `webhook create` printed it)"
        raise InvalidInput(why, field="--secret") from None
    receiver = Receiver(secrets={path: secret}, on_accept=show)
    with receiving(receiver, port=port):
        print(f"listening on http://127.0.0.1:{port}{path} (Ctrl-C stops)", flush=True)
        started = time.monotonic()
        try:
            while not seconds or time.monotonic() - started < seconds:
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass  # Ctrl-C is how the newcomer stops the receiver: leave quietly, the context closes it
    print(f"{len(receiver.accepted)} verified, {receiver.bad_signatures} refused (bad signature)")
