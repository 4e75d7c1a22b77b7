"""Supported products (R-SUP-1): the order file's annex A (enrolments, licence agreements,
billing account ids, each with the products it covers) validated with the field's path
and the rule; an incident for a product none covers is opened but flagged with why, and
the engineer's outcome is an audited event; an order without annex A is not checked.
On SQLite and PostgreSQL, and over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_server import start, stop
from sqlalchemy import select

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import Refused
from unisupport.incidents.requests import EntitlementCheckIn, IncidentIn
from unisupport.incidents.supported_products import entitlement_check
from unisupport.orders.order_file import OrderFile
from unisupport.orders.validation import read_order_document, validate_order
from unisupport.services import incidents as svc
from unisupport.services.incidents.entitlement import record_entitlement_check
from unisupport.services.orders import import_order
from unisupport.storage.tables import AuditEvent, CustomerRow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
CONTOSO = EXAMPLES / "contoso-multicountry.yaml"
PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)
ANNEX_A = {
    "enrolments": [{"id": "EA-8812345", "products": ["exchange-online", "sharepoint-online"]}],
    "licence_agreements": [{"id": "MLA-2024-017", "products": ["dynamics-365"]}],
    "billing_accounts": [{"id": "BA-99-0042", "products": ["azure-sql-database"]}],
}


def contoso(annex: Any = None) -> dict[str, Any]:
    document = read_order_document(CONTOSO)
    if annex is not None:
        document["annex_a"] = annex
    return document


def errors(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v.rule, v.path) for v in validate_order(document) if v.severity == "error"}


# ------------------------------------------------------------------ the order file


def test_an_annex_a_that_lists_known_products_is_valid():
    assert errors(contoso(ANNEX_A)) == set()
    assert OrderFile.model_validate(contoso(ANNEX_A)).annex_a.billing_accounts[0].id == "BA-99-0042"


def test_an_order_without_annex_a_keeps_its_canonical_form():
    """Orders imported before annex A existed keep their hash: no ``annex_a`` key when absent."""
    assert "annex_a" not in OrderFile.model_validate(contoso()).canonical()
    assert OrderFile.model_validate(contoso(ANNEX_A)).canonical()["annex_a"]["enrolments"][0]["id"] == "EA-8812345"


def test_an_unknown_product_names_its_path_and_r_sup_1():
    annex = {"enrolments": [{"id": "EA-1", "products": ["exchange-online", "exchange-onlin"]}]}
    violations = [v for v in validate_order(contoso(annex)) if v.rule == "R-SUP-1"]
    assert [(v.path, v.severity) for v in violations] == [("annex_a.enrolments[0].products[1]", "error")]
    assert "Unknown product 'exchange-onlin'" in violations[0].message and "exchange-online" in violations[0].message


def test_an_entitlement_listed_twice_or_covering_nothing_is_refused_r_sup_1():
    annex = {
        "billing_accounts": [
            {"id": "BA-1", "products": ["azure-storage"]},
            {"id": "ba-1", "products": ["azure-sql-database"]},
            {"id": "BA-2"},
        ]
    }
    assert errors(contoso(annex)) == {
        ("R-SUP-1", "annex_a.billing_accounts[1].id"),
        ("R-SUP-1", "annex_a.billing_accounts[2].products"),
    }


def test_an_empty_annex_a_is_refused_r_sup_1():
    assert errors(contoso({})) == {("R-SUP-1", "annex_a")}


@pytest.mark.parametrize(
    ("annex", "path"),
    [
        ({"enrolment": []}, "annex_a.enrolment"),  # a misspelt key
        ({"enrolments": [{"products": ["teams"]}]}, "annex_a.enrolments[0].id"),  # no id
        ({"enrolments": [{"id": "", "products": ["teams"]}]}, "annex_a.enrolments[0].id"),
        (
            {"licence_agreements": [{"id": "L", "products": ["Not A Code"]}]},
            "annex_a.licence_agreements[0].products[0]",
        ),
        ({"enrolments": "EA-1"}, "annex_a.enrolments"),
    ],
)
def test_structural_errors_of_annex_a_name_their_path(annex, path):
    assert ("R-ORD-1", path) in errors(contoso(annex))


def test_the_check_is_a_scan_of_the_document():
    document = OrderFile.model_validate(contoso(ANNEX_A)).canonical()
    assert entitlement_check(document, "dynamics-365") == {
        "state": "covered",
        "by": ["licence agreement MLA-2024-017"],
        "rule": "R-SUP-1",
    }
    flagged = entitlement_check(document, "azure-storage")
    assert flagged["state"] == "to-check" and "covers azure-storage" in flagged["reason"]
    assert flagged["listed"] == ["enrolment EA-8812345", "licence agreement MLA-2024-017", "billing account BA-99-0042"]
    assert entitlement_check(OrderFile.model_validate(contoso()).canonical(), "azure-storage") is None


# ------------------------------------------------------------------ incidents


@pytest.fixture
def marie(session):
    import_order(session, contoso(ANNEX_A), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
    )


def _open(session, who, product):
    data = IncidentIn(site="paris", product=product, severity="B", title="t", business_impact="b")
    return svc.open_incident(session, who, data, now=MONDAY)


def test_an_uncovered_product_is_opened_but_flagged_with_why(session, marie):
    incident = _open(session, marie, "azure-storage")
    assert incident.status == "open" and incident.entitlement["state"] == "to-check"
    view = svc.incident_view(session, incident, now=MONDAY)
    assert view["entitlement"]["reason"].startswith("no enrolment, licence agreement or billing account")
    flagged = [e for e in svc.timeline(session, ENGINEER, incident.id) if e.kind == "entitlement-flagged"]
    assert [(e.rule, e.actor) for e in flagged] == [("R-SUP-1", "system")]
    covered = _open(session, marie, "exchange-online")
    assert covered.entitlement == {"state": "covered", "by": ["enrolment EA-8812345"], "rule": "R-SUP-1"}
    assert not [e for e in svc.timeline(session, ENGINEER, covered.id) if e.kind == "entitlement-flagged"]


def test_the_engineer_records_the_outcome_as_an_audited_event(session, marie):
    incident = _open(session, marie, "azure-storage")
    with pytest.raises(Forbidden):
        record_entitlement_check(
            session, marie, incident.id, EntitlementCheckIn(outcome="covered"), now=MONDAY + timedelta(minutes=5)
        )
    record_entitlement_check(
        session,
        ENGINEER,
        incident.id,
        EntitlementCheckIn(outcome="covered", note="enrolment EA-8812346 signed last week, annex A not yet amended"),
        now=MONDAY + timedelta(minutes=5),
    )
    assert incident.entitlement["state"] == "checked" and incident.entitlement["outcome"] == "covered"
    assert incident.entitlement["checked_by"] == ENGINEER.email
    event = next(e for e in svc.timeline(session, ENGINEER, incident.id) if e.kind == "entitlement-checked")
    assert (event.rule, event.before["state"], event.after["outcome"]) == ("R-SUP-1", "to-check", "covered")
    audited = session.scalar(select(AuditEvent).where(AuditEvent.tag == "entitlement-checked"))
    assert (audited.subject_id, audited.rule, audited.actor) == (incident.id, "R-SUP-1", ENGINEER.email)


def test_nothing_to_check_is_refused_naming_r_sup_1(session, marie):
    covered = _open(session, marie, "exchange-online")
    with pytest.raises(Refused) as refused:
        record_entitlement_check(session, ENGINEER, covered.id, EntitlementCheckIn(outcome="not-covered"), now=MONDAY)
    assert refused.value.rule == "R-SUP-1"


# ------------------------------------------------------------------ over HTTP


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY)
    yield server
    stop(uv, thread, server)


def test_the_api_flags_and_records_the_outcome(api):
    opening = {"site": "paris", "product": "azure-storage", "severity": "B", "title": "t", "business_impact": "b"}
    with api.client("contoso_admin") as c:
        before = c.post("/api/v1/incidents", json=opening).json()
    assert before["entitlement"] is None  # the example as loaded has no annex A: no check
    with api.client("admin") as c:
        r = c.post("/api/v1/orders/validation", json=contoso({"enrolments": [{"id": "E", "products": ["nope"]}]}))
        assert r.status_code == 200 and not r.json()["valid"]
        assert {"rule": "R-SUP-1", "path": "annex_a.enrolments[0].products[0]"}.items() <= r.json()["violations"][
            0
        ].items()
        r = c.post("/api/v1/orders", json=contoso(ANNEX_A), params={"reason": "annex A signed"})
        assert r.status_code == 200, r.text
    with api.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=opening).json()
    assert incident["status"] == "open" and incident["entitlement"]["state"] == "to-check"
    url = f"/api/v1/incidents/{incident['id']}/entitlement-check"
    with api.client("fabrikam_admin") as c:
        assert c.post(url, json={"outcome": "covered"}).status_code == 404
    with api.client("contoso_admin") as c:
        assert c.post(url, json={"outcome": "covered"}).status_code == 403
    with api.client("engineer") as c:
        r = c.post(url, json={"outcome": "maybe"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "outcome"
        r = c.post(url, json={"outcome": "not-covered", "note": "the account team is told"})
        assert r.status_code == 200, r.text
        assert r.json()["incident"]["entitlement"]["outcome"] == "not-covered"
        r = c.post(f"/api/v1/incidents/{before['id']}/entitlement-check", json={"outcome": "covered"})
        assert r.status_code == 409 and r.json()["rule"] == "R-SUP-1"
