"""Every date-time and date a caller gives lies within 1970-01-01T00:00:00Z …
2199-12-31T23:59:59Z (docs/decisions.md D49), or is refused as malformed input
naming its field — never a 5xx. Over real HTTP, on SQLite and PostgreSQL.

The inputs are not listed here: the API's are read from its OpenAPI document
(every parameter and body property of format ``date-time`` or ``date``), the web
forms' from the pages' HTML (every ``date`` and ``datetime-local`` input, and the
hidden fields carrying an ISO date), the order file's from its JSON schema. A new
one is covered the day it appears."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from api_server import EXAMPLES, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unisupport.errors import InvalidInput
from unisupport.orders.order_file import OrderFile
from unisupport.orders.validation import read_order_document, validate_order
from unisupport.sla.calendar import Calendar

PARIS = ZoneInfo("Europe/Paris")
FRIDAY = datetime(2026, 11, 27, 16, 45, tzinfo=PARIS)
PASSWORD = "correct horse battery"
EXAMPLES_PER_FIELD = int(os.environ.get("UNISUPPORT_SPAN_EXAMPLES", "12"))
# The span, in the oracle's own arithmetic (whole seconds from 0001-01-01T00:00Z).
_DAY = 86_400
FIRST = date(1970, 1, 1).toordinal() * _DAY
LAST = date(2199, 12, 31).toordinal() * _DAY + _DAY - 1
SPAN_WORDS = re.compile(r"must be (an instant|a date) between 1970-01-01(T00:00:00Z)? and 2199-12-31")


def utc_seconds(moment: datetime) -> int:
    """Seconds from 0001-01-01T00:00Z of an aware datetime, without moving it to UTC
    (which year 1 at +14:00 cannot be)."""
    local = moment.toordinal() * _DAY + moment.hour * 3600 + moment.minute * 60 + moment.second
    return local - int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]


def instant_in_span(moment: datetime) -> bool:
    return FIRST <= utc_seconds(moment) <= LAST


def day_in_span(day: date) -> bool:
    return date(1970, 1, 1) <= day <= date(2199, 12, 31)


# Far and near: years 1 and 9999, and the seconds around each bound, with offsets
# from -12:00 to +14:00 (what turned a far date into an OverflowError).
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
bounds = st.sampled_from([datetime(1970, 1, 1), datetime(2199, 12, 31, 23, 59, 59), datetime(2200, 1, 1)])
instants = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(lambda d: d.replace(microsecond=0)),
    st.builds(lambda b, s: b + timedelta(seconds=s), bounds, st.integers(min_value=-16 * 3600, max_value=16 * 3600)),
    st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]),
).flatmap(lambda naive: offsets.map(lambda tz: naive.replace(tzinfo=tz)))
days = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from([date(1, 1, 1), date(1969, 12, 31), date(1970, 1, 1), date(2199, 12, 31), date(9999, 12, 31)]),
)
# What a ``datetime-local`` field holds: a wall-clock time at the site, any year.
local_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.sampled_from(
        [datetime(1, 1, 1), datetime(1970, 1, 1), datetime(2199, 12, 31, 23, 59), datetime(9999, 12, 31, 23, 59)]
    ),
)


@pytest.fixture(scope="module")
def live(backend, temp_databases):
    with serving(temp_databases.new_url(backend), FRIDAY) as server:
        yield server


@pytest.fixture(autouse=True)
def friday(live):
    live.clock.at = FRIDAY


def open_incident(live) -> int:
    body = {"site": "paris", "product": "exchange-online", "severity": "B", "title": "t", "business_impact": "b"}
    with live.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --------------------------------------------------------------------------- the API
def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def date_fields(schema: dict, components: dict, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, format) of every date-time or date in a JSON schema."""
    schema = _resolve(schema, components)
    found = [(path, schema["format"])] if schema.get("format") in ("date-time", "date") else []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += date_fields(option, components, path)
    for name, sub in schema.get("properties", {}).items():
        found += date_fields(sub, components, (*path, name))
    if "items" in schema:
        found += date_fields(schema["items"], components, (*path, 0))
    return found


