"""HTTP itself, over real HTTP (uvicorn on loopback), on SQLite and PostgreSQL:

* what a request must show before its body is read — a token for an API write, a
  body within its route's limit, counted when it comes chunked — and the server's
  memory staying flat under 100 MB bodies (docs/decisions.md D50);
* an unexpected error answered like any other answer: the security headers, one
  log line, the connection kept for the next request (D50);
* an idempotent replay with the first answer's ``Location`` and ``ETag``;
* malformed bodies refused naming what to fix: not JSON (where), a repeated key,
  no ``Content-Type``, control characters in any text field (D51); and roles named
  with the right article."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from api_server import EXAMPLES, serving
from fastapi import APIRouter

from unisupport.orders.validation import read_order_document
from unisupport.settings import BodyLimits, Settings

FRIDAY = datetime(2026, 11, 27, 16, 45, tzinfo=ZoneInfo("Europe/Paris"))
PROBLEM = "application/problem+json"
LIMITS = BodyLimits(json=256 * 1024, form=16 * 1024)  # configured, not the defaults
MB = 1024 * 1024
INCIDENT = {"site": "paris", "product": "exchange-online", "severity": "C", "title": "t", "business_impact": "b"}

failing = APIRouter()


@failing.get("/test/unexpected")
def unexpected() -> None:
    raise RuntimeError("a bug nobody foresaw")


@pytest.fixture(scope="module")
def live(backend, temp_databases):
    with serving(temp_databases.new_url(backend), FRIDAY, body_limits=LIMITS, extra_routers=[failing]) as server:
        yield server


@pytest.fixture(autouse=True)
def friday(live):
    live.clock.at = FRIDAY


# --------------------------------------------------------------------------- raw HTTP
class Connection:
    """One TCP connection, to send exactly what a test wants and read answers."""

    def __init__(self, url: str, timeout: float = 10):
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: test"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._read()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split()[1]), headers, body

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def _problem(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict:
    assert status == expected, body[:300]
    assert headers["content-type"] == PROBLEM
    return json.loads(body)


# --------------------------------------------------------------------------- before the body
@pytest.mark.parametrize("authorization", [None, "Bearer us_not-a-token", "Basic YWRtaW46YWRtaW4="])
def test_an_unauthenticated_write_is_refused_before_its_body_is_sent(live, authorization):
    c = Connection(live.url)
    headers = {"Content-Type": "application/json", "Content-Length": str(100 * MB)}
    if authorization:
        headers["Authorization"] = authorization
    c.request("POST", "/api/v1/incidents", headers)  # and not one byte of the 100 MB
    status, headers, body = c.answer()
    problem = _problem(status, headers, body, 401)
    assert headers["www-authenticate"] == "Bearer" and "Authorization: Bearer" in problem["detail"]
    c.close()


def test_a_body_above_its_routes_limit_is_refused_with_413_before_it_is_read(live):
    c = Connection(live.url)
    headers = {"Authorization": f"Bearer {live.tokens['admin']}", "Content-Type": "application/json"}
    c.request("POST", "/api/v1/incidents", headers | {"Content-Length": str(LIMITS.json + 1)})
    problem = _problem(*c.answer(), 413)
    assert problem["limit_bytes"] == LIMITS.json and str(LIMITS.json) in problem["detail"]
    c.close()
    # The pages' forms have a class of their own (UNISUPPORT_MAX_FORM_BYTES).
    c = Connection(live.url)
    c.request("POST", "/sign-in", {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "16385"})
    assert _problem(*c.answer(), 413)["limit_bytes"] == LIMITS.form
    c.close()
    # At the limit, the body is read and judged on what it says.
    padded = json.dumps(INCIDENT | {"description": "x" * (LIMITS.json - 200)})
    padded += " " * (LIMITS.json - len(padded))
    with live.client("contoso_admin") as client:
        r = client.post("/api/v1/incidents", content=padded, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "description"


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    block = b" " * size
    sent = 0
    while sent < total:
        yield block[: min(size, total - sent)]
        sent += size


def test_a_chunked_body_without_content_length_is_counted_and_cut_at_the_limit(live):
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", content=_chunks(2 * MB), headers={"Content-Type": "application/json"})
        assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
        assert r.status_code == 413 and r.headers["content-type"] == PROBLEM and r.json()["limit_bytes"] == LIMITS.json
        body = json.dumps(INCIDENT).encode()
        r = c.post(
            "/api/v1/incidents", content=iter([body[:10], body[10:]]), headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 201, r.text  # a small chunked body goes through


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """The process's largest resident size while the block runs (sampled every 5 ms);
    the server runs in this process, in a thread."""

    def __enter__(self) -> PeakRss:
        self.before = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _send_all(c: Connection, total: int) -> None:
    try:
        for chunk in _chunks(total, 1 * MB):
            c.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and stopped listening: fine


def test_big_bodies_do_not_grow_the_servers_memory(live):
    token = f"Bearer {live.tokens['admin']}"
    with PeakRss() as rss:
        for _ in range(4):  # the report's experiment: four unauthenticated 100 MB POSTs
            c = Connection(live.url, timeout=60)
            c.request(
                "POST", "/api/v1/incidents", {"Content-Type": "application/json", "Content-Length": str(100 * MB)}
            )
            _send_all(c, 100 * MB)
            assert c.answer()[0] == 401
            c.close()
        for _ in range(2):  # and authenticated ones, chunked: nothing says their size
            c = Connection(live.url, timeout=60)
            c.request("POST", "/api/v1/incidents", {"Authorization": token, "Transfer-Encoding": "chunked"})
            _send_all_chunked(c, 100 * MB)
            assert c.answer()[0] == 413
            c.close()
    grown = rss.peak - rss.before
    print(f"RSS before {rss.before / MB:.0f} MB, peak {rss.peak / MB:.0f} MB over 600 MB of bodies")
    assert grown < 40 * MB, f"the process grew by {grown / MB:.0f} MB"


def _send_all_chunked(c: Connection, total: int) -> None:
    try:
        for chunk in _chunks(total, 1 * MB):
            c.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        c.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server cut the body off at its limit, as it should: the caller reads its 413


def test_the_limits_are_settings_with_documented_defaults():
    assert BodyLimits() == BodyLimits(json=MB, form=64 * 1024)
    settings = Settings.from_env({"UNISUPPORT_MAX_BODY_BYTES": "2097152", "UNISUPPORT_MAX_FORM_BYTES": "8192"})
    assert settings.body_limits == BodyLimits(json=2 * MB, form=8192)
    with pytest.raises(Exception, match="UNISUPPORT_MAX_BODY_BYTES"):
        Settings.from_env({"UNISUPPORT_MAX_BODY_BYTES": "a lot"})


# --------------------------------------------------------------------------- unexpected errors
class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_an_unexpected_error_is_a_500_with_the_headers_logged_once_and_the_connection_kept(live):
    records = Records()
    loggers = [logging.getLogger(name) for name in ("unisupport.api", "uvicorn.error", "uvicorn")]
    for logger in loggers:
        logger.addHandler(records)
    try:
        c = Connection(live.url)
        c.request("GET", "/test/unexpected")
        status, headers, body = c.answer()
        problem = _problem(status, headers, body, 500)
        assert problem["detail"] == "an unexpected error occurred; it was logged" and "bug" not in body.decode()
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        c.request("GET", "/healthz")  # the same connection serves the next request
        assert c.answer()[0] == 200
        c.close()
    finally:
        for logger in loggers:
            logger.removeHandler(records)
    assert len(records.records) == 1, [r.getMessage() for r in records.records]
    assert records.records[0].exc_info and "a bug nobody foresaw" in str(records.records[0].exc_info[1])


# --------------------------------------------------------------------------- idempotent replays
def test_an_idempotent_replay_has_the_first_answers_location_and_etag(live):
    key = str(uuid.uuid4())
    with live.client("contoso_admin") as c:
        first = c.post("/api/v1/incidents", json=INCIDENT, headers={"Idempotency-Key": key})
        again = c.post("/api/v1/incidents", json=INCIDENT, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"] == f"/api/v1/incidents/{first.json()['id']}"
    assert again.headers["etag"] == first.headers["etag"] == '"1"'
    booking = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "chalk-talks",
        "unit": "engagement",
        "scheduled_on": "2026-12-14",
        "quantity": "1",
    }
    with live.client("contoso_admin") as c:
        shown = c.post("/api/v1/bookings/quote", json=booking)
        assert shown.status_code == 200, shown.text
        booking |= {"expected_cost": shown.json()["cost"]}  # confirmed as shown (D45)
        key = str(uuid.uuid4())
        first = c.post("/api/v1/bookings", json=booking, headers={"Idempotency-Key": key})
        again = c.post("/api/v1/bookings", json=booking, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["location"] == first.headers["location"] == f"/api/v1/bookings/{first.json()['id']}"
    with live.client("contoso_admin") as c:
        assert c.get(first.headers["location"]).json()["id"] == first.json()["id"]


# --------------------------------------------------------------------------- malformed bodies
def _string_fields(spec: dict) -> list[tuple[str, str, str]]:
    """(method, path, field) of every free-text property of every JSON body."""
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" not in ref:
                continue
            for name, prop in schemas[ref["$ref"].rsplit("/", 1)[-1]].get("properties", {}).items():
                options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
                if all(o.get("type") == "string" and not {"pattern", "enum", "format"} & set(o) for o in options):
                    found.append((method.upper(), path, name))
    return found


def test_control_characters_are_refused_in_every_text_field_on_both_databases(live):
    with live.client(None) as c:
        spec = c.get("/openapi.json").json()
    fields = _string_fields(spec)
    assert ("POST", "/api/v1/incidents", "title") in fields and len(fields) >= 20
    with live.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=INCIDENT).json()["id"]
    wrong = []
    for method, path, name in fields:
        url = path.replace("{incident_id}", str(incident)).replace("{collaboration_id}", "1")
        url = url.replace("{outage_id}", "1").replace("{booking_id}", "1")
        for bad in ("a\x00b", "bell\x07", "esc\x1b[31m", "\ud800"):
            with live.client("admin") as c:  # json.dumps escapes the lone surrogate
                r = c.request(
                    method, url, content=json.dumps({name: bad}), headers={"Content-Type": "application/json"}
                )
            named = [e for e in r.json().get("errors", []) if e["path"] == name] if r.status_code == 422 else []
            # A lone surrogate: Pydantic refuses it itself where it measures the text.
            expected = ("control characters", "valid string") if bad == "\ud800" else ("control characters",)
            if not any(word in e["message"] for e in named for word in expected):
                wrong.append(f"{method} {path} {name}={bad!r} → {r.status_code} {r.text[:150]}")
    assert wrong == [], "\n".join(wrong)
    # Tabs and line breaks are text.
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", json=INCIDENT | {"business_impact": "line one\r\n\tline two"})
    assert r.status_code == 201 and r.json()["business_impact"] == "line one\r\n\tline two"


def test_control_characters_are_refused_in_order_documents_and_web_forms(live):
    document = read_order_document(EXAMPLES / "fabrikam-single-site.yaml")
    document["customer"]["name"] = "Fabrikam\x00"
    with live.client("admin") as c:
        r = c.post("/api/v1/orders", json=document)
    assert r.status_code == 422 and any(
        e["path"] == "customer.name" and "control characters" in e["message"] for e in r.json()["errors"]
    )
    http = httpx.Client(base_url=live.url, headers={"Accept": "text/html"}, timeout=30)
    token = http.get("/sign-in").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = http.post("/sign-in", data={"email": "x\x00@example.com", "password": "p", "csrf_token": token})
    assert r.status_code == 422 and "must not contain control characters (U+0000 at character 2)" in r.text


@pytest.mark.parametrize(
    "body, path",
    [
        ('{"site": "paris", "site": "lyon", "product": "exchange-online"}', "site"),
        ('{"order": {"customer": {"code": "a", "code": "b"}}}', "order.customer.code"),
        ('{"lines": [{"id": "a"}, {"id": "b", "id": "c"}]}', "lines[1].id"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it(live, body, path):
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    key = path.rsplit(".", 1)[-1]
    assert [(e["path"], e["message"]) for e in r.json()["errors"]] == [(path, f"the key {key!r} is given twice")]


@pytest.mark.parametrize(
    "body, detail",
    [
        (
            b'{"site": "paris",',
            "the body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 18",
        ),
        (
            b'{\n  "site": "paris"\n  "title": "t"\n}',
            "the body is not valid JSON: Expecting ',' delimiter at line 3 column 3",
        ),
        (b'{"quantity": NaN}', "the body is not valid JSON: NaN is not a JSON number"),
        (b'{"title": "\xff"}', "the body is not UTF-8 text (byte 12)"),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not valid JSON: it is nested too deeply"),
    ],
)
def test_a_body_that_is_not_json_says_what_and_where(live, body, detail):
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"] == detail
    assert r.json()["errors"][0]["path"] == "body"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_without_a_json_content_type_is_told_to_send_one(live, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", content=json.dumps(INCIDENT), headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["path"] == "Content-Type" and "Content-Type: application/json" in error["message"]
    assert (repr(content_type) if content_type else "no Content-Type") in error["message"]


def test_roles_are_named_with_their_article(live):
    with live.client("engineer") as c:
        assert c.post("/api/v1/customers", json={"code": "x", "name": "X"}).json()["detail"] == (
            "an engineer may not create customers"
        )
    with live.client("csam") as c:
        assert c.post("/api/v1/customers", json={"code": "x", "name": "X"}).json()["detail"] == (
            "a csam may not create customers"
        )
    with live.client("im") as c:
        assert c.post("/api/v1/orders", json={}).json()["detail"] == "an incident-manager may not import orders"
