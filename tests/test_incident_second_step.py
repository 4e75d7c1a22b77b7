"""Issue 12 through the API (uvicorn on loopback), on SQLite and PostgreSQL: what happens
to an incident after its opening. A call logged after the fact is the first response at
its own time and corrects the breach, also one already mailed (R-SEV-2, R-SLA-1); a
severity change brings what the new severity's plans bring (R-INC-2, R-INC-3); history
gets only the plans then in force (R-ORD-2); a late customer answer is a miss (R-SLA-4,
R-SEV-3); the Azure Events post-event summary has its route (R-EVT-1)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from api_server import EXAMPLES, start, stop
from test_notifications import mailer, smtp_server  # noqa: F401  (fixtures)

from unisupport.orders.validation import read_order_document
from unisupport.worker import run_once

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = datetime(2026, 11, 25, 11, 30, tzinfo=PARIS)


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), WEDNESDAY)
    yield server
    stop(uv, thread, server)


def at(api, hour: int, minute: int = 0, day: int = 25) -> None:
    api.clock.at = datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def open_incident(api, who="contoso_admin", **fields) -> dict:
    body = {
        "site": "paris",
        "product": "dynamics-365",
        "severity": "A",
        "title": "Order entry down",
        "business_impact": "Orders cannot be taken",
    } | fields
    r = api.client(who).post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def post(api, who: str, path: str, body: dict) -> dict:
    r = api.client(who).post(path, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def communicate(api, incident_id: int, medium: str, body: str, *, who="engineer", **fields) -> dict:
    """Log a communication (``at``: logged after the fact)."""
    path = f"/api/v1/incidents/{incident_id}/communications"
    return post(api, who, path, {"medium": medium, "body": body} | fields)


def incident(api, incident_id: int, who="engineer") -> dict:
    return api.client(who).get(f"/api/v1/incidents/{incident_id}").json()


def timeline(api, incident_id: int) -> list[dict]:
    return api.client("engineer").get(f"/api/v1/incidents/{incident_id}/events").json()


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]


# ------------------------------------------------------------------ 1. R-SEV-2: a call logged after the fact
def test_a_call_logged_after_a_late_email_is_the_first_response_at_its_own_time(api):
    at(api, 11, 30)
    opened = open_incident(api)  # UER Sev A: 30 minutes, due 12:00
    assert opened["first_response"]["due"] == "2026-11-25T12:00:00+01:00"
    at(api, 12, 30)
    communicate(api, opened["id"], "email", "Hello")
    late = incident(api, opened["id"])["first_response"]
    assert (late["state"], late["responded_at"], late["breached_at"]) == (
        "late",
        "2026-11-25T12:30:00+01:00",
        "2026-11-25T12:00:00+01:00",
    )

    at(api, 12, 45)
    communicate(api, opened["id"], "phone", "Called Marie at 11:40", at="2026-11-25T11:40:00+01:00")
    fr = incident(api, opened["id"])["first_response"]
    assert (fr["state"], fr["responded_at"], fr["breached_at"]) == ("met", "2026-11-25T11:40:00+01:00", None)
    comms = api.client("engineer").get(f"/api/v1/incidents/{opened['id']}/communications").json()
    assert [(c["medium"], c["first_response"]) for c in comms if not c["automated"]] == [
        ("phone", True),
        ("email", False),
    ]
    events = timeline(api, opened["id"])
    withdrawn = [e for e in events if e["kind"] == "breach-withdrawn"]
    assert len(withdrawn) == 1 and withdrawn[0]["rule"] == "R-SLA-1"
    assert withdrawn[0]["before"] == {"breached_at": "2026-11-25T11:00:00+00:00"} and withdrawn[0]["after"] == {
        "breached_at": None
    }
    first = [e for e in events if e["kind"] == "first-response"]
    assert [e["after"]["state"] for e in first] == ["met", "late"]  # in time order: the call, then the e-mail
    assert first[0]["at"] == "2026-11-25T11:40:00+01:00" and "logged after the fact" in first[0]["reason"]


def test_a_call_logged_after_the_fact_earlier_than_a_timely_email_moves_the_first_response(api):
    at(api, 11, 30)
    opened = open_incident(api)
    at(api, 11, 50)
    communicate(api, opened["id"], "email", "Hi")
    at(api, 11, 55)
    communicate(api, opened["id"], "phone", "Called", at="2026-11-25T11:35:00+01:00")
    fr = incident(api, opened["id"])["first_response"]
    assert (fr["state"], fr["responded_at"], fr["breached_at"]) == ("met", "2026-11-25T11:35:00+01:00", None)
    # A later call logged after the fact changes nothing.
    communicate(api, opened["id"], "phone", "Called again", at="2026-11-25T11:45:00+01:00")
    assert incident(api, opened["id"])["first_response"]["responded_at"] == "2026-11-25T11:35:00+01:00"
    assert kinds(timeline(api, opened["id"])).count("first-response") == 2


def test_a_breach_already_mailed_is_corrected_to_the_same_people(api, mailer, smtp_server):  # noqa: F811
    at(api, 11, 30, day=26)
    opened = open_incident(api, title="Breach mailed then withdrawn")
    number = f"INC-{opened['id']:06d}"
    at(api, 12, 5, day=26)
    run_once(api.database, mailer, clock=api.clock, name="w1")  # the breach: team, contact, incident managers
    breach = Counter(m["To"] for m in smtp_server.messages if number in m["Subject"] and "received" not in m["Subject"])
    assert breach == Counter(
        {"engineer@provider.example": 1, "marie.dupont@contoso.example": 1, "im@provider.example": 1}
    )
    assert incident(api, opened["id"])["first_response"]["state"] == "breached"

    at(api, 12, 10, day=26)
    communicate(api, opened["id"], "phone", "Called at 11:50", at="2026-11-26T11:50:00+01:00")
    fr = incident(api, opened["id"])["first_response"]
    assert (fr["state"], fr["breached_at"]) == ("met", None)
    before = len(smtp_server.messages)
    run_once(api.database, mailer, clock=api.clock, name="w1")
    corrections = [m for m in smtp_server.messages[before:] if number in m["Subject"]]
    assert sorted(m["To"] for m in corrections) == sorted(breach)
    english = next(m for m in corrections if m["To"] == "engineer@provider.example")
    assert "withdrawn" in english["Subject"].lower() and "11:50" in english.get_content()
    about = len([m for m in smtp_server.messages if number in m["Subject"]])
    run_once(api.database, mailer, clock=api.clock, name="w1")  # once
    assert len([m for m in smtp_server.messages if number in m["Subject"]]) == about
    withdrawn = [e for e in timeline(api, opened["id"]) if e["kind"] == "breach-withdrawn"]
    assert len(withdrawn) == 1 and "mailed" in withdrawn[0]["reason"]


# ------------------------------------------------------------------ 2. R-INC-2, R-INC-3: what an upgrade brings
def _roles(view: dict) -> set[str]:
    return {a["role"] for a in view["assignments"] if a["automatic"]}


def test_an_upgrade_to_sev_a_under_uer_assigns_what_opening_at_sev_a_assigns(api):
    at(api, 10, 0, day=24)
    direct = open_incident(api, severity="A")
    upgraded = open_incident(api, severity="B")
    assert _roles(upgraded) == set()
    at(api, 10, 10, day=24)
    after = post(
        api, "engineer", f"/api/v1/incidents/{upgraded['id']}/severity", {"severity": "A", "reason": "now blocking"}
    )["incident"]
    assert _roles(after) == _roles(direct) == {"eim", "senior-incident-manager", "critical-situation-supervisor"}
    assert after["routing"]["roles"] == direct["routing"]["roles"]
    assert after["escalation"]["enhanced"] and after["escalation"]["since"] == "2026-11-24T10:10:00+01:00"
    assigned = [e for e in timeline(api, upgraded["id"]) if e["kind"] == "role-assigned"]
    assert sorted(e["after"]["role"] for e in assigned) == sorted(_roles(direct))
    assert {(e["rule"], e["at"]) for e in assigned} == {("R-INC-3", "2026-11-24T10:10:00+01:00")}

    # Sev A → 1: the critical situation manager comes; nobody is assigned twice.
    at(api, 10, 20, day=24)
    worse = post(
        api, "engineer", f"/api/v1/incidents/{upgraded['id']}/severity", {"severity": "1", "reason": "site down"}
    )["incident"]
    opened_at_1 = open_incident(api, severity="1")
    assert _roles(worse) == _roles(opened_at_1) | {"critical-situation-supervisor"}
    assert Counter(a["role"] for a in worse["assignments"])["eim"] == 1


def test_a_base_package_upgrade_from_b_to_1_assigns_the_critical_situation_manager(api):
    at(api, 10, 0, day=24)
    body = {"site": "seattle", "product": "exchange-online", "title": "Mail down", "business_impact": "No mail"}
    direct = open_incident(api, who="fabrikam_admin", severity="1", **body)
    upgraded = open_incident(api, who="fabrikam_admin", severity="B", **body)
    at(api, 10, 5, day=24)
    after = post(
        api, "engineer", f"/api/v1/incidents/{upgraded['id']}/severity", {"severity": "1", "reason": "all mail down"}
    )["incident"]
    assert _roles(after) == _roles(direct) == {"critical-situation-manager"}
    assert after["escalation"]["enhanced"]
    events = timeline(api, upgraded["id"])
    assert [e["after"]["role"] for e in events if e["kind"] == "role-assigned"] == ["critical-situation-manager"]
    assert kinds(events).count("escalated") == 1


# ------------------------------------------------------------------ 3. R-ORD-2: history gets the plans then in force
def import_history(api, opened_at: str, *, order="ESO-2026-0042", contact="marie.dupont@contoso.example", site="paris"):
    """An admin importing an incident of the past (``opened_at``)."""
    body = {"order": order, "contact": contact, "site": site, "product": "dynamics-365", "severity": "A"}
    body |= {"title": "Imported from the old tool", "business_impact": "b", "opened_at": opened_at}
    return api.client("admin").post("/api/v1/incidents", json=body)


def test_an_opening_before_the_orders_term_is_refused_naming_the_rule(api):
    at(api, 10, 0, day=24)
    r = import_history(api, "2025-12-15T10:00:00+01:00")
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["rule"] == "R-ORD-2" and problem["errors"][0]["path"] == "opened_at"
    assert "2026-01-01" in problem["detail"]


def test_history_within_the_term_gets_only_the_lines_then_in_force(api):
    """Northwind's order runs from April 2026; its UER line starts on 1 October."""
    document = read_order_document(EXAMPLES / "fabrikam-single-site.yaml")
    document["number"] = "ESO-2026-0999"
    document["customer"] = {"code": "northwind", "name": "Northwind Traders"}
    document["contacts"] = [
        {"email": "nina@northwind.example", "name": "Nina", "roles": ["support-administrator", "reactive-contact"]}
    ]
    document["lines"].append(
        {
            "id": "uer",
            "service": "unified-enhanced-response",
            "quantity": 1,
            "unit": "annual",
            "price": 90000.00,
            "start": "2026-10-01",
            "end": "2027-03-31",
        }
    )
    r = api.client("admin").post("/api/v1/orders", json=document)
    assert r.status_code == 201, r.text

    def opened_at(when: str) -> dict:
        r = import_history(api, when, order="ESO-2026-0999", contact="nina@northwind.example", site="seattle")
        assert r.status_code == 201, r.text
        return r.json()

    before = opened_at("2026-06-01T10:00:00-07:00")
    assert (before["first_response"]["target_minutes"], before["first_response"]["plan"]) == (60, "base")
    assert "eim" not in _roles(before)
    assert "unified-enhanced-response" not in {c["plan"] for c in before["first_response"]["explanation"]["considered"]}
    during = opened_at("2026-10-15T10:00:00-07:00")
    assert (during["first_response"]["target_minutes"], during["first_response"]["plan"]) == (
        30,
        "unified-enhanced-response",
    )
    assert "eim" in _roles(during)


