"""Platform outage communications for MCSAP Plus (R-MCSAP-5), on SQLite and
PostgreSQL: who is told (Plus customers whose enrolled products are affected), why
the others are not, to which pre-identified contacts, in their language — mailed
through a real SMTP server — and the same over real HTTP."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from api_server import start, stop
from sqlalchemy import select
from test_notifications import MAIL_FROM, mailer, smtp_server  # noqa: F401  (fixtures)

from unisupport.access import Forbidden, Principal, Role
from unisupport.clock import FixedClock
from unisupport.errors import InvalidInput, NotFound
from unisupport.mission_critical.platform_outage import (
    McsapHolder,
    OutageIn,
    OutageNoticeIn,
    decide,
)
from unisupport.orders.validation import read_order_document, validate_order
from unisupport.refusal import Refused
from unisupport.services import platform_outages as svc
from unisupport.services.orders import import_order
from unisupport.storage.base import Base
from unisupport.storage.tables import CustomerRow, OutboxRow
from unisupport.worker import run_once

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
IM = Principal(user_id=4, email="im@provider.example", role=Role.INCIDENT_MANAGER)
STORAGE = OutageIn(
    reference="VN4S-1Z8",
    title="Storage degraded in West Europe",
    products=["azure-storage"],
    regions=["West Europe"],
    message="Writes are slow; a fix is being deployed.",
)


def northwind() -> dict:
    """Contoso's order as another customer holding MCSAP without Plus."""
    doc = copy.deepcopy(read_order_document(CONTOSO))
    doc["customer"] = {"code": "northwind", "name": "Northwind Traders"}
    doc["number"] = "ESO-2026-0099"
    for line in doc["lines"]:
        if line["service"] == "mcsap-plus":
            line["service"], line["id"] = "mcsap", "mcsap"
    for contact in doc["contacts"]:
        contact["email"] = contact["email"].replace("contoso", "northwind")
        contact["roles"] = [r for r in contact["roles"] if r != "outage-contact"]
    return doc


# --- the decision, pure ------------------------------------------------------------------
@pytest.mark.parametrize(
    "holder, products, notified, affected, why",
    [
        (
            McsapHolder("a", "o", False, frozenset({"azure-storage"}), ("x@a.example",)),
            ["azure-storage"],
            False,
            (),
            "without Plus",
        ),
        (
            McsapHolder("a", "o", True, frozenset({"azure-storage"}), ("x@a.example",)),
            ["azure-cosmos-db"],
            False,
            (),
            "none of the products",
        ),
        (
            McsapHolder("a", "o", True, frozenset({"azure-storage", "azure-sql-database"}), ("x@a.example",)),
            ["azure-storage", "azure-cosmos-db"],
            True,
            ("azure-storage",),
            "its enrolled products are affected",
        ),
        (
            McsapHolder("a", "o", True, frozenset({"azure-storage"}), ("x@a.example",)),
            [],
            True,
            ("azure-storage",),
            "affected",
        ),
        (
            McsapHolder("a", "o", True, frozenset(), ("x@a.example",)),
            ["azure-cosmos-db"],
            True,
            ("azure-cosmos-db",),
            "affected",
        ),
        (McsapHolder("a", "o", True, frozenset(), ("x@a.example",)), [], True, (), "the whole platform"),
        (
            McsapHolder("a", "o", True, frozenset({"azure-storage"}), ()),
            ["azure-storage"],
            False,
            ("azure-storage",),
            "outage-contact",
        ),
    ],
)
def test_who_is_told_and_why(holder, products, notified, affected, why):
    decision = decide(holder, products)
    assert (decision.notified, decision.affected_products) == (notified, affected)
    assert why in decision.reason and decision.reason_fr and decision.to_dict()["rule"] == "R-MCSAP-5"
    assert decision.contacts == (holder.outage_contacts if notified else ())


def test_an_outage_contact_needs_mcsap_plus_on_the_order():
    doc = northwind()
    doc["contacts"][0]["roles"].append("outage-contact")
    [violation] = [v for v in validate_order(doc) if v.rule == "R-MCSAP-5"]
    assert violation.path == "contacts[0].roles" and "MCSAP Plus" in violation.message


