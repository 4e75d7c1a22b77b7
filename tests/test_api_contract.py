"""Every operation of the live OpenAPI document answers as the document says (issue 15).

The operations are enumerated from ``/openapi.json`` of a real server (tests/api_server.py),
so a route added later is covered or this test fails naming it. Each operation gets at
least one real request that succeeds — the scenario below, one step per operation — and
at least one that fails; the failures are derived from the successes: no token (401), a
record that does not exist or is another tenant's (404, same body), a malformed body
(422), plus a few refusals by rule (403, 409, 412). Every answer must have a status the
operation declares, with a declared media type (``application/problem+json`` for every
problem), and a body that validates against the declared schema (jsonschema, the
document's own components)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jsonschema_rs
import pytest

from api_server import EXAMPLES, SEV_B, Server, start, stop
from unisupport.orders.validation import read_order_document
from unisupport.settings import WebhookSettings

FRIDAY = datetime(2026, 11, 27, 16, 45, tzinfo=ZoneInfo("Europe/Paris"))
PROBLEM = "application/problem+json"
API = "/api/"
# Operations that cannot fail on a request of their own: why, for each.
NO_FAILURE = {
    "GET /healthz": "answers without a token or the database",
    "GET /readyz": "fails only when the database is unreachable (503, declared)",
}
MISSING_ID = 2**31 - 1  # the largest id a path accepts, never reached here


@dataclass
class Exchange:
    operation: str  # "METHOD /path/{template}"
    why: str
    response: httpx.Response


@dataclass
class Step:
    """A request that must succeed, and what the derived failures need."""

    operation: str
    who: str | None
    values: dict[str, Any]
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None  # a multipart upload


class Calls:
    """Makes the requests and records each one with its operation."""

    def __init__(self, server: Server):
        self.server = server
        self.made: list[Exchange] = []
        self.steps: list[Step] = []

    def send(self, step: Step, why: str, **changes: Any) -> httpx.Response:
        method, template = step.operation.split(" ", 1)
        values = changes.get("values", step.values)
        who = changes.get("who", step.who)
        headers = dict(step.headers or {})
        headers.update(changes.get("headers", {}))
        kwargs: dict[str, Any] = {"params": step.params, "headers": headers}
        body = changes.get("json", step.json)
        if body is not None:
            kwargs["json"] = body
        if step.files is not None:
            kwargs["files"] = step.files
        with self.server.client(who) as client:
            response = client.request(method, template.format(**values), **kwargs)
        self.made.append(Exchange(step.operation, why, response))
        return response

    def ok(self, operation: str, who: str | None = "admin", values: dict[str, Any] | None = None, **kw: Any) -> Any:
        """A request that must succeed; its JSON body."""
        step = Step(operation, who, values or {}, **kw)
        self.steps.append(step)
        response = self.send(step, "succeeds")
        assert response.is_success, f"{operation}: {response.status_code} {response.text[:500]}"
        return response.json()

    def fetch(self, operation: str, who: str, values: dict[str, Any]) -> bytes:
        """A request that must succeed with a body that is not JSON (a file)."""
        step = Step(operation, who, values)
        self.steps.append(step)
        response = self.send(step, "succeeds")
        assert response.is_success, f"{operation}: {response.status_code} {response.text[:500]}"
        return response.content

    def refused(
        self, operation: str, status: int, who: str | None = "admin", values: dict[str, Any] | None = None, **kw
    ):
        response = self.send(Step(operation, who, values or {}, **kw), f"refused with {status}")
        assert response.status_code == status, f"{operation}: {response.status_code} {response.text[:500]}"

    def derived_failures(self) -> None:
        """No token, a missing record (with the same body), a malformed body."""
        for step in {s.operation: s for s in self.steps}.values():
            if not step.operation.split(" ", 1)[1].startswith(API):
                continue
            self._expect(step, 401, "no token", who=None)
            names = re.findall(r"\{(\w+)\}", step.operation)
            if names:
                missing = {n: MISSING_ID if isinstance(step.values[n], int) else "no-such-record" for n in names}
                self._expect(step, 404, "a record that does not exist", values=missing)
            if step.json is not None:
                self._expect(step, 422, "a body that is not the declared object", json=["not", "an", "object"])

    def _expect(self, step: Step, status: int, why: str, **changes: Any) -> None:
        response = self.send(step, why, **changes)
        assert response.status_code == status, f"{step.operation} with {why}: {response.status_code} {response.text}"


def scenario(calls: Calls) -> None:
    """One successful request per operation, in an order that makes each possible."""
    ok, refused = calls.ok, calls.refused
    ok("GET /healthz", who=None)
    ok("GET /readyz", who=None)

    # --- webhooks (subscribed first: the incident opened below is delivered to it)
    hook = {"url": "https://127.0.0.1:9/hook", "event_types": ["incident.opened"], "description": "the ITSM"}
    made = ok("POST /api/v1/webhooks", who="contoso_admin", json=hook)
    assert made["secret"].startswith("whsec_") and made["subscription"]["customer"] == "contoso"
    subscription = {"subscription_id": made["subscription"]["id"]}
    refused("POST /api/v1/webhooks", 422, who="contoso_admin", json=hook | {"url": "ftp://127.0.0.1/hook"})
    refused("POST /api/v1/webhooks", 422, who="admin", json=hook | {"event_types": ["incident.exploded"]})
    refused("POST /api/v1/webhooks", 404, who="contoso_admin", json=hook | {"customer": "fabrikam"})
    refused("POST /api/v1/webhooks", 403, who="contoso_contact", json=hook)
    ok("GET /api/v1/webhooks", who="contoso_admin")
    ok("GET /api/v1/webhooks/{subscription_id}", who="admin", values=subscription)
    refused("GET /api/v1/webhooks/{subscription_id}", 404, who="fabrikam_admin", values=subscription)

    # --- incidents
    opened = ok("POST /api/v1/incidents", who="contoso_admin", json=SEV_B)
    incident = {"incident_id": opened["id"]}
    ok("GET /api/v1/incidents", who="engineer", params={"status": "open"})
    ok("GET /api/v1/incidents/{incident_id}", who="contoso_contact", values=incident)
    ok(
        "POST /api/v1/incidents/{incident_id}/communications",
        who="engineer",
        values=incident,
        json={"medium": "phone", "body": "Called Marie: looking into the connector."},
    )
    ok("GET /api/v1/incidents/{incident_id}/communications", who="contoso_admin", values=incident)
    ok(
        "POST /api/v1/incidents/{incident_id}/severity",
        who="engineer",
        values=incident,
        json={"severity": "A", "reason": "every mailbox is affected"},
        headers={"If-Match": '"2"'},
    )
    stale, no_grounds = (
        ({"severity": "1", "reason": "stale"}, {"If-Match": '"1"'}),
        ({"severity": "C", "reason": "x"}, {}),
    )
    for status, (change, headers) in ((412, stale), (409, no_grounds)):  # an old version; a downgrade without grounds
        refused(
            "POST /api/v1/incidents/{incident_id}/severity", status, "engineer", incident, json=change, headers=headers
        )
    asked = ok(
        "POST /api/v1/incidents/{incident_id}/third-parties",
        who="contoso_admin",
        values=incident,
        json={"vendor": "Contoso SAN Vendor", "product": "Array X"},
    )
    collaboration = incident | {"collaboration_id": asked["third_party"]["id"]}
    ok(
        "POST /api/v1/incidents/{incident_id}/third-parties/{collaboration_id}/engagement",
        who="engineer",
        values=collaboration,
        json={"vendor_reference": "SAN-4711"},
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/third-parties/{collaboration_id}/end",
        who="contoso_admin",
        values=collaboration,
        json={"note": "the array was replaced"},
    )
    ok("POST /api/v1/incidents/{incident_id}/rca", who="contoso_admin", values=incident, json={})

    # --- remote access on the incident (R-RA-1)
    ok("GET /api/v1/remote-access/tools", who="contoso_admin")
    authorised = ok(
        "POST /api/v1/incidents/{incident_id}/remote-access",
        who="contoso_admin",
        values=incident,
        json={
            "systems": ["exch-connector-01"],
            "tool": "teams-screen-sharing",
            "valid_until": "2026-11-27T19:00:00+01:00",
        },
    )
    refused(
        "POST /api/v1/incidents/{incident_id}/remote-access",
        403,
        who="engineer",
        values=incident,
        json={"systems": ["x"], "tool": "quick-assist", "valid_until": "2026-11-27T19:00:00+01:00"},
    )
    ok("GET /api/v1/incidents/{incident_id}/remote-access", who="engineer", values=incident)
    refused(
        "POST /api/v1/incidents/{incident_id}/remote-sessions",
        409,
        who="engineer",
        values=incident,
        json={"system": "dc-01"},
    )  # not authorised
    started = ok(
        "POST /api/v1/incidents/{incident_id}/remote-sessions",
        who="engineer",
        values=incident,
        json={"system": "exch-connector-01"},
    )
    remote = incident | {
        "session_id": started["remote_access"]["sessions"][0]["id"],
        "authorisation_id": authorised["remote_access"]["authorisations"][0]["id"],
    }
    ok("POST /api/v1/incidents/{incident_id}/remote-sessions/{session_id}/end", who="engineer", values=remote, json={})
    ok(
        "POST /api/v1/incidents/{incident_id}/remote-access/{authorisation_id}/withdrawal",
        who="contoso_admin",
        values=remote,
        json={"note": "done"},
    )

    # --- the conversation on the incident
    uploaded = ok(
        "POST /api/v1/incidents/{incident_id}/attachments",
        who="engineer",
        values=incident,
        files=[("files", ("trace.txt", b"connector trace: 421 too many connections\n", "text/plain"))],
    )
    copied = "it-desk@contoso.example"
    written = ok(
        "POST /api/v1/incidents/{incident_id}/messages",
        who="engineer",
        values=incident,
        json={
            "body": "The connector was restarted: do confirmations go out again?",
            "attachments": [uploaded["items"][0]["id"]],
            "cc": [copied],
            "needs_answer": True,
        },
    )
    ok("GET /api/v1/incidents/{incident_id}/messages", who="contoso_admin", values=incident)
    message = incident | {"message_id": written["message"]["id"]}
    ok("GET /api/v1/incidents/{incident_id}/messages/{message_id}", who="contoso_contact", values=message)
    ok("GET /api/v1/incidents/{incident_id}/attachments", who="contoso_admin", values=incident)
    attachment = incident | {"attachment_id": uploaded["items"][0]["id"]}
    calls.fetch("GET /api/v1/incidents/{incident_id}/attachments/{attachment_id}", "contoso_admin", attachment)
    ok("GET /api/v1/incidents/{incident_id}/copies", who="engineer", values=incident)
    ok("DELETE /api/v1/incidents/{incident_id}/copies/{email}", who="engineer", values=incident | {"email": copied})
    ok("POST /api/v1/incidents/{incident_id}/severity/confirmation", who="engineer", values=incident)
    # The reply above needs the customer's answer: the incident awaits them, its update clock paused.
    ok("GET /api/v1/incidents/{incident_id}/update-targets", who="contoso_admin", values=incident)
    refused(  # the collaboration has ended: nothing to wait for (R-INC-4)
        "POST /api/v1/incidents/{incident_id}/state",
        409,
        who="engineer",
        values=incident,
        json={"state": "awaiting_third_party", "reason": "the vendor"},
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/state",
        who="engineer",
        values=incident,
        json={"state": "in_progress", "reason": "Marie answered on the phone"},
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/mitigation",
        who="engineer",
        values=incident,
        json={"summary": "connector restarted"},
    )
    refused(
        "POST /api/v1/incidents/{incident_id}/closure", 403, who="contoso_admin", values=incident, json={"summary": "x"}
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/closure",
        who="engineer",
        values=incident,
        json={"summary": "mail flows again"},
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/reopening",
        who="engineer",
        values=incident,
        json={"reason": "confirmations stopped again"},
    )
    ok("GET /api/v1/incidents/{incident_id}/events", who="contoso_admin", values=incident)
    refused("GET /api/v1/incidents/{incident_id}", 404, who="fabrikam_admin", values=incident)

    # --- full-text search and saved views (D106, D107)
    found = ok("GET /api/v1/search", who="contoso_admin", params={"q": "confirmations", "status": "open"})
    assert [i["incident"] for i in found["items"]] == [opened["id"]]
    assert ok("GET /api/v1/search", who="fabrikam_admin", params={"q": "confirmations"})["items"] == []
    refused("GET /api/v1/search", 422, who="contoso_admin", params={"q": "x" * 201})
    view = ok(
        "POST /api/v1/views", who="engineer", json={"page": "queue", "name": "Sev B", "filters": {"severity": "B"}}
    )
    refused("POST /api/v1/views", 422, who="engineer", json={"page": "queue", "name": "Sev B"})  # the name is taken
    refused("POST /api/v1/views", 422, who="engineer", json={"page": "queue", "name": "x", "filters": {"nope": "1"}})
    saved = {"view_id": view["id"]}
    assert [v["name"] for v in ok("GET /api/v1/views", who="engineer", params={"page": "queue"})] == ["Sev B"]
    ok("GET /api/v1/views/{view_id}", who="engineer", values=saved)
    refused("GET /api/v1/views/{view_id}", 404, who="im", values=saved)  # another user's view: not found
    ok("DELETE /api/v1/views/{view_id}", who="engineer", values=saved)
    refused("DELETE /api/v1/views/{view_id}", 404, who="engineer", values=saved)

    # --- customers and orders
    ok("POST /api/v1/customers", json={"code": "northwind", "name": "Northwind Traders"})
    ok("GET /api/v1/customers", who="csam")
    document = read_order_document(EXAMPLES / "fabrikam-single-site.yaml")
    document["number"] = "ESO-2026-0777"
    document["annex_a"] = {"billing_accounts": [{"id": "BA-7", "products": ["github-enterprise"]}]}  # R-SUP-1
    ok("POST /api/v1/orders", json=document)
    refused("POST /api/v1/orders", 403, who="csam", json=document)
    ok("POST /api/v1/orders/validation", who="csam", json=document)
    ok("GET /api/v1/orders", who="contoso_admin")
    order = {"number": "ESO-2026-0042"}
    ok("GET /api/v1/orders/{number}", who="csam", values=order)
    refused("GET /api/v1/orders/{number}", 403, who="contoso_contact", values=order)
    flagged = ok(
        "POST /api/v1/incidents",
        who="fabrikam_admin",
        json={
            "order": "ESO-2026-0777",
            "site": "seattle",
            "product": "azure-storage",
            "severity": "C",
            "title": "t",
            "business_impact": "b",
        },
    )
    check = {"incident_id": flagged["id"]}
    refused(
        "POST /api/v1/incidents/{incident_id}/entitlement-check",
        403,
        who="fabrikam_admin",
        values=check,
        json={"outcome": "covered"},
    )
    ok(
        "POST /api/v1/incidents/{incident_id}/entitlement-check",
        who="engineer",
        values=check,
        json={"outcome": "not-covered"},
    )
    ok("GET /api/v1/orders/{number}/balances", who="contoso_admin", values=order, params={"entries": "true"})
    ok(
        "GET /api/v1/orders/{number}/events/{code}/summary",
        who="csam",
        values=order | {"code": "black-friday-2026"},
    )

    # --- bookings
    workshop = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "workshops",
        "scheduled_on": "2028-03-22",
        "unit": "per-attendee",
        "attendees": 2,
    }
    quote = ok("POST /api/v1/bookings/quote", who="contoso_admin", json=workshop)
    refused("POST /api/v1/bookings", 409, who="contoso_admin", json=workshop)  # the cost was not confirmed
    booked = ok("POST /api/v1/bookings", who="contoso_admin", json=workshop | {"expected_cost": quote["cost"]})
    booking = {"booking_id": booked["id"]}
    ok("GET /api/v1/bookings", who="csam", params={"order": "ESO-2026-0042"})
    ok("GET /api/v1/bookings/{booking_id}", who="contoso_admin", values=booking)
    fee = ok("GET /api/v1/bookings/{booking_id}/cancellation", who="contoso_admin", values=booking)
    ok(
        "POST /api/v1/bookings/{booking_id}/cancellation",
        who="contoso_admin",
        values=booking,
        json={"expected_fee": fee["fee"]},
    )
    delivered = ok(
        "POST /api/v1/bookings",
        who="contoso_admin",
        json=workshop | {"scheduled_on": "2028-03-23", "expected_cost": quote["cost"]},
    )
    delivery = {"booking_id": delivered["id"]}
    refused("POST /api/v1/bookings/{booking_id}/delivery", 403, who="contoso_admin", values=delivery, json={})
    refused("POST /api/v1/bookings/{booking_id}/delivery", 404, who="csam_other", values=delivery, json={})  # tenant
    refused(  # not ahead of now (R-CSAT-1)
        "POST /api/v1/bookings/{booking_id}/delivery",
        422,
        who="engineer",
        values=delivery,
        json={"at": "2030-01-01T00:00:00Z"},
    )
    refused("POST /api/v1/bookings/{booking_id}/delivery", 409, who="engineer", values=booking, json={})  # cancelled
    done = ok("POST /api/v1/bookings/{booking_id}/delivery", who="engineer", values=delivery, json={"note": "on site"})
    assert done["status"] == "delivered"
    refused("POST /api/v1/bookings/{booking_id}/delivery", 409, who="engineer", values=delivery, json={})  # twice
    ok("GET /api/v1/audit", who="csam", params={"subject_type": "booking", "subject_id": booked["id"]})

    # --- platform outages
    outage = {
        "reference": "VN4S-1Z8",
        "title": "Storage degraded in West Europe",
        "products": ["azure-storage"],
        "regions": ["West Europe"],
        "message": "Writes are slow; a fix is being deployed.",
    }
    ok("GET /api/v1/outages/audience", who="im", params={"product": "azure-storage"})
    refused("POST /api/v1/outages", 403, who="contoso_admin", json=outage)
    declared = ok("POST /api/v1/outages", who="im", json=outage)
    ok(
        "POST /api/v1/outages/{outage_id}/notices",
        who="im",
        values={"outage_id": declared["id"]},
        json={"message": "The fix is deployed.", "resolved": True},
    )
    ok("GET /api/v1/outages", who="contoso_contact")
    ok("GET /api/v1/outages/{outage_id}", who="im", values={"outage_id": declared["id"]})

    # --- announcements (R-COM-1)
    news = {
        "subject_en": "New portal features",
        "subject_fr": "Nouveautés du portail",
        "body_en": "Attachments can now be dropped on the page.",
        "body_fr": "Les pièces jointes se déposent maintenant sur la page.",
        "customers": ["contoso"],
    }
    audience = ok("POST /api/v1/announcements/audience", who="im", json=news)
    assert audience and all(r["customer"] == "contoso" for r in audience)
    refused("POST /api/v1/announcements/audience", 404, who="csam", json=news | {"customers": ["fabrikam"]})
    refused("POST /api/v1/announcements", 403, who="contoso_admin", json=news)
    refused("POST /api/v1/announcements", 422, who="im", json=news | {"customers": []})
    sent = ok("POST /api/v1/announcements", who="csam", json=news)
    assert sent["queued"] >= 1 and sent["rule"] == "R-COM-1"

    # --- the SLA calculator
    explain = {
        "severity": "B",
        "product": "azure-virtual-machines",
        "opened": "2026-11-27T16:45:00+01:00",
        "country": "FR",
        "timezone": "Europe/Paris",
        "plans": "unified-enhanced-response",
    }
    ok("GET /api/v1/sla/explain", who="engineer", params=explain)

    # --- the reports (issue 10): JSON and CSV, within the caller's tenants
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    report = ok("GET /api/v1/reports/sla", who="im", params=period)
    assert report["lines"], "the scenario opened incidents this year"
    ok("GET /api/v1/reports/sla", who="contoso_admin", params=period | {"customer": "contoso"})
    refused("GET /api/v1/reports/sla", 404, who="contoso_admin", params=period | {"customer": "fabrikam"})
    refused("GET /api/v1/reports/sla", 422, who="im", params={"from": "2026-12-31", "to": "2026-01-01"})
    csv_step = Step("GET /api/v1/reports/sla.csv", "im", {}, params=period | {"locale": "fr"})
    calls.steps.append(csv_step)
    assert calls.send(csv_step, "succeeds").content.startswith(b"\xef\xbb\xbfmonth;customer;")
    refused("GET /api/v1/reports/sla.csv", 422, who="im", params=period | {"locale": "de"})
    ok("GET /api/v1/reports/consumption", who="contoso_admin", params=period)
    refused("GET /api/v1/reports/consumption", 422, who="im", params={"from": "not a date", "to": "2026-12-31"})
    calls.steps.append(Step("GET /api/v1/reports/consumption.csv", "im", {}, params=period))
    assert calls.send(calls.steps[-1], "succeeds").status_code == 200
    refused("GET /api/v1/reports/consumption.csv", 422, who="im", params=period | {"locale": "de"})
    # --- the webhook's log: the incident opened above waits for the worker
    log = ok("GET /api/v1/webhooks/{subscription_id}/deliveries", who="contoso_admin", values=subscription)
    assert [d["event_type"] for d in log] == ["incident.opened"]
    delivery = subscription | {"delivery_id": log[0]["id"]}
    ok("POST /api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redelivery", "contoso_admin", delivery)
    ok("POST /api/v1/webhooks/{subscription_id}/state", "contoso_admin", subscription, json={"active": False})
    refused("GET /api/v1/sla/explain", 422, who="engineer", params=explain | {"opened": "not a time"})


@pytest.fixture(scope="module")
def live(backend, temp_databases):
    # Webhook targets on the loopback are allowed here (docs/webhooks.md).
    local = WebhookSettings(allow_private=("127.0.0.1/32",))
    server, uv, thread = start(temp_databases.new_url(backend), FRIDAY, webhook_settings=local)
    yield server
    stop(uv, thread, server)


@pytest.fixture(scope="module")
def document(live: Server) -> dict[str, Any]:
    return httpx.get(f"{live.url}/openapi.json").json()


@pytest.fixture(scope="module")
def exchanges(live: Server) -> list[Exchange]:
    calls = Calls(live)
    scenario(calls)
    calls.derived_failures()
    return calls.made


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_every_operation_has_a_request_that_succeeds_and_one_that_fails(document, exchanges) -> None:
    succeeded = {e.operation for e in exchanges if e.response.is_success}
    failed = {e.operation for e in exchanges if 400 <= e.response.status_code < 500}
    listed = operations(document)
    assert sorted(set(listed) - succeeded) == [], "operations without a successful request: add a step to scenario()"
    assert sorted(set(listed) - failed - set(NO_FAILURE)) == [], "operations without a failing request"
    assert sorted({e.operation for e in exchanges} - set(listed)) == [], "requests to operations not in the document"


def schema_of(document: dict[str, Any], schema: dict[str, Any]) -> Callable[[Any], list[str]]:
    """A validator of ``schema`` whose references resolve in the document's components."""
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})
    return lambda instance: [str(error).splitlines()[0] for error in validator.iter_errors(instance)]