def api_inputs(spec: dict) -> list[tuple[str, str, str, tuple, str]]:
    """(method, path, where, field path, format) of every date input of the API."""
    components = spec.get("components", {}).get("schemas", {})
    out = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for parameter in op.get("parameters", []):
                for field, fmt in date_fields(parameter["schema"], components, (parameter["name"],)):
                    out.append((method.upper(), path, parameter["in"], field, fmt))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for field, fmt in date_fields(body or {}, components):
                out.append((method.upper(), path, "body", field, fmt))
    return out


# What each operation needs besides the date, so that a date in the span goes as far
# as it can (the calendar, the database). An operation missing here is still probed:
# out of the span must be refused naming the field, in the span must not fail.
BASELINES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/incidents"): {
        "site": "paris",
        "product": "exchange-online",
        "severity": "B",
        "title": "t",
        "business_impact": "b",
        "contact": "marie.dupont@contoso.example",
        "order": "ESO-2026-0042",
    },
    ("POST", "/api/v1/incidents/{incident_id}/communications"): {
        "medium": "phone",
        "direction": "outbound",
        "body": "x",
    },
    ("POST", "/api/v1/incidents/{incident_id}/mitigation"): {"summary": "s"},
    ("POST", "/api/v1/incidents/{incident_id}/closure"): {"summary": "s"},
    ("POST", "/api/v1/bookings/quote"): {
        "order": "ESO-2026-0042",
        "site": "munich",
        "service": "enhanced-designated-engineering",
        "unit": "hours",
        "funding": "hours",
        "quantity": "2",
        "scheduled_on": "2026-12-10",
        "starts_at": "2026-12-10T09:00:00+01:00",
        "ends_at": "2026-12-10T11:00:00+01:00",
    },
    ("GET", "/api/v1/sla/explain"): {
        "severity": "B",
        "product": "exchange-online",
        "opened": "2026-11-27T16:45:00+01:00",
        "country": "FR",
        "timezone": "Europe/Paris",
        "plans": "base,aem",
        "description": "AEM",
        "event_start": "2026-11-26T00:00:00+01:00",
        "event_end": "2026-11-28T00:00:00+01:00",
    },
    ("GET", "/api/v1/incidents"): {},
}
BASELINES[("POST", "/api/v1/bookings")] = BASELINES[("POST", "/api/v1/bookings/quote")]
for _report in ("sla", "sla.csv", "consumption", "consumption.csv"):  # a period needs both its ends
    BASELINES[("GET", f"/api/v1/reports/{_report}")] = {"from": "2026-01-01", "to": "2026-12-31"}


def _set(document: dict, path: tuple, value: Any) -> dict:
    here: Any = document
    for part, following in zip(path, path[1:], strict=False):
        if isinstance(part, int):
            while len(here) <= part:
                here.append({} if not isinstance(following, int) else [])
        elif part not in here or not isinstance(here[part], (dict, list)):
            here[part] = [] if isinstance(following, int) else {}
        here = here[part]
    if isinstance(path[-1], int):
        here[:] = [value]
    else:
        here[path[-1]] = value
    return document


def _field_name(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))


def test_every_date_input_of_the_api_is_bounded_and_named(live):
    with live.client(None) as c:
        spec = c.get("/openapi.json").json()
    inputs = api_inputs(spec)
    assert len(inputs) >= 12  # due_before, opened_at, the three `at`, bookings, explain …
    incident = open_incident(live)
    failures: list[str] = []
    for method, path, where, field, fmt in inputs:
        strategy = (
            instants.map(lambda d: (d.isoformat(), instant_in_span(d)))
            if fmt == "date-time"
            else days.map(lambda d: (d.isoformat(), day_in_span(d)))
        )
        explore(strategy, api_probe(live, incident, method, path, where, field, failures))
    assert failures == [], "\n".join(failures)


