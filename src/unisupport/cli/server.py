"""``unisupport serve`` (the API, the main job) and ``unisupport worker`` (the SLA
watcher and the mail sender)."""

from __future__ import annotations

import logging
import socket
import sys
import time
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from unisupport.cli.environment import open_database
from unisupport.clock import SystemClock
from unisupport.errors import InvalidInput
from unisupport.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from unisupport.notifications.delivery import DeliveryReport


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0 for every one)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (uvicorn)."),
    no_demo: bool = typer.Option(False, "--no-demo", help="Do not load the demo data set."),
    demo: bool = typer.Option(False, "--demo", help="Load the demo data set on PostgreSQL too."),
) -> None:
    """Serve the API (OpenAPI at /docs). Migrates the database first; on the default
    SQLite database, loads the demo data and prints how to sign in."""
    from unisupport.services.users.sso import load_identity_providers

    settings = Settings.from_env()
    providers = load_identity_providers()  # a bad identity-providers.yaml stops here, named
    database = open_database(settings)  # migrates; a bad URL stops here with its name
    console = Console(highlight=False, soft_wrap=True)  # tokens and URLs stay whole on one line
    sqlite = settings.database_url.startswith("sqlite")
    if (sqlite and not no_demo) or demo:
        from unisupport.demo import load

        with database.transaction() as session:
            result = load(session, now=SystemClock().now())
        if result.created:
            console.print(
                "Demo data loaded. Sign in with any of these (password for the web pages: "
                f"[bold]{result.password}[/]); API tokens are shown once:"
            )
            for login in result.logins:
                console.print(f"  {login.role:<22} {login.email:<32} token {login.token}")
            console.print(
                "Keep the tokens: they are stored hashed and cannot be shown again "
                "(`unisupport token create --user EMAIL` makes new ones)."
            )
        else:
            console.print(
                "Demo data already loaded (tokens were printed the first time; "
                "`unisupport token create --user admin@provider.example` makes a new one)."
            )
    with socket.socket() as probe:
        if probe.connect_ex((host if host != "0.0.0.0" else "127.0.0.1", port)) == 0:
            raise InvalidInput(f"port {port} on {host} is already in use", field="--port")
    if providers:
        names = ", ".join(f"{p.key} ({p.issuer})" for p in providers.providers)
        console.print(f"Single sign-on through {names}, from {providers.path}")
    console.print(
        f"API on http://{host}:{port}/api/v1 · OpenAPI at http://{host}:{port}/docs · database "
        f"{_safe(settings.database_url)}"
    )
    database.engine.dispose()
    run_uvicorn(host, port, workers)


APP = "unisupport.api.app:app_from_env"