def test_every_answer_is_one_its_operation_declares(document, exchanges) -> None:
    listed = operations(document)
    wrong = []
    for e in exchanges:
        declared = listed[e.operation]["responses"]
        status, media = str(e.response.status_code), e.response.headers.get("content-type", "").split(";")[0]
        where = f"{e.operation} ({e.why}) → {status}"
        if status not in declared:
            wrong.append(f"{where}: status not declared (declared: {', '.join(declared)})")
            continue
        content = declared[status].get("content", {})
        declared_as = next((m for m in (media, media.split("/")[0] + "/*", "*/*") if m in content), None)
        if declared_as is None:
            wrong.append(f"{where}: {media} not declared (declared: {', '.join(content)})")
            continue
        if is_json(media):
            errors = schema_of(document, content[declared_as]["schema"])(e.response.json())
            wrong += [f"{where}: {error}" for error in errors[:3]]
    assert not wrong, "\n".join(wrong)


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def test_every_api_operation_declares_its_answers_and_its_problems(document) -> None:
    """A schema for each success (not the empty one), problem+json for each error."""
    undeclared = []
    for name, operation in operations(document).items():
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith("2"):
                # A named schema (a model of api.answers), not one inferred from dict[str, Any].
                if not content or any("$ref" not in str(c.get("schema")) for m, c in content.items() if is_json(m)):
                    undeclared.append(f"{name} {status}: no declared schema")
            elif set(content) != {PROBLEM} or content[PROBLEM]["schema"] != {"$ref": "#/components/schemas/Problem"}:
                undeclared.append(f"{name} {status}: not a problem ({', '.join(content)})")
        if name.split(" ", 1)[1].startswith(API):
            missing = {"401", "403", "404", "409", "422"} - set(operation["responses"])
            if missing:
                undeclared.append(f"{name}: {', '.join(sorted(missing))} not declared")
    assert not undeclared, "\n".join(undeclared)