def explore(strategy, check) -> None:
    """Run ``check`` on values drawn from ``strategy`` (Hypothesis)."""

    @given(value=strategy)
    @settings(max_examples=EXAMPLES_PER_FIELD, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def probe(value):
        check(value)

    probe()


def api_probe(live, incident: int, method: str, path: str, where: str, field: tuple, failures: list[str]):
    name = _field_name(field)

    def check(value: tuple[str, bool]) -> None:
        text, inside = value
        payload = _set(_copy(BASELINES.get((method, path), {})), field, text)
        url = path.replace("{incident_id}", str(incident))
        with live.client("admin") as c:
            r = c.request(method, url, params=payload) if where == "query" else c.request(method, url, json=payload)
        label = f"{method} {path} {name}={text}"
        if r.status_code >= 500:
            failures.append(f"{label} → {r.status_code} {r.text[:200]}")
            return
        named = [e for e in r.json().get("errors", []) if e.get("path") == name] if r.status_code == 422 else []
        refused_for_span = [e for e in named if SPAN_WORDS.search(e.get("message", ""))]
        if not inside and not refused_for_span:
            failures.append(f"{label} → {r.status_code} {r.text[:200]} (outside the span, not refused)")
        if inside and refused_for_span:
            failures.append(f"{label} → refused although inside the span")

    return check


def test_the_calendar_refuses_instants_it_does_not_cover_cleanly():
    calendar = Calendar.for_country("FR", "Europe/Paris")
    for moment in (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), datetime(9999, 12, 31, tzinfo=UTC)):
        for call in (
            lambda m: calendar.add_business_minutes(m, 60),
            lambda m: calendar.is_open(m),
            lambda m: calendar.next_opening(m),
            lambda m: calendar.localize(m),
            lambda m: calendar.business_minutes_between(datetime(2026, 1, 1, tzinfo=UTC), m),
        ):
            with pytest.raises(InvalidInput, match="a calendar covers instants from 1902 to 9997"):
                call(moment)
    # Inside the span, and a target that ends past it, are answered.
    assert calendar.add_business_minutes(datetime(2199, 12, 31, 16, 0, tzinfo=PARIS), 24 * 60).year == 2200


# --------------------------------------------------------------------------- the order file
def test_every_date_of_the_order_file_is_bounded_and_named():
    fields = date_fields(OrderFile.model_json_schema(), OrderFile.model_json_schema().get("$defs", {}))
    names = {_field_name(f) for f, _ in fields}
    assert {"term.start", "term.end", "executed_on", "lines[0].start", "events[0].confirmed_on"} <= names
    base = read_order_document(EXAMPLES / "contoso-multicountry.yaml")
    for field, _fmt in fields:
        for far in ("0001-01-01", "9999-12-31"):
            document = _set(_copy(base), field, far)
            violations = [v for v in validate_order(document) if v.path == _field_name(field)]
            assert any(SPAN_WORDS.search(v.message) for v in violations), (field, far, violations)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def test_an_order_whose_term_ends_in_9999_is_refused_over_the_api(live):
    document = read_order_document(EXAMPLES / "fabrikam-single-site.yaml")
    document["term"]["end"] = "9999-12-31"
    with live.client("admin") as c:
        r = c.post("/api/v1/orders", json=document)
    assert r.status_code == 422, r.text
    assert any(e["path"] == "term.end" and SPAN_WORDS.search(e["message"]) for e in r.json()["errors"])


