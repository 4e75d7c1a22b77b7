"""Full-text search over incidents on SQLite (FTS5) and PostgreSQL (tsvector, French
and English), kept by the database's triggers (migration 0019): the title, the
business impact and description, every message, every attached file's name; French
and English stemming; ranking and snippets; and, above all, the tenant scope — a
customer's search never finds another customer's incident, nor an internal note or its
file (docs/decisions.md D106)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput
from unisupport.incidents.requests import IncidentIn, MessageIn
from unisupport.orders.validation import read_order_document
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc
from unisupport.services import search
from unisupport.services.orders import import_order
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import CustomerRow, IncidentRow

PARIS = ZoneInfo("Europe/Paris")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER, teams=frozenset({"standard-support"}))
SETTINGS = svc.IncidentSettings(reply_address="Unified Support <support@provider.example>")


@dataclass
class World:
    session: object
    marie: Principal  # Contoso
    alex: Principal  # Fabrikam
    csam: Principal  # assigned Fabrikam only
    blobs: BlobStore


@pytest.fixture
def world(session, tmp_path):
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
        import_order(session, read_order_document(EXAMPLES / name), actor="ops", now=setup)
    ids = dict(session.execute(select(CustomerRow.code, CustomerRow.id)).all())
    return World(
        session,
        Principal(10, "marie.dupont@contoso.example", Role.SUPPORT_ADMINISTRATOR, customer_id=ids["contoso"]),
        Principal(11, "alex.kim@fabrikam.example", Role.SUPPORT_ADMINISTRATOR, customer_id=ids["fabrikam"]),
        Principal(3, "csam@provider.example", Role.CSAM, assigned_customers=frozenset({ids["fabrikam"]})),
        BlobStore(tmp_path / "blobs"),
    )


def open_incident(w: World, who: Principal, title: str, impact: str = "Users blocked", site: str = "paris", **kw):
    data = IncidentIn(site=site, product="exchange-online", severity="B", title=title, business_impact=impact, **kw)
    return svc.open_incident(w.session, who, data, now=OPENED, settings=SETTINGS)


def write(w: World, who: Principal, incident, body: str, *, internal=False, files=()):
    uploaded = (
        conv.store_uploads(
            w.session, who, incident.id, [conv.UploadedFile(n, b"x") for n in files], blobs=w.blobs, now=OPENED
        )
        if files
        else []
    )
    data = MessageIn(visibility="internal" if internal else "public", body=body, attachments=[a.id for a in uploaded])
    return conv.post_message(w.session, who, incident.id, data, now=OPENED + timedelta(minutes=5), settings=SETTINGS)


def found(w: World, who: Principal, query: str) -> list[int]:
    return [h.incident_id for h in search.search(w.session, who, query)]


def fabrikam_site(w: World) -> str:
    return w.session.scalar(text("SELECT code FROM sites WHERE customer_id = :c"), {"c": w.alex.customer_id})


def test_titles_impacts_and_descriptions_are_found_stemmed_in_french_and_english(world):
    w = world
    printer = open_incident(w, w.marie, "L'imprimante du 3e étage ne répond plus", impact="Factures bloquées")
    english = open_incident(w, w.marie, "The printer on floor 3 jams", description="Since the firmware update")
    other = open_incident(w, w.marie, "Réseau coupé à Lyon")
    assert found(w, w.marie, "imprimantes") == [printer.id]  # French plural → singular
    assert found(w, w.marie, "printers") == [english.id]  # English plural → singular
    assert found(w, w.marie, "facture") == [printer.id]  # the business impact
    assert found(w, w.marie, "firmware updates") == [english.id]  # the description, every word
    assert found(w, w.marie, "firmware lyon") == []  # every word must be found
    assert found(w, w.marie, "réseau") == [other.id]
    assert found(w, w.marie, "reseau coupe") == [other.id]  # typed without accents (D153)
    assert found(w, w.marie, "IMPRIMANTE etage") == [printer.id]
    hit = search.search(w.session, w.marie, "reseau")[0]
    assert f"{search.START}Réseau{search.STOP}" in hit.snippet or "<mark>Réseau</mark>" in hit.snippet  # as written
    assert found(w, w.marie, "") == [] and found(w, w.marie, " ;-) ") == []


def test_a_title_edited_is_searched_by_its_new_words(world):
    w = world
    incident = open_incident(w, w.marie, "Teams calls drop")
    w.session.execute(
        IncidentRow.__table__.update().where(IncidentRow.id == incident.id).values(title="Calendar sync broken")
    )
    assert found(w, w.marie, "calendar") == [incident.id]
    assert found(w, w.marie, "teams") == []


def test_messages_and_file_names_are_found_and_ranked_with_a_highlighted_snippet(world):
    w = world
    quiet = open_incident(w, w.marie, "Mailbox quota <script>")
    loud = open_incident(w, w.marie, "Mailbox migration: mailbox moves fail")
    write(w, w.marie, quiet, "We attached the trace", files=["netlogon-trace.txt"])
    write(w, w.marie, loud, "Another mailbox refused the move")
    hits = search.search(w.session, w.marie, "mailbox")
    assert [h.incident_id for h in hits] == [loud.id, quiet.id]  # three mentions rank above one
    assert hits[0].rank > hits[1].rank
    assert "<mark>" in hits[0].snippet and "<script>" not in hits[1].snippet  # the text escaped
    assert search.highlighted(f"a <b> {search.START}c{search.STOP}") == "a &lt;b&gt; <mark>c</mark>"
    assert found(w, w.marie, "netlogon") == [quiet.id]  # a file's name


def test_a_customer_never_finds_another_customers_incident_nor_an_internal_note(world):
    w = world
    contoso = open_incident(w, w.marie, "Kerberos tickets expire early")
    fabrikam = open_incident(w, w.alex, "Kerberos delegation fails", site=fabrikam_site(w))
    write(w, ENGINEER, contoso, "Zanzibar relay changed, do not tell", internal=True, files=["zanzibar-dump.txt"])
    write(w, ENGINEER, contoso, "A public answer about quasars")
    assert found(w, w.marie, "kerberos") == [contoso.id]
    assert found(w, w.alex, "kerberos") == [fabrikam.id]
    assert found(w, w.marie, "zanzibar") == []  # the note and its file: the provider's
    assert found(w, w.marie, "dump") == []
    assert found(w, w.marie, "quasars") == [contoso.id]
    assert found(w, w.alex, "quasars") == []
    assert set(found(w, ENGINEER, "kerberos")) == {contoso.id, fabrikam.id}
    assert found(w, ENGINEER, "zanzibar") == [contoso.id]
    assert found(w, ENGINEER, "dump") == [contoso.id]
    assert found(w, w.csam, "kerberos") == [fabrikam.id]  # a CSAM: the assigned customers only
    orphan = Principal(12, "nobody@contoso.example", Role.SUPPORT_ADMINISTRATOR, customer_id=None)
    assert found(w, orphan, "kerberos") == []


def test_a_file_not_yet_carried_by_a_message_is_not_searched(world):
    w = world
    incident = open_incident(w, w.marie, "Sharepoint slow")
    conv.store_uploads(
        w.session, w.marie, incident.id, [conv.UploadedFile("pending-capture.har", b"x")], blobs=w.blobs, now=OPENED
    )
    assert found(w, ENGINEER, "capture") == []


def test_the_search_filter_combines_with_the_incident_list(world):
    w = world
    a = open_incident(w, w.marie, "Printer offline")
    open_incident(w, w.marie, "Scanner offline")
    rows, _ = svc.list_incidents(w.session, w.marie, svc.IncidentFilter(text="printers"), now=OPENED)
    assert [r.id for r in rows] == [a.id]
    rows, _ = svc.list_incidents(w.session, w.marie, svc.IncidentFilter(text=f"#{a.id}"), now=OPENED)
    assert [r.id for r in rows] == [a.id]  # a number still finds the incident


def test_a_search_longer_than_its_limit_is_refused_naming_the_field(world):
    with pytest.raises(InvalidInput) as refused:
        search.search(world.session, world.marie, "x" * 201)
    assert refused.value.field == "q"


def test_the_migration_indexes_the_incidents_messages_and_files_already_there(fresh_database, tmp_path):
    # The incidents, messages and files already there when the search revision runs: written, then their
    # entries taken away, then the revision's own backfill statements run (a downgrade past the revision
    # would also undo the later revisions that today's models write).
    with fresh_database.transaction() as session:
        w = World(session, None, None, None, BlobStore(tmp_path / "blobs"))  # type: ignore[arg-type]
        for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
            import_order(session, read_order_document(EXAMPLES / name), actor="ops", now=OPENED)
        ids = dict(session.execute(select(CustomerRow.code, CustomerRow.id)).all())
        w.marie = Principal(10, "marie.dupont@contoso.example", Role.SUPPORT_ADMINISTRATOR, customer_id=ids["contoso"])
        old = open_incident(w, w.marie, "Imprimante hors ligne depuis lundi")
        write(w, ENGINEER, old, "Firmware rolled back", internal=True, files=["spooler-dump.txt"])
        write(w, w.marie, old, "Still offline after the reboot")
    revision = importlib.import_module("unisupport.storage.migrations.versions.0019_search_and_saved_views")
    postgres = fresh_database.engine.dialect.name == "postgresql"
    words = {"key": "key", "false": "false", "true": "true"}
    if not postgres:
        words = {"key": "rowid", "false": "0", "true": "1"}
    with fresh_database.transaction() as session:
        session.execute(text("DELETE FROM incident_search"))
        assert search.search(session, w.marie, "imprimantes") == []
        for statement in revision.BACKFILL:
            session.execute(text(statement.format(**words)))
    with fresh_database.transaction() as session:
        assert [h.incident_id for h in search.search(session, w.marie, "imprimantes")] == [old.id]
        assert [h.incident_id for h in search.search(session, w.marie, "reboot")] == [old.id]
        assert search.search(session, w.marie, "firmware") == []  # the note: the provider's
        assert [h.incident_id for h in search.search(session, ENGINEER, "spooler")] == [old.id]


def test_the_unaccent_revision_rebuilds_the_entries_already_there(fresh_database, tmp_path):
    """Migration 0025 (D153) on PostgreSQL: the document column is rebuilt for the
    entries written before it, so "reseau" then finds "réseau"; its downgrade puts the
    accent-sensitive column back. SQLite folded accents from the start."""
    with fresh_database.transaction() as session:
        w = World(session, None, None, None, BlobStore(tmp_path / "blobs"))  # type: ignore[arg-type]
        import_order(session, read_order_document(EXAMPLES / "contoso-multicountry.yaml"), actor="ops", now=OPENED)
        contoso = session.scalar(select(CustomerRow.id).where(CustomerRow.code == "contoso"))
        w.marie = Principal(10, "marie.dupont@contoso.example", Role.SUPPORT_ADMINISTRATOR, customer_id=contoso)
        incident = open_incident(w, w.marie, "Réseau coupé au siège")
    if fresh_database.engine.dialect.name != "postgresql":
        with fresh_database.reading() as session:
            assert [h.incident_id for h in search.search(session, w.marie, "reseau")] == [incident.id]
        return
    revision = importlib.import_module("unisupport.storage.migrations.versions.0025_search_unaccent")
    with fresh_database.transaction() as session:
        for statement in revision._document("french", "english"):  # the column as 0019 made it
            session.execute(text(statement))
        assert search.search(session, w.marie, "reseau") == []  # the accents kept in the old column
        for statement in revision._document("unisupport_french", "unisupport_english"):
            session.execute(text(statement))
    with fresh_database.reading() as session:
        assert [h.incident_id for h in search.search(session, w.marie, "reseau")] == [incident.id]
        assert [h.incident_id for h in search.search(session, w.marie, "siege coupe")] == [incident.id]
    # Migrated where the extension could not be created: plain copies of the configurations, then the
    # statements its warning prints (but CREATE EXTENSION, there already) make the search fold accents.
    with fresh_database.transaction() as session:
        for language in ("french", "english"):
            session.execute(
                text(f"ALTER TEXT SEARCH CONFIGURATION unisupport_{language} DROP MAPPING FOR {revision.WORDS}")
            )
            session.execute(
                text(
                    f"ALTER TEXT SEARCH CONFIGURATION unisupport_{language} ADD MAPPING FOR {revision.WORDS} "
                    f"WITH {language}_stem"
                )
            )
        session.execute(text("UPDATE incident_search SET body = body"))
        assert search.search(session, w.marie, "reseau") == []
        for statement in revision.LATER.split(";")[1:]:
            if statement.strip():
                session.execute(text(statement))
        assert [h.incident_id for h in search.search(session, w.marie, "reseau")] == [incident.id]