def run_uvicorn(host: str, port: int, workers: int, *, app: str = APP, log_level: str = "info") -> None:
    """uvicorn serving ``app`` (a factory) with ``workers`` processes; what ``serve`` runs
    (and bench/api_bench.py, with ``log_level="warning"``: no access log).

    proxy_headers=False: the app believes X-Forwarded-For only from the proxies of
    UNISUPPORT_TRUSTED_PROXIES (api.app); uvicorn's own default believes 127.0.0.1.

    With several workers, uvicorn binds the listening socket itself as
    ``socket.socket(AF_INET)`` (protocol 0), and asyncio sets TCP_NODELAY only on sockets
    whose protocol is IPPROTO_TCP: every accepted connection kept Nagle's algorithm, and
    a response written as headers then body waited for the client's delayed ACK (~40 ms)
    — two workers answered half as many creations as one (decision D143). TCP_NODELAY
    set on the listening socket is inherited by the connections it accepts (Linux)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    access_log = log_level in ("info", "debug", "trace")
    config = uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
    )
    try:
        if workers == 1:
            uvicorn.Server(config).run()
        else:
            Multiprocess(config, sockets=[listening_socket(config)]).run()
    except KeyboardInterrupt:
        # Ctrl-C: the server (or the supervisor, its workers) has stopped. uvicorn.Server
        # raises the signal again once shut down; uvicorn.run swallowed it the same way.
        pass


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers of ``config`` share, bound by uvicorn, with TCP_NODELAY
    (see :func:`run_uvicorn`)."""
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def worker(
    once: bool = typer.Option(False, "--once", help="One pass, then exit: 1 when some mail could not be sent."),
    interval: float = typer.Option(15.0, "--interval", min=0.5, help="Seconds between passes."),
    name: str = typer.Option(socket.gethostname(), "--name", help="This worker's name in the outbox claims."),
) -> None:
    """Watch SLA clocks (breaches, warnings, escalations, customer-side misses), send
    queued mail and webhooks. Several workers may run against one PostgreSQL; on SQLite, one.
    Each mail that cannot be sent is a line on stderr (which, to whom, why, the next
    try); ``--once`` ends with a summary and exits 1 when some mail failed."""
    from unisupport.notifications.mailer import SmtpMailer
    from unisupport.notifications.webhook_delivery import deliver_webhooks
    from unisupport.notifications.outbox import backlog
    from unisupport.services.conversation import sweep_blobs
    from unisupport.storage.blobs import BlobStore
    from unisupport.worker import run_once

    from unisupport.services.survey_sweep import interval_days

    settings = Settings.from_env()
    interval_days()  # a bad UNISUPPORT_SURVEY_INTERVAL_DAYS stops here, named
    database = open_database(settings)
    clock = SystemClock()
    mailer = SmtpMailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
    blobs = BlobStore(settings.blobs_path)
    console = Console(highlight=False, soft_wrap=True)
    _failures_to_stderr()
    if mailer is None:
        console.print("UNISUPPORT_SMTP_URL is not set: notifications are queued, not sent.")
    blobs_swept = 0.0
    while True:
        report, delivered = run_once(database, mailer, clock=clock, name=name, blobs=blobs)
        hooks = deliver_webhooks(database, worker=name, clock=clock, settings=settings.webhooks)
        if hooks.delivered or hooks.retried or hooks.failed or hooks.disabled:
            console.print(f"{clock.now():%Y-%m-%d %H:%M:%S} webhooks: {hooks}")
        if time.monotonic() - blobs_swept > 3600:  # reading the whole blob folder: hourly
            with database.transaction() as session:
                sweep_blobs(session, blobs)
            blobs_swept = time.monotonic()
        if any(report.to_dict().values()) or (delivered and (delivered.sent or delivered.failed or delivered.retried)):
            console.print(
                f"{clock.now():%Y-%m-%d %H:%M:%S} {report.to_dict()}" + (f" mail {delivered}" if delivered else "")
            )
        if once:
            with database.reading() as session:
                left = backlog(session)
            console.print(pass_summary(delivered, left))
            raise typer.Exit(1 if delivered and (delivered.failed or delivered.retried) else 0)
        time.sleep(interval)


def _failures_to_stderr() -> None:
    """The delivery's failure lines (``notifications.delivery``), one each, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(logging.WARNING)
    for name in ("unisupport.notifications.delivery", "unisupport.notifications.webhook_delivery"):
        delivery = logging.getLogger(name)
        delivery.addHandler(handler)
        delivery.setLevel(logging.WARNING)


def pass_summary(delivered: DeliveryReport | None, left: dict[str, int]) -> str:
    """The end of ``worker --once``: sent, failed, waiting — and where to look."""
    waiting = left["pending"] + left["sending"]
    tail = f"{waiting} waiting" + (f", {left['failed']} failed for good" if left["failed"] else "")
    if delivered is None:
        return f"mail: not sent (UNISUPPORT_SMTP_URL is not set); {tail}"
    failed = delivered.failed + delivered.retried
    how = ""
    if failed:
        how = f" ({delivered.retried} to retry, {delivered.failed} for good)"
    hint = "; see `unisupport outbox list --stuck`" if failed or left["failed"] else ""
    return f"mail: {delivered.sent} sent, {failed} failed{how}; {tail}{hint}"