# ------------------------------------------------------------------ 4. R-SLA-4: a late customer answer is a miss
def _ask_for_approval(api) -> tuple[dict, dict]:
    at(api, 10, 0, day=23)  # Monday
    opened = open_incident(api, product="exchange-online", severity="B")
    at(api, 10, 30, day=23)
    asked = communicate(api, opened["id"], "email", "Please approve the change", requests_customer_action=True)
    asked = asked["communication"]
    assert asked["customer_response_due"] == "2026-11-23T14:30:00+01:00"  # Sev B: 4 business hours
    return opened, asked


def _answer_late(api, opened: dict) -> dict:
    at(api, 15, 0, day=23)  # 30 minutes late
    communicate(api, opened["id"], "portal", "OK", who="contoso_admin")
    return incident(api, opened["id"])


@pytest.mark.parametrize("watcher_first", [False, True], ids=["answer-only", "watcher-then-answer"])
def test_a_late_customer_answer_is_a_recorded_miss_that_grounds_a_downgrade(api, watcher_first):
    opened, asked = _ask_for_approval(api)
    if watcher_first:
        at(api, 14, 35, day=23)
        run_once(api.database, None, clock=api.clock, name="w1")
    view = _answer_late(api, opened)
    assert view["customer_misses"] == 1
    assert view["customer_side"] == [
        {
            "communication": asked["id"],
            "asked_at": "2026-11-23T10:30:00+01:00",
            "due": "2026-11-23T14:30:00+01:00",
            "answered_at": "2026-11-23T15:00:00+01:00",
            "missed": True,
            "rule": "R-SLA-4",
        }
    ]
    events = timeline(api, opened["id"])
    [responded] = [e for e in events if e["kind"] == "customer-responded"]
    assert responded["after"]["late"] is True and responded["after"]["due"] == "2026-11-23T13:30:00+00:00"
    [missed] = [e for e in events if e["kind"] == "customer-response-missed"]
    assert missed["at"] == "2026-11-23T14:30:00+01:00" and missed["rule"] == "R-SLA-4"
    at(api, 15, 10, day=23)
    downgraded = post(
        api,
        "engineer",
        f"/api/v1/incidents/{opened['id']}/severity",
        {"severity": "C", "reason": "no approval in time", "grounds": "customer-response-missed"},
    )["incident"]
    assert downgraded["severity"] == "C"