# --- stored ------------------------------------------------------------------------------
@pytest.fixture
def customers(session):
    for doc in (read_order_document(CONTOSO), northwind()):
        import_order(session, doc, actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
    return {c.code: c for c in session.scalars(select(CustomerRow))}


def _outbox(session) -> list[OutboxRow]:
    return list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "outage.notice").order_by(OutboxRow.id)))


def test_the_plus_customer_concerned_is_told_through_its_contacts_and_the_others_are_explained(session, customers):
    outage, notice = svc.declare(session, IM, STORAGE, now=MONDAY)
    decisions = {d["customer"]: d for d in notice.decisions}
    assert decisions["contoso"]["notified"] and decisions["contoso"]["affected_products"] == ["azure-storage"]
    assert decisions["contoso"]["contacts"] == ["cloud-ops@contoso.example", "marie.dupont@contoso.example"]
    assert not decisions["northwind"]["notified"] and "without Plus" in decisions["northwind"]["reason"]
    assert "fabrikam" not in decisions  # no MCSAP at all: not part of the audience
    rows = _outbox(session)
    assert [(r.recipient, r.language, r.not_before) for r in rows] == [
        # At once (MCSAP Plus is 24×7); cloud-ops names no language: the host site's, French.
        ("cloud-ops@contoso.example", "fr", MONDAY),
        ("marie.dupont@contoso.example", "fr", MONDAY),
    ]
    assert rows[1].payload["affected_fr"] == "Stockage Azure" and rows[1].customer_id == customers["contoso"].id
    assert rows[1].dedupe_key == f"platform-outage:{outage.id}:outage.notice:1:marie.dupont@contoso.example"

    svc.post_notice(
        session,
        IM,
        outage.id,
        OutageNoticeIn(message="Fix deployed to half the region."),
        now=MONDAY + timedelta(hours=1),
    )
    svc.post_notice(
        session, IM, outage.id, OutageNoticeIn(message="Resolved.", resolved=True), now=MONDAY + timedelta(hours=2)
    )
    assert [r.payload["notice"] for r in _outbox(session)] == [
        "declared",
        "declared",
        "update",
        "update",
        "resolved",
        "resolved",
    ]
    with pytest.raises(Refused) as refused:
        svc.post_notice(session, IM, outage.id, OutageNoticeIn(message="again"), now=MONDAY + timedelta(hours=3))
    assert refused.value.rule == "R-MCSAP-5"
    view = svc.outage_view(session, IM, outage)
    assert view["status"] == "resolved" and [n["kind"] for n in view["notices"]] == ["declared", "update", "resolved"]


def test_an_outage_of_products_nobody_enrolled_tells_no_one(session, customers):
    _, notice = svc.declare(
        session, IM, STORAGE.model_copy(update={"reference": "COSMOS-1", "products": ["azure-cosmos-db"]}), now=MONDAY
    )
    assert not any(d["notified"] for d in notice.decisions) and _outbox(session) == []
    assert [d.customer for d in svc.audience(session, IM, ["azure-storage"], now=MONDAY) if d.notified] == ["contoso"]


def test_bad_declarations_name_their_field_and_only_incident_managers_declare(session, customers):
    with pytest.raises(InvalidInput) as error:
        svc.declare(
            session, IM, STORAGE.model_copy(update={"products": ["azure-storage", "azure-unicorns"]}), now=MONDAY
        )
    assert error.value.field == "products[1]"
    svc.declare(session, IM, STORAGE, now=MONDAY)
    with pytest.raises(InvalidInput) as error:
        svc.declare(session, IM, STORAGE, now=MONDAY)
    assert error.value.field == "reference"
    with pytest.raises(Forbidden):
        svc.declare(
            session, Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER), STORAGE, now=MONDAY
        )


