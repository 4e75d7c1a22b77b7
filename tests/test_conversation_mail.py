"""Replies mailed through the outbox to a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL: one copy per recipient in that person's language, the subject
``[#<id>] <title>``, a Reply-To carrying the incident's token, In-Reply-To and
References that keep the whole incident — automatic mails included — one thread,
the files attached from the blob store, sent once even when the worker dies in the
middle of a send (the same Message-ID again, after the lease)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from test_notifications import MAIL_FROM, WorkerCrash, mailer, smtp_server  # noqa: F401  (fixtures)

from unisupport.access import Principal, Role
from unisupport.clock import FixedClock
from unisupport.incidents.conversation import parse_thread_root, reply_address
from unisupport.incidents.requests import IncidentIn, MessageIn
from unisupport.notifications.delivery import deliver_pending
from unisupport.notifications.outbox import LEASE_SECONDS
from unisupport.orders.validation import read_order_document
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.services.users import create_user
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import CustomerRow, IncidentRow
from unisupport.worker import run_once

PARIS = ZoneInfo("Europe/Paris")
CONTOSO = Path(__file__).resolve().parents[1] / "examples" / "orders" / "contoso-multicountry.yaml"
OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
SETTINGS = svc.IncidentSettings(reply_address="support@provider.example")
PDF = b"%PDF-1.4\n% a trace the engineer attaches\n" + bytes(range(256)) * 40


ENGINEER = Principal(user_id=0, email="eva@provider.example", role=Role.ENGINEER)


def open_as_marie(session, title: str):
    customer = session.scalar(select(CustomerRow.id).where(CustomerRow.code == "contoso"))
    marie = Principal(user_id=0, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer)
    data = IncidentIn(site="paris", product="exchange-online", severity="B", title=title, business_impact="b")
    return svc.open_incident(session, marie, data, now=OPENED, settings=SETTINGS), customer


def setup(database, blobs: BlobStore) -> tuple[int, Principal, int]:
    """Contoso's order, Eva (an engineer writing French), an incident Marie opened and
    Eva's reply with a file, copied to Jonas (a German-speaking contact: English) and
    to an outside partner (the site's language: French)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="setup", now=now)
        eva = create_user(
            session, email="eva@provider.example", name="Eva Engineer", role=Role.ENGINEER, actor="setup", now=now
        )
        engineer = Principal(user_id=eva.id, email=eva.email, role=Role.ENGINEER)
        incident, customer = open_as_marie(session, "Mail flow stopped")
        [trace] = conv.store_uploads(
            session, engineer, incident.id, [conv.UploadedFile("trace – été.pdf", PDF)], blobs=blobs, now=OPENED
        )
        conv.post_message(
            session,
            engineer,
            incident.id,
            MessageIn(
                body="Bonjour Marie,\n\nle service de transport redémarre.",
                attachments=[trace.id],
                cc=["jonas.becker@contoso.example", "it@partner.example"],
                needs_answer=True,
            ),
            now=OPENED + timedelta(minutes=20),
            settings=SETTINGS,
        )
        return incident.id, engineer, customer


def test_a_reply_reaches_everyone_in_their_language_threaded_with_its_file(
    fresh_database,
    mailer,  # noqa: F811
    smtp_server,  # noqa: F811
    tmp_path,
):
    blobs = BlobStore(tmp_path / "blobs")
    incident_id, engineer, _ = setup(fresh_database, blobs)
    clock = FixedClock(OPENED + timedelta(minutes=21))
    run_once(fresh_database, mailer, clock=clock, name="w1", blobs=blobs)
    with fresh_database.transaction() as session:
        incident = session.get(IncidentRow, incident_id)
        token, opened = incident.reply_token, incident.opened_at
    ack, *replies = smtp_server.messages
    assert ack["To"] == "marie.dupont@contoso.example" and ack["Auto-Submitted"] == "auto-generated"
    root = ack["References"]
    assert parse_thread_root(root) == (incident_id, int(opened.timestamp())) and ack["In-Reply-To"] == root
    assert ack["Reply-To"] == f"support+{token}@provider.example"

    assert [(m["To"], m["Content-Language"]) for m in replies] == [
        ("marie.dupont@contoso.example", "fr"),
        ("jonas.becker@contoso.example", "en"),
        ("it@partner.example", "fr"),
    ]
    assert smtp_server.envelopes[1:] == [[m["To"]] for m in replies]  # each copy to its recipient alone
    for m in replies:
        assert m["Subject"] == f"[#{incident_id}] Mail flow stopped"
        assert m["Reply-To"] == reply_address("support@provider.example", token)
        assert m["References"] == root and m["In-Reply-To"] == root
        assert m["Auto-Submitted"] is None and m["X-Auto-Response-Suppress"] is None  # a person wrote it
        assert m["From"] == MAIL_FROM and m["Message-ID"].startswith("<outbox-")
        [file] = list(m.iter_attachments())
        assert file.get_filename() == "trace – été.pdf" and file.get_content_type() == "application/pdf"
        assert file.get_content() == PDF
    french, english, _ = (m.get_body(("plain",)).get_content() for m in replies)
    assert "le service de transport redémarre" in french and "Répondez à ce message" in french
    assert "avec copie à jonas.becker@contoso.example, it@partner.example" in french
    assert "Reply to this message to answer" in english and "Attached: trace – été.pdf (10 KB)" in english
    assert len(set(smtp_server.message_ids())) == 4

    # Marie answers Jonas's copy from her mail client: her mail names the reply it answers.
    answered = replies[1]["Message-ID"]
    with fresh_database.transaction() as session:
        incident = conv.find_incident_by_message_ids(session, [answered])
        assert incident is not None and incident.id == incident_id
        assert conv.find_incident_by_reply_token(session, token).id == incident_id
        conv.record_inbound_message(
            session,
            incident,
            sender_email="marie.dupont@contoso.example",
            contact=None,
            body="Voici la trace.",
            message_id="<answer-1@contoso.example>",
            in_reply_to=answered,
            references=[root, answered],
            received_at=OPENED + timedelta(minutes=40),
            attachments=[],
            original_eml=b"From: marie\r\n\r\nVoici la trace.\r\n",
            now=OPENED + timedelta(minutes=40),
            blobs=blobs,
            settings=SETTINGS,
        )
        request = next(c for c in svc.communications(session, incident) if c.requests_customer_action)
        assert request.answered_at == OPENED + timedelta(minutes=40)  # R-SLA-4: answered by mail
        conv.post_message(
            session,
            engineer,
            incident_id,
            MessageIn(body="Merci."),
            now=OPENED + timedelta(minutes=45),
            settings=SETTINGS,
        )
    clock.at = OPENED + timedelta(minutes=46)
    run_once(fresh_database, mailer, clock=clock, name="w1", blobs=blobs)
    second = smtp_server.messages[4]
    assert second["In-Reply-To"] == "<answer-1@contoso.example>"
    assert second["References"].split() == [root, "<answer-1@contoso.example>"]
    assert list(second.iter_attachments()) == []


def test_a_reply_whose_worker_dies_mid_send_is_sent_again_as_the_same_message(
    fresh_database,
    mailer,  # noqa: F811
    smtp_server,  # noqa: F811
    tmp_path,
):
    blobs = BlobStore(tmp_path / "blobs")
    incident_id, _, _ = setup(fresh_database, blobs)

    class DiesAfterTheFirstReply:
        mail_from = mailer.mail_from

        def send(self, message):
            mailer.send(message)
            if message["Subject"].startswith("[#"):
                raise WorkerCrash("killed between DATA accepted and mark_sent")
            return message["Message-ID"]

    clock = FixedClock(OPENED + timedelta(minutes=21))
    with pytest.raises(WorkerCrash):
        deliver_pending(fresh_database, DiesAfterTheFirstReply(), worker="doomed", clock=clock, blobs=blobs)
    first = [m for m in smtp_server.messages if m["Subject"].startswith("[#")]
    assert len(first) == 1
    clock.advance(seconds=LEASE_SECONDS + 1)
    deliver_pending(fresh_database, mailer, worker="rescuer", clock=clock, blobs=blobs)
    replies = [m for m in smtp_server.messages if m["Subject"].startswith("[#")]
    # Three copies; the one in flight went twice with one Message-ID: the mail store shows it once.
    assert sorted(m["To"] for m in replies) == sorted(
        [
            "marie.dupont@contoso.example",
            "marie.dupont@contoso.example",
            "jonas.becker@contoso.example",
            "it@partner.example",
        ]
    )
    ids = [m["Message-ID"] for m in replies]
    assert len(set(ids)) == 3 and ids.count(first[0]["Message-ID"]) == 2
    with fresh_database.transaction() as session:
        incident = session.get(IncidentRow, incident_id)
        assert incident.first_response_at == OPENED + timedelta(minutes=20)  # the instant it was written


def test_a_file_missing_from_the_blob_store_fails_its_mail_and_says_why(fresh_database, mailer, smtp_server, tmp_path):  # noqa: F811
    blobs = BlobStore(tmp_path / "blobs")
    setup(fresh_database, blobs)
    for digest in list(blobs.digests()):
        blobs.path(digest).unlink()
    report = deliver_pending(
        fresh_database, mailer, worker="w1", clock=FixedClock(OPENED + timedelta(minutes=21)), blobs=blobs
    )
    assert (report.sent, report.failed) == (1, 3)  # the acknowledgement went; the replies could not
    with fresh_database.transaction() as session:
        incident = session.scalar(select(IncidentRow))
        [view] = [
            conv.message_view(t, svc.calendar_of(session, incident), provider=True)
            for t in conv.thread_messages(session, ENGINEER, incident)
        ]
    assert {r["delivery"]["status"] for r in view["recipients"]} == {"failed"}
    assert all("BlobMissing" in r["delivery"]["error"] for r in view["recipients"])


def test_breaches_and_warnings_join_the_incidents_thread(fresh_database, mailer, smtp_server, tmp_path):  # noqa: F811
    blobs = BlobStore(tmp_path / "blobs")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with fresh_database.transaction() as session:
        import_order(session, read_order_document(CONTOSO), actor="setup", now=now)
        incident, _ = open_as_marie(session, "Late")
        incident_id, opened = incident.id, incident.opened_at
    clock = FixedClock(OPENED + timedelta(hours=3))  # past the 120 business minutes
    run_once(fresh_database, mailer, clock=clock, name="w1", blobs=blobs)
    to_marie = [m for m in smtp_server.messages if m["To"] == "marie.dupont@contoso.example"]
    assert len(to_marie) == 2  # the acknowledgement and the breach
    for m in to_marie:
        assert parse_thread_root(m["References"]) == (incident_id, int(opened.timestamp()))
        assert m["Auto-Submitted"] == "auto-generated"
