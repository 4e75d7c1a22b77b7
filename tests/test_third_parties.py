"""Third-party collaboration on request (R-INC-4), on SQLite and PostgreSQL: the
customer asks, the provider engages the vendor (never on its own initiative), the
vendor remains responsible for its product; each step is on the timeline with the
rule; and the same over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from api_server import start, stop
from sqlalchemy import select

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.requests import (
    ClosureIn,
    CollaborationEndIn,
    EngagementIn,
    IncidentIn,
    ThirdPartyIn,
)
from unisupport.incidents.third_party import vendor_key
from unisupport.orders.validation import read_order_document
from unisupport.refusal import Refused
from unisupport.services import incidents as svc
from unisupport.services import third_parties as tp
from unisupport.services.orders import import_order
from unisupport.storage.base import Base
from unisupport.storage.tables import CustomerRow

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER)


@pytest.fixture
def marie(session):
    import_order(session, read_order_document(CONTOSO), actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == "contoso"))
    return Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer.id
    )


@pytest.fixture
def incident(session, marie):
    return svc.open_incident(
        session,
        marie,
        IncidentIn(site="paris", product="exchange-online", severity="B", title="Mail flow", business_impact="b"),
        now=MONDAY,
    )


def test_the_customer_asks_the_provider_engages_then_ends(session, marie, incident):
    asked = tp.request_collaboration(
        session,
        marie,
        incident.id,
        ThirdPartyIn(vendor="  Contoso   SAN Vendor ", product="Array X"),
        now=MONDAY + timedelta(minutes=5),
    )
    assert (asked.vendor, asked.status, asked.requested_by) == ("Contoso SAN Vendor", "requested", marie.email)
    # Asking again (another spelling) is the same request.
    again = tp.request_collaboration(
        session, marie, incident.id, ThirdPartyIn(vendor="contoso san vendor"), now=MONDAY + timedelta(minutes=6)
    )
    assert again.id == asked.id
    engaged = tp.engage(
        session,
        ENGINEER,
        incident.id,
        asked.id,
        EngagementIn(vendor_reference="SR-4711"),
        now=MONDAY + timedelta(hours=1),
    )
    assert (engaged.status, engaged.vendor_reference, engaged.engaged_by) == ("engaged", "SR-4711", ENGINEER.email)
    with pytest.raises(Refused) as refused:
        tp.engage(session, ENGINEER, incident.id, asked.id, EngagementIn(), now=MONDAY + timedelta(hours=2))
    assert refused.value.rule == "R-INC-4"
    tp.end(
        session,
        ENGINEER,
        incident.id,
        asked.id,
        CollaborationEndIn(note="vendor replaced the controller"),
        now=MONDAY + timedelta(hours=3),
    )

    view = svc.incident_view(session, incident, now=MONDAY + timedelta(hours=3))
    [shown] = view["third_parties"]
    assert shown["status"] == "ended" and shown["vendor_reference"] == "SR-4711" and shown["rule"] == "R-INC-4"
    assert (
        shown["engaged_at"] == "2026-11-30T11:00:00+01:00"
        and "remains responsible for its product" in shown["responsibility"]
    )
    events = [
        (e.kind, e.rule, e.actor) for e in svc.timeline(session, marie, incident.id) if e.kind.startswith("third-party")
    ]
    assert events == [
        ("third-party-requested", "R-INC-4", marie.email),
        ("third-party-engaged", "R-INC-4", ENGINEER.email),
        ("third-party-ended", "R-INC-4", ENGINEER.email),
    ]
    assert view["version"] == 4  # opening, request, engagement, end: the repeated request changed nothing

    # Ended: asked anew, it starts over as a new request.
    anew = tp.request_collaboration(
        session, marie, incident.id, ThirdPartyIn(vendor="Contoso SAN vendor"), now=MONDAY + timedelta(hours=4)
    )
    assert anew.id == asked.id and (anew.status, anew.vendor_reference, anew.ended_at) == ("requested", None, None)


def test_the_provider_never_engages_a_vendor_nobody_asked_for(session, marie, incident):
    with pytest.raises(NotFound) as missing:
        tp.engage(session, ENGINEER, incident.id, 999_999, EngagementIn(), now=MONDAY)
    assert missing.value.field == "collaboration"
    asked = tp.request_collaboration(session, marie, incident.id, ThirdPartyIn(vendor="ISV"), now=MONDAY)
    with pytest.raises(Forbidden):
        tp.engage(
            session, marie, incident.id, asked.id, EngagementIn(), now=MONDAY
        )  # the customer cannot engage for the provider
    csam = Principal(
        user_id=3, email="csam@provider.example", role=Role.CSAM, assigned_customers=frozenset({incident.customer_id})
    )
    with pytest.raises(Forbidden):
        tp.request_collaboration(session, csam, incident.id, ThirdPartyIn(vendor="ISV"), now=MONDAY)


def test_a_provider_engineer_records_a_request_made_by_phone(session, marie, incident):
    row = tp.request_collaboration(session, ENGINEER, incident.id, ThirdPartyIn(vendor="Identity Co"), now=MONDAY)
    [event] = [e for e in svc.timeline(session, marie, incident.id) if e.kind == "third-party-requested"]
    assert row.requested_by == ENGINEER.email and "at the customer's request" in event.reason


def test_the_customer_withdraws_a_request_and_nothing_is_asked_on_a_closed_incident(session, marie, incident):
    asked = tp.request_collaboration(session, marie, incident.id, ThirdPartyIn(vendor="ISV"), now=MONDAY)
    assert tp.end(session, marie, incident.id, asked.id, CollaborationEndIn(), now=MONDAY).status == "ended"
    with pytest.raises(Refused) as refused:
        tp.end(session, marie, incident.id, asked.id, CollaborationEndIn(), now=MONDAY)
    assert refused.value.rule == "R-INC-4"
    svc.close(session, ENGINEER, incident.id, ClosureIn(summary="done"), now=MONDAY + timedelta(hours=1))
    with pytest.raises(Refused) as refused:
        tp.request_collaboration(
            session, marie, incident.id, ThirdPartyIn(vendor="Other"), now=MONDAY + timedelta(hours=2)
        )
    assert refused.value.rule == "R-INC-1"


def test_another_tenant_cannot_see_or_touch_the_collaboration(session, marie, incident):
    asked = tp.request_collaboration(session, marie, incident.id, ThirdPartyIn(vendor="ISV"), now=MONDAY)
    stranger = Principal(
        user_id=50,
        email="alex@fabrikam.example",
        role=Role.SUPPORT_ADMINISTRATOR,
        customer_id=incident.customer_id + 1000,
    )
    for action in (
        lambda: tp.request_collaboration(session, stranger, incident.id, ThirdPartyIn(vendor="x"), now=MONDAY),
        lambda: tp.end(session, stranger, incident.id, asked.id, CollaborationEndIn(), now=MONDAY),
    ):
        with pytest.raises(NotFound):
            action()


def test_a_blank_vendor_names_its_field():
    with pytest.raises(ValueError):
        ThirdPartyIn(vendor="")
    assert vendor_key(" Big   Vendor ") == vendor_key("big vendor")


def test_blank_after_trimming_is_refused(session, marie, incident):
    with pytest.raises(InvalidInput) as error:
        tp.request_collaboration(session, marie, incident.id, ThirdPartyIn(vendor="   "), now=MONDAY)
    assert error.value.field == "vendor"


def test_the_migration_matches_the_table(engine):
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert [d for d in differences if "incident_third_parties" in repr(d)] == []


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY)
    yield server
    stop(uv, thread, server)


def test_the_api_asks_engages_and_refuses_with_the_rule(api):
    with api.client("contoso_admin") as c:
        incident = c.post(
            "/api/v1/incidents",
            json={"site": "paris", "product": "exchange-online", "severity": "B", "title": "t", "business_impact": "b"},
        ).json()
        r = c.post(
            f"/api/v1/incidents/{incident['id']}/third-parties", json={"vendor": "Storage Vendor", "product": "SAN"}
        )
        assert r.status_code == 200, r.text
        asked = r.json()["third_party"]
        assert asked["status"] == "requested" and r.json()["incident"]["third_parties"][0]["id"] == asked["id"]
        r = c.post(f"/api/v1/incidents/{incident['id']}/third-parties/{asked['id']}/engagement", json={})
        assert r.status_code == 403 and "engage third parties" in r.json()["detail"]
        r = c.post(f"/api/v1/incidents/{incident['id']}/third-parties", json={"vendor": ""})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "vendor"
    with api.client("engineer") as c:
        url = f"/api/v1/incidents/{incident['id']}/third-parties/{asked['id']}/engagement"
        r = c.post(url, json={"vendor_reference": "SR-1"})
        assert r.status_code == 200 and r.json()["third_party"]["vendor_reference"] == "SR-1"
        r = c.post(url, json={})
        assert r.status_code == 409 and r.json()["rule"] == "R-INC-4"
        r = c.post(f"/api/v1/incidents/{incident['id']}/third-parties/999999/end", json={})
        assert r.status_code == 404 and "no third-party collaboration 999999" in r.json()["detail"]
    with api.client("fabrikam_admin") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/third-parties", json={"vendor": "x"}).status_code == 404
