"""Diagnostic requests (R-REQ-1): the incident form's reproduction steps and environment
(optional, kept and shown); an engineer's request for a diagnostic activity is a tracked
request on the customer-side clock of R-SLA-4, answered by the customer's message and
its attachments. On SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_server import start, stop

from unisupport.incidents.diagnostics import DiagnosticActivity, activity_name
from unisupport.incidents.requests import CommunicationIn, MessageIn

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
OPENING = {
    "site": "paris",
    "product": "exchange-online",
    "severity": "B",
    "title": "Mail flow stopped",
    "business_impact": "Orders",
}


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY)
    yield server
    stop(uv, thread, server)


def test_every_activity_has_a_name_in_both_languages():
    assert {activity_name(a, lang) for a in DiagnosticActivity for lang in ("en", "fr")} == {
        "a network trace",
        "une trace réseau",
        "an error capture",
        "une capture d'erreur",
        "configuration data",
        "des données de configuration",
        "a configuration change",
        "une modification de configuration",
        "installing a new version",
        "l'installation d'une nouvelle version",
    }


def test_the_form_keeps_the_reproduction_steps_and_environment(api):
    with api.client("contoso_admin") as c:
        r = c.post(
            "/api/v1/incidents",
            json=OPENING
            | {"reproduction_steps": "1. Send a mail to orders@\n2. No bounce", "environment": "Outlook 2021"},
        )
        assert r.status_code == 201, r.text
        assert (r.json()["reproduction_steps"], r.json()["environment"]) == (
            "1. Send a mail to orders@\n2. No bounce",
            "Outlook 2021",
        )
        plain = c.post("/api/v1/incidents", json=OPENING).json()
        assert (plain["reproduction_steps"], plain["environment"]) == (None, None)  # optional
        r = c.post("/api/v1/incidents", json=OPENING | {"environment": "x" * 4001})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "environment"


def test_a_diagnostic_request_runs_the_customer_clock_and_a_message_with_a_file_answers_it(api):
    with api.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=OPENING).json()
    base = f"/api/v1/incidents/{incident['id']}"
    with api.client("engineer") as c:
        r = c.post(base + "/messages", json={"body": "Please capture a network trace.", "diagnostic": "network-trace"})
        assert r.status_code in (200, 201), r.text
        view = c.get(base).json()
    [asked] = view["diagnostic_requests"]
    # Sev B: the change-approval authority answers within 4 business hours (R-SLA-4).
    assert (asked["activity"], asked["state"], asked["rule"]) == ("network-trace", "pending", "R-REQ-1")
    assert asked["due"] == "2026-11-30T14:00:00+01:00" and not asked["missed"]
    assert view["customer_side"][0]["communication"] == asked["communication"]  # the same R-SLA-4 request
    events = {e["kind"]: e for e in api.client("engineer").get(base + "/events").json()}
    assert events["diagnostic-requested"]["rule"] == "R-REQ-1" and "customer-clock-started" in events
    api.clock.at = MONDAY + timedelta(hours=1)
    try:
        with api.client("contoso_admin") as c:
            r = c.post(
                base + "/messages", json={"body": "Here it is", "diagnostic": "network-trace"}
            )  # a customer asks nothing
            assert r.status_code == 403 and "only provider engineers ask" in r.json()["detail"]
            up = c.post(
                base + "/attachments",
                files=[("files", ("trace.pcap", b"\xd4\xc3\xb2\xa1", "application/octet-stream"))],
            )
            assert up.status_code == 201, up.text
            r = c.post(base + "/messages", json={"body": "Here it is", "attachments": [up.json()["items"][0]["id"]]})
            assert r.status_code in (200, 201), r.text
            answered = c.get(base).json()["diagnostic_requests"][0]
        assert (answered["state"], answered["answered_at"], answered["missed"]) == (
            "answered",
            "2026-11-30T11:00:00+01:00",
            False,
        )
    finally:
        api.clock.at = MONDAY


def test_a_diagnostic_request_cannot_be_an_internal_note_or_a_customers():
    with pytest.raises(ValueError):
        MessageIn(body="x", diagnostic="a-guess")
    assert CommunicationIn(medium="phone", body="asked by phone", diagnostic="error-capture").diagnostic == (
        DiagnosticActivity.ERROR_CAPTURE
    )


def test_an_internal_note_asks_for_no_diagnostic(api):
    with api.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=OPENING).json()
    with api.client("engineer") as c:
        r = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"visibility": "internal", "body": "x", "diagnostic": "new-version"},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "diagnostic"
    with api.client("fabrikam_admin") as c:
        assert c.get(f"/api/v1/incidents/{incident['id']}").status_code == 404