def test_an_answer_in_time_is_no_miss(api):
    opened, _asked = _ask_for_approval(api)
    at(api, 14, 30, day=23)
    communicate(api, opened["id"], "portal", "OK", who="contoso_admin")
    view = incident(api, opened["id"])
    assert view["customer_misses"] == 0 and view["customer_side"] == []
    [responded] = [e for e in timeline(api, opened["id"]) if e["kind"] == "customer-responded"]
    assert responded["after"]["late"] is False


# ------------------------------------------------------------------ 6. R-EVT-1: the post-event summary
def test_the_post_event_summary_has_its_route_within_the_tenant_scope(api):
    api.clock.at = datetime(2026, 11, 27, 20, 0, tzinfo=PARIS)
    case = open_incident(
        api, product="azure-app-service", severity="1", title="Checkout down", description="AEM checkout"
    )
    path = "/api/v1/orders/ESO-2026-0042/events/black-friday-2026/summary"
    r = api.client("csam").get(path)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["rule"] == "R-EVT-1" and summary["event"] == "black-friday-2026"
    assert str(case["id"]) in [c["id"] for c in summary["cases"]] and summary["all_resolved"] is False
    assert datetime.fromisoformat(summary["window_start"]) == datetime(2026, 11, 23, 0, 0, tzinfo=PARIS)
    assert api.client("csam_other").get(path).status_code == 404
    assert api.client("fabrikam_admin").get(path).status_code == 404
    missing = api.client("csam").get("/api/v1/orders/ESO-2026-0042/events/no-such-event/summary")
    assert missing.status_code == 404 and "no-such-event" in missing.json()["detail"]
    assert api.client("contoso_admin").get(path).status_code == 200
    assert datetime.fromisoformat(summary["window_end"]) == datetime(2026, 11, 28, 0, 0, tzinfo=PARIS)
