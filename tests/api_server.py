"""A real API server for tests: uvicorn on a free loopback port, in a thread, on a
fresh migrated database (SQLite or PostgreSQL), with a pinned clock, the two example
orders and a user with a token for every role. 127.0.0.1 is a trusted proxy (its
X-Forwarded-For and X-Forwarded-Proto are believed); a client that connects from
another loopback address (127.0.0.2 …) is not one."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from unisupport.access import Role
from unisupport.api.app import create_app
from unisupport.clock import FixedClock
from unisupport.incidents.routing import TEAMS
from unisupport.orders.validation import read_order_document
from unisupport.services.orders import import_order
from unisupport.services.users import add_to_team, assign_csam, create_team, create_token, create_user
from unisupport.incidents.attachment import MB
from unisupport.services.conversation import ConversationSettings
from unisupport.storage.blobs import BlobStore
from unisupport.web.session import SECRET_KEY
from unisupport.storage.database import Database, make_engine, migrate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
# A Severity B on Contoso's Paris site, as a customer opens it.
SEV_B = {
    "site": "paris",
    "product": "exchange-online",
    "severity": "B",
    "title": "Mail flow stopped",
    "business_impact": "Order confirmations are not sent",
    "channel": "portal",
}

# name: (email, role, customer, contact email)
PEOPLE = {
    "admin": ("admin@provider.example", Role.ADMIN, None),
    "engineer": ("engineer@provider.example", Role.ENGINEER, None),
    "im": ("im@provider.example", Role.INCIDENT_MANAGER, None),
    "csam": ("csam@provider.example", Role.CSAM, None),  # assigned to contoso
    "csam_other": ("csam2@provider.example", Role.CSAM, None),  # assigned to fabrikam
    "contoso_admin": ("marie.dupont@contoso.example", Role.SUPPORT_ADMINISTRATOR, "contoso"),
    "contoso_contact": ("cloud-ops@contoso.example", Role.REACTIVE_CONTACT, "contoso"),
    "fabrikam_admin": ("alex.kim@fabrikam.example", Role.SUPPORT_ADMINISTRATOR, "fabrikam"),
}


@dataclass
class Server:
    url: str
    clock: FixedClock
    database: Database
    tokens: dict[str, str] = field(default_factory=dict)
    blobs: BlobStore | None = None

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Attachment limits small enough to pass over in a test: 1 MB a file, 2 MB a message.
SMALL_LIMITS = ConversationSettings(attachment_max_bytes=1 * MB, message_max_bytes=2 * MB)


@contextmanager
def signing_secret(value: str) -> Iterator[None]:
    """``UNISUPPORT_SECRET_KEY`` set for the pages' sessions, as it was afterwards."""
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SECRET_KEY, None)
        else:
            os.environ[SECRET_KEY] = saved


def temporary_blobs() -> BlobStore:
    """A blob store in a new temporary folder (``stop`` removes it)."""
    return BlobStore(tempfile.mkdtemp(prefix="unisupport-blobs-"))


def start(url: str, now: datetime, **app_options: Any) -> tuple[Server, uvicorn.Server, threading.Thread]:
    """``app_options`` go to ``create_app`` (``body_limits``, ``extra_routers``, incident or
    conversation settings …)."""
    engine = make_engine(url)
    migrate(engine)
    database = Database(engine)
    clock = FixedClock(now)
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction() as session:
        for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
            import_order(session, read_order_document(EXAMPLES / name), actor="setup", now=setup)
        for code, (en, _fr) in TEAMS.items():
            create_team(session, code=code, name=en, actor="setup", now=setup)
    server = Server(url="", clock=clock, database=database, blobs=temporary_blobs())
    with database.transaction() as session:
        for name, (email, role, customer) in PEOPLE.items():
            create_user(
                session,
                email=email,
                name=name,
                role=role,
                customer_code=customer,
                contact_email=email if customer else None,
                language="en",
                password="correct horse battery",
                actor="setup",
                now=setup,
            )
            server.tokens[name], _ = create_token(session, user_email=email, label="tests", actor="setup", now=setup)
        add_to_team(session, email="engineer@provider.example", team_code="standard-support", actor="setup", now=setup)
        assign_csam(session, email="csam@provider.example", customer_code="contoso", actor="setup", now=setup)
        assign_csam(session, email="csam2@provider.example", customer_code="fabrikam", actor="setup", now=setup)
    uv, thread = serve(server, **app_options)
    return server, uv, thread


def serve(server: Server, **app_options) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``server``'s database on a free loopback port, in a thread; sets ``server.url``."""
    port = free_port()
    app_options.setdefault("trusted_proxies", ("127.0.0.1",))
    config = uvicorn.Config(
        create_app(server.database, clock=server.clock, blobs=server.blobs, **app_options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        proxy_headers=False,  # as `unisupport serve`: the app decides whom to believe
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    server.url = f"http://127.0.0.1:{port}"
    return uv, thread


def stop(uv: uvicorn.Server, thread: threading.Thread, server: Server) -> None:
    uv.should_exit = True
    thread.join(timeout=30)
    server.database.engine.dispose()
    if server.blobs is not None:
        shutil.rmtree(server.blobs.root, ignore_errors=True)


@contextmanager
def serving(url: str, now: datetime, **app_options: Any) -> Iterator[Server]:
    """:func:`start` … :func:`stop`, with a web signing secret set meanwhile (the
    pages need one; the variable is given back as it was)."""
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "test-only-secret-" + "s" * 40
    server, uv, thread = start(url, now, **app_options)
    try:
        yield server
    finally:
        stop(uv, thread, server)
        if saved is None:
            os.environ.pop(SECRET_KEY, None)
        else:
            os.environ[SECRET_KEY] = saved