def test_customers_see_the_outages_they_were_told_of_and_only_their_own_decision(session, customers):
    outage, _ = svc.declare(session, IM, STORAGE, now=MONDAY)
    marie = Principal(
        user_id=10,
        email="marie.dupont@contoso.example",
        role=Role.SUPPORT_ADMINISTRATOR,
        customer_id=customers["contoso"].id,
    )
    north = Principal(
        user_id=11, email="x@northwind.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=customers["northwind"].id
    )
    assert [o.id for o in svc.outages(session, marie)] == [outage.id]
    assert [d["customer"] for d in svc.outage_view(session, marie, outage)["notices"][0]["decisions"]] == ["contoso"]
    assert svc.outages(session, north) == []
    with pytest.raises(NotFound):
        svc.get_outage(session, north, outage.id)
    # A CSAM sees through their customers' eyes (tenant scope).
    csam = Principal(
        user_id=12,
        email="csam@provider.example",
        role=Role.CSAM,
        assigned_customers=frozenset({customers["northwind"].id}),
    )
    assert svc.outages(session, csam) == []
    both = Principal(
        user_id=13,
        email="csam2@provider.example",
        role=Role.CSAM,
        assigned_customers=frozenset({customers["northwind"].id, customers["contoso"].id}),
    )
    assert [d["customer"] for d in svc.outage_view(session, both, outage)["notices"][0]["decisions"]] == [
        "contoso",
        "northwind",
    ]


def test_the_migration_matches_the_tables(engine):
    with engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert [d for d in differences if "platform_outage" in repr(d)] == []


def test_the_worker_mails_the_notice_in_each_contacts_language(fresh_database, mailer, smtp_server):  # noqa: F811
    doc = read_order_document(CONTOSO)
    [ops] = [c for c in doc["contacts"] if c["email"] == "cloud-ops@contoso.example"]
    ops["language"] = "en"
    with fresh_database.transaction() as session:
        import_order(session, doc, actor="ops", now=datetime(2026, 1, 1, tzinfo=UTC))
        svc.declare(session, IM, STORAGE, now=MONDAY)
    run_once(fresh_database, mailer, clock=FixedClock(MONDAY + timedelta(minutes=1)), name="w1")
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert set(by_recipient) == {"marie.dupont@contoso.example", "cloud-ops@contoso.example"}
    french = by_recipient["marie.dupont@contoso.example"]
    assert french["Subject"].strip() == "[VN4S-1Z8] Incident de plateforme Azure : Storage degraded in West Europe"
    assert (
        "Stockage Azure" in french.get_content()
        and "lundi 30 novembre 2026 à 10:00 (Europe/Paris)" in french.get_content()
    )
    english = by_recipient["cloud-ops@contoso.example"]
    assert (
        english["Content-Language"] == "en"
        and "Your enrolled products concerned: Azure Storage" in english.get_content()
    )


# --- over HTTP ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY)
    yield server
    stop(uv, thread, server)


def test_the_api_declares_tells_and_shows(api):
    body = STORAGE.model_dump()
    with api.client("contoso_admin") as c:
        assert c.post("/api/v1/outages", json=body).status_code == 403
    with api.client("im") as c:
        r = c.get("/api/v1/outages/audience", params={"product": "azure-storage"})
        assert r.status_code == 200 and [d["customer"] for d in r.json() if d["notified"]] == ["contoso"]
        r = c.post("/api/v1/outages", json=body | {"products": ["azure-unicorns"]})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "products[0]"
        r = c.post("/api/v1/outages", json=body | {"regions": ["West Europe", "x" * 101]})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "regions[1]"
        assert c.get("/api/v1/outages").json() == []  # nothing half-written
        r = c.post("/api/v1/outages", json=body)
        assert r.status_code == 201, r.text
        outage = r.json()
        r = c.post(f"/api/v1/outages/{outage['id']}/notices", json={"message": "over", "resolved": True})
        assert r.status_code == 200 and r.json()["status"] == "resolved"
        r = c.post(f"/api/v1/outages/{outage['id']}/notices", json={"message": "again"})
        assert r.status_code == 409 and r.json()["rule"] == "R-MCSAP-5"
    with api.client("contoso_contact") as c:
        assert [o["reference"] for o in c.get("/api/v1/outages").json()] == ["VN4S-1Z8"]
    with api.client("fabrikam_admin") as c:
        assert c.get("/api/v1/outages").json() == [] and c.get(f"/api/v1/outages/{outage['id']}").status_code == 404
