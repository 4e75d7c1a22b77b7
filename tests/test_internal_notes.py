"""Internal notes never reach a customer user, on SQLite and PostgreSQL: with the demo
data set and its customer accounts (Marie and Cloud Ops of Contoso, Alex of
Fabrikam), every route the application has — API and pages, found by enumerating
the app's routes, every method, every path parameter filled in with the ids that
matter (the note's and the reply's, their files') — is called as each customer,
and no answer holds the note's text or its file's name; nor does any mail queued.
A public reply written next to the note is seen, so the walk does reach the
conversation; a route added later and not covered here fails the test."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import httpx
import pytest
from api_server import Server, serve, stop, temporary_blobs
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from unisupport import demo
from unisupport.clock import FixedClock
from unisupport.storage.database import Database, make_engine, migrate
from unisupport.storage.tables import IncidentRow, OrderRow, OutboxRow

NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
NOTE = "NOTE-SECRET-4711 the relay we changed"
NOTE_FILE = "note-secret-4711.txt"
DEMO_NOTE = b"le crawl en mensuel"  # the demo's own internal note
REPLY = "PUBLIC-REPLY-9136"
REPLY_FILE = "public-reply-9136.txt"
CUSTOMERS = ("marie.dupont@contoso.example", "cloud-ops@contoso.example", "alex.kim@fabrikam.example")
# Routes not called, and why: they change who is signed in, so what follows would be
# called by nobody.
NOT_CALLED = {("POST", "/sign-in"), ("POST", "/sign-out"), ("POST", "/language")}
PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
# The searches are called with the note's words and its file's (full-text search, D106).
SEARCHES = {"/api/v1/search": {"q": "relay changed"}, "/incidents": {"q": "relay 4711"}, "/queue": {"q": "relay"}}


@pytest.fixture(scope="module")
def demo_server(backend, temp_databases):
    database = Database(make_engine(temp_databases.new_url(backend)))
    migrate(database.engine)
    with database.transaction() as session:
        result = demo.load(session, now=NOW)
    server = Server(url="", clock=FixedClock(NOW), database=database, blobs=temporary_blobs())
    server.tokens = {login.email: login.token for login in result.logins}
    uv, thread = serve(server)
    yield server
    stop(uv, thread, server)


def seed_conversation(server: Server) -> dict[str, list[str]]:
    """The engineer's public reply with a file and internal note with a file on a
    Contoso incident; returns the values each path parameter is tried with."""
    with server.database.transaction() as session:
        incident = session.scalar(select(IncidentRow.id).order_by(IncidentRow.id))
        orders = list(session.scalars(select(OrderRow.number).order_by(OrderRow.number)))
    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.tokens['engineer@provider.example']}"}
    )
    base = f"/api/v1/incidents/{incident}"
    [reply_file] = api.post(f"{base}/attachments", files=[("files", (REPLY_FILE, b"public", "text/plain"))]).json()[
        "items"
    ]
    [note_file] = api.post(f"{base}/attachments", files=[("files", (NOTE_FILE, b"secret", "text/plain"))]).json()[
        "items"
    ]
    reply = api.post(f"{base}/messages", json={"body": REPLY, "attachments": [reply_file["id"]]})
    note = api.post(f"{base}/messages", json={"visibility": "internal", "body": NOTE, "attachments": [note_file["id"]]})
    assert reply.status_code == note.status_code == 201, (reply.text, note.text)
    return {
        "incident_id": [str(incident)],
        "attachment_id": [str(reply_file["id"]), str(note_file["id"])],
        "message_id": [str(reply.json()["message"]["id"]), str(note.json()["message"]["id"])],
        "collaboration_id": ["1"],
        "email": ["it@contoso.example"],
        "outage_id": ["1"],
        "number": orders,
        "code": ["contoso", "fabrikam"],
        "booking_id": ["1"],
        "view_id": ["1"],
        # issues 11 and 13: remote access, webhooks, surveys and mail links (a first id each, or a token that
        # names nothing: the walk asks that no answer carries the note, whatever it is)
        "authorisation_id": ["1"],
        "session_id": ["1"],
        "subscription_id": ["1"],
        "delivery_id": ["1"],
        "survey_id": ["1"],
        "token": ["not-a-token"],
        "key": ["contoso"],  # an identity provider (none configured here: 404)
    }


def signed_in(server: Server, email: str) -> tuple[httpx.Client, str]:
    """A client with the customer's API token and a signed-in page session; and the
    session's CSRF token."""
    client = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.tokens[email]}", "Accept": "text/html"},
        timeout=30,
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    r = client.post("/sign-in", data={"email": email, "password": demo.PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/dashboard").text).group(1)
    return client, token


def routes(server: Server) -> list[tuple[str, str]]:
    from unisupport.api.app import create_app

    app = create_app(server.database, clock=server.clock, blobs=server.blobs)
    out = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or []):
            if method != "HEAD":
                out.append((method, route.path))
    return out


def call(client: httpx.Client, csrf: str, method: str, path: str) -> list[httpx.Response]:
    """One call as a customer would make it, and the page its answer leads to."""
    if method == "GET":
        answers = [client.get(path, params=SEARCHES.get(path))]
    elif path.startswith("/api/"):
        answers = [client.request(method, path, json={})]
    elif path.endswith("/messages"):  # the composer: multipart
        answers = [client.post(path, data={"csrf_token": csrf, "body": "x"}, files={"files": ("", b"", "text/plain")})]
    else:
        answers = [client.request(method, path, data={"csrf_token": csrf})]
    if answers[0].status_code == 303 and answers[0].headers.get("location", "").startswith("/"):
        answers.append(client.get(answers[0].headers["location"]))
    return answers


def test_no_route_shows_a_customer_an_internal_note_or_its_file(demo_server):
    values = seed_conversation(demo_server)
    every = routes(demo_server)
    called: set[tuple[str, str]] = set()
    leaks: list[str] = []
    seen_reply: dict[str, int] = {}
    for email in CUSTOMERS:
        client, csrf = signed_in(demo_server, email)
        seen_reply[email] = 0
        for method, template in every:
            if (method, template) in NOT_CALLED or template.startswith("/static"):
                continue
            names = PARAMETER.findall(template)
            unknown = [n for n in names if n not in values]
            assert not unknown, f"{method} {template}: give this test values for {unknown}"
            for combination in itertools.product(*(values[n] for n in names)):
                path = template
                for name, value in zip(names, combination, strict=True):
                    path = re.sub(rf"{{{name}(?::\w+)?}}", value, path)
                for answer in call(client, csrf, method, path):
                    assert answer.status_code < 500, f"{method} {path} as {email}: {answer.status_code}"
                    raw = answer.content + str(answer.headers).encode()
                    if any(secret in raw for secret in (NOTE.encode(), NOTE_FILE.encode(), b"NOTE-SECRET", DEMO_NOTE)):
                        leaks.append(f"{method} {path} as {email} → {answer.status_code}")
                    seen_reply[email] += REPLY.encode() in raw
            called.add((method, template))
    assert leaks == []
    # The searches do reach the note: the engineer's finds it, with its words.
    engineer = {"Authorization": f"Bearer {demo_server.tokens['engineer@provider.example']}"}
    found = httpx.get(f"{demo_server.url}/api/v1/search", params=SEARCHES["/api/v1/search"], headers=engineer)
    assert b"NOTE-SECRET" in found.content, found.text
    assert called | NOT_CALLED >= {(m, p) for m, p in every if not p.startswith("/static")}
    assert len(called) > 90
    # The walk reached the conversation: Contoso's users saw the reply, Fabrikam's did not.
    assert seen_reply["marie.dupont@contoso.example"] > 0 and seen_reply["cloud-ops@contoso.example"] > 0
    assert seen_reply["alex.kim@fabrikam.example"] == 0
    # Nor does any mail queued carry the note, its text or its file.
    with demo_server.database.transaction() as session:
        for row in session.scalars(select(OutboxRow)):
            written = f"{row.payload} {row.headers} {row.attachments}"
            assert "NOTE-SECRET" not in written and NOTE_FILE not in written, row.kind