# --------------------------------------------------------------------------- the web forms
class Forms(HTMLParser):
    """The forms of a page: action, fields with their values, and which are dates."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.formactions: list[tuple[str, str]] = []  # (form id, action) of the buttons that send a form elsewhere
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "button" and a.get("formaction") and a.get("form"):
            self.formactions.append((a["form"], a["formaction"]))  # a preview's confirm button (D58)
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append({"action": a.get("action", ""), "id": a.get("id", ""), "fields": {}, "dates": {}})
        if not self.forms or "name" not in a:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        kind = a.get("type", "text") if tag == "input" else tag
        if kind == "select":
            self._select = a["name"]
        else:
            self._field(self.forms[-1], a["name"], kind, a)

    @staticmethod
    def _field(form: dict[str, Any], name: str, kind: str, a: dict[str, str]) -> None:
        value = a.get("value", "")
        if kind in ("date", "datetime-local"):
            form["dates"][name] = kind
        elif kind == "hidden" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            form["dates"][name] = "date"  # carried from the form before (a confirmation)
        elif kind == "radio" and "checked" not in a and name in form["fields"]:
            return
        elif kind in ("checkbox", "submit", "button"):
            return
        defaults = {"textarea": "x", "number": "1", "text": "x"}
        form["fields"][name] = "x" if kind == "textarea" else (value or defaults.get(kind, ""))

    def _option(self, a: dict[str, str]) -> None:
        fields = self.forms[-1]["fields"]
        if "selected" in a or (not fields.get(self._select) and a.get("value")):
            fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def sign_in(live, email: str) -> httpx.Client:
    http = httpx.Client(base_url=live.url, headers={"Accept": "text/html"}, timeout=30)
    page = http.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    r = http.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    return http


def dated_forms(html: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(html)
    sent_elsewhere = [
        f | {"action": action} for form_id, action in parser.formactions for f in parser.forms if f["id"] == form_id
    ]
    return [f for f in parser.forms + sent_elsewhere if f["dates"]]


def answer(who: httpx.Client, r: httpx.Response) -> httpx.Response:
    """A form's answer: the page it redirects to (post, redirect, get: D57)."""
    return who.get(r.headers["location"]) if r.status_code == 303 else r


QUOTE = {
    "order": "ESO-2026-0042",
    "site": "munich",
    "service": "enhanced-designated-engineering|hours",
    "scheduled_on": "2026-12-10",
    "quantity": "2",
    "funding": "hours",
    "starts": "09:00",
    "ends": "11:00",
}


def _local(value: datetime | date, kind: str) -> str:
    return value.isoformat()[:16] if kind == "datetime-local" else value.isoformat()


def test_every_date_field_of_the_web_forms_is_bounded(live):
    incident = open_incident(live)
    engineer = sign_in(live, "engineer@provider.example")
    customer = sign_in(live, "marie.dupont@contoso.example")
    csam = sign_in(live, "csam@provider.example")
    csrf = re.compile(r'name="csrf_token" value="([^"]*)"')
    token = csrf.search(customer.get("/bookings/new").text).group(1)
    quoted = answer(customer, customer.post("/bookings/quote", data=QUOTE | {"csrf_token": token}))
    assert quoted.status_code == 200 and 'data-testid="quote"' in quoted.text, quoted.text
    pages = [
        (engineer, engineer.get(f"/incidents/{incident}").text),
        (customer, customer.get("/bookings/new").text),
        (customer, quoted.text),
        (csam, csam.get("/customers/contoso").text),
    ]
    forms = [(who, form) for who, html in pages for form in dated_forms(html)]
    actions = {re.sub(r"\d+", "N", form["action"]) for _, form in forms}
    assert {
        "/incidents/N/communications",
        "/incidents/N/mitigation",
        "/incidents/N/closure",
        "/bookings/quote",
        "/bookings",
        "/customers/contoso/success-plans",
    } <= actions
    failures: list[str] = []
    for who, form in forms:
        for name, kind in form["dates"].items():
            explore(local_times if kind == "datetime-local" else days, form_probe(who, form, name, kind, failures))
    assert failures == [], "\n".join(failures)


def form_probe(who: httpx.Client, form: dict[str, Any], name: str, kind: str, failures: list[str]):
    def check(value: datetime | date) -> None:
        data = form["fields"] | {name: _local(value, kind)}
        r = answer(who, who.post(form["action"], data=data))
        label = f"{form['action']} {name}={data[name]}"
        # A local time within a day of a bound may be either side of it in UTC.
        if r.status_code >= 500:
            failures.append(f"{label} → {r.status_code}")
        elif not 1970 <= value.year <= 2199 and not SPAN_WORDS.search(r.text):
            failures.append(f"{label} → {r.status_code}, not refused for the span")
        elif 1971 <= value.year <= 2198 and SPAN_WORDS.search(r.text):
            failures.append(f"{label} → refused although inside the span")

    return check
