"""Mail in on a real database, SQLite and PostgreSQL: every mail of the corpus handled
as its manifest says (tests/mail/manifest.yaml), and the guarantees around it — a
Message-ID handled once, one polite answer per sender per hour, a rule that refuses
half-way leaves nothing behind, a failure is recorded and tried again, the severity
of an incident opened by mail waits for an engineer (R-SEV-1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from mail_corpus import NOW, PROVIDER, build_world, entries, mail_bytes, name
from sqlalchemy import func, select

from unisupport.clock import FixedClock
from unisupport.services.mail_intake import receive
from unisupport.mail_in.message import parse
from unisupport.mail_in.settings import MailInSettings
from unisupport.notifications.mailer import render
from unisupport.services import mail_in
from unisupport.services.incidents import IncidentSettings
from unisupport.sla.severity import Severity
from unisupport.storage.base import Base
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import (
    AttachmentRow,
    IncidentEventRow,
    IncidentRow,
    InboundMailRow,
    MessageRow,
    OrderRow,
    OutboxRow,
)

REPLY = f"support@{PROVIDER}"


def mail_settings(tmp_path, **kw) -> MailInSettings:
    return MailInSettings(
        reply_address=REPLY,
        mail_from=f"Unified Support <unisupport@{PROVIDER}>",
        blob_dir=tmp_path / "blobs",
        incident=IncidentSettings(reply_address=REPLY),
        **kw,
    )


@pytest.fixture
def world(session):
    return build_world(session)


def count(session, table, *where) -> int:
    return session.scalar(select(func.count()).select_from(table).where(*where))


def handle(session, raw: bytes, tmp_path, *, now=NOW, **kw):
    settings = mail_settings(tmp_path)
    return mail_in.handle(
        session, parse(raw), raw, source="imap", settings=settings, now=now, blobs=BlobStore(tmp_path / "b"), **kw
    )


# ------------------------------------------------------------------ the corpus
@pytest.mark.parametrize("entry", entries(), ids=name)
def test_each_mail_of_the_corpus_is_handled_as_its_manifest_says(session, world, tmp_path, entry):
    raw = mail_bytes(entry, world.threads)
    mail = parse(raw)
    incidents_before = count(session, IncidentRow)
    result = handle(session, raw, tmp_path)
    assert result.outcome == entry["outcome"], result.reason
    row = session.get(InboundMailRow, result.inbound_id)
    assert (row.message_id, row.outcome, row.attempts) == (mail.message_id, entry["outcome"], 1)
    assert row.via == entry.get("via")
    assert result.refusal == entry.get("refusal")
    threads = {"open": world.open_id, "closed_recent": world.closed_recent_id, "closed_old": world.closed_old_id}
    message = session.scalar(select(MessageRow).where(MessageRow.mail_message_id == mail.message_id))
    answers = count(session, OutboxRow, OutboxRow.kind == "mail_in.refused", OutboxRow.recipient == mail.sender)
    assert answers == (1 if entry.get("answered") else 0)
    outcome = entry["outcome"]
    if outcome in ("attached", "reopened"):
        assert result.incident_id == threads[entry["thread"]] == message.incident_id
        assert session.get(IncidentRow, result.incident_id).status == "open"
        assert count(session, IncidentRow) == incidents_before
    elif outcome in ("opened", "opened-linked"):
        incident = session.get(IncidentRow, result.incident_id)
        assert count(session, IncidentRow) == incidents_before + 1 and message.incident_id == incident.id
        assert (incident.severity, incident.product, incident.channel) == (
            entry["severity"],
            entry["product"],
            "email",
        )
        assert incident.severity_to_confirm and incident.contact_id is not None
        expected_previous = threads[entry["thread"]] if outcome == "opened-linked" else None
        assert incident.previous_incident_id == expected_previous
    else:
        assert message is None and count(session, IncidentRow) == incidents_before
        if outcome == "ignored" and entry.get("thread"):
            assert result.incident_id == threads[entry["thread"]]
            assert count(session, IncidentEventRow, IncidentEventRow.kind == "automatic-mail") == 1
    if message is not None:
        for text in entry.get("body_has", []):
            assert text in message.body
        files = session.scalars(select(AttachmentRow.filename).where(AttachmentRow.message_id == message.id)).all()
        expected = [n.removeprefix("inline:") for n in entry.get("attachments", [])]
        assert sorted(files) == sorted([*expected, "original-message.eml"])


def test_the_original_mail_is_kept_byte_for_byte(session, world, tmp_path):
    raw = mail_bytes({"file": "gmail_reply_fr.eml"}, world.threads)
    result = handle(session, raw, tmp_path)
    original = session.scalar(
        select(AttachmentRow).where(AttachmentRow.incident_id == result.incident_id, AttachmentRow.original.is_(True))
    )
    assert BlobStore(tmp_path / "b").path(original.sha256).read_bytes() == raw


# ------------------------------------------------------------------ once, and once an hour
def test_a_message_id_is_handled_once_however_often_the_mail_comes(session, world, tmp_path):
    raw = mail_bytes({"file": "outlook_reply_en.eml"}, world.threads)
    first = handle(session, raw, tmp_path)
    # The same mail redelivered by the MTA, with one more Received line on top.
    again = handle(session, b"Received: from mx2.provider.example\n" + raw, tmp_path, now=NOW + timedelta(minutes=5))
    assert not first.duplicate and again.duplicate and again.inbound_id == first.inbound_id
    assert again.outcome == "attached" and again.incident_id == first.incident_id
    assert count(session, MessageRow, MessageRow.mail_message_id == parse(raw).message_id) == 1
    assert count(session, InboundMailRow) == 1


def test_a_stranger_gets_one_answer_an_hour_whatever_they_send(session, world, tmp_path):
    def stranger(n: int, minutes: int):
        raw = mail_bytes({"file": "stranger_new.eml"}).replace(b"<CAJ7r2Wq9mX", f"<n{n}-CAJ7r2Wq9mX".encode())
        return handle(session, raw, tmp_path, now=NOW + timedelta(minutes=minutes))

    results = [stranger(1, 0), stranger(2, 1), stranger(3, 59), stranger(4, 60), stranger(5, 61)]
    assert [r.outcome for r in results] == ["refused"] * 5
    assert [r.answered for r in results] == [True, False, False, True, False]
    answers = session.scalars(select(OutboxRow).where(OutboxRow.kind == "mail_in.refused")).all()
    assert [a.recipient for a in answers] == ["kevin.martin1987@gmail.example"] * 2
    subject, body = render("mail_in.refused", answers[0].language, answers[0].payload)
    assert subject == "Re: Help with my Outlook (not recorded: how to reach support)"
    assert "is not one of them" in body and REPLY in body


def test_the_polite_answer_is_in_french_for_a_french_mail(session, world, tmp_path):
    raw = (
        b"From: Jean <jean@exemple.example>\nTo: support@provider.example\nSubject: Panne\n"
        b"Message-ID: <j1@exemple.example>\n\nBonjour, le serveur est en panne. Merci\n"
    )
    assert handle(session, raw, tmp_path).answered
    answer = session.scalar(select(OutboxRow).where(OutboxRow.kind == "mail_in.refused"))
    assert (
        answer.language == "fr" and "comment joindre le support" in render("mail_in.refused", "fr", answer.payload)[0]
    )


# ------------------------------------------------------------------ never a partial write
def test_a_rule_that_refuses_half_way_leaves_nothing_behind(session, world, tmp_path):
    # Fabrikam's order ends: the contact's mail would open an incident, R-ORD-2 refuses.
    order = session.scalar(select(OrderRow).where(OrderRow.customer_id == world.customers["fabrikam"]))
    order.status = "expired"
    session.flush()
    before = {table: count(session, table) for table in (IncidentRow, IncidentEventRow, MessageRow, AttachmentRow)}
    result = handle(session, mail_bytes({"file": "forwarded_thread_new.eml"}), tmp_path)
    assert (result.outcome, result.refusal) == ("refused", "no-active-order")
    assert "R-ORD-2" == session.get(InboundMailRow, result.inbound_id).rule
    assert {table: count(session, table) for table in before} == before
    assert count(session, OutboxRow, OutboxRow.kind == "mail_in.refused") == 1  # told, once


def test_a_failure_is_recorded_rolled_back_whole_and_handled_on_a_later_try(fresh_database, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    raw = mail_bytes({"file": "inline_image_and_pdf.eml"}, world.threads)
    (tmp_path / "not-a-folder").write_text("a file where the blob folder should be")
    broken = replace(mail_settings(tmp_path), blob_dir=tmp_path / "not-a-folder")
    clock = FixedClock(NOW)
    failed = receive(fresh_database, raw, source="stdin", settings=broken, clock=clock)
    assert failed.outcome == "failed" and "Error" in failed.reason
    with fresh_database.reading() as session:
        assert [(r.message_id, r.attempts) for r in mail_in.failures(session)] == [(parse(raw).message_id, 1)]
        assert count(session, MessageRow) == 0  # nothing of the handling was kept
        assert count(session, IncidentEventRow, IncidentEventRow.kind == "communication") == 0
    clock.advance(minutes=10)
    handled = receive(fresh_database, raw, source="stdin", settings=mail_settings(tmp_path), clock=clock)
    assert (handled.outcome, handled.incident_id) == ("attached", world.open_id)
    with fresh_database.reading() as session:
        row = session.get(InboundMailRow, handled.inbound_id)
        assert (row.attempts, mail_in.failures(session)) == (2, [])
        assert count(session, MessageRow) == 1


def test_two_processes_taking_the_same_mail_record_it_once(fresh_database, tmp_path):
    with fresh_database.transaction() as session:
        world = build_world(session)
    raw = mail_bytes({"file": "gmail_reply_fr.eml"}, world.threads)
    settings = mail_settings(tmp_path)
    first = receive(fresh_database, raw, source="imap", settings=settings, clock=FixedClock(NOW))
    second = receive(fresh_database, raw, source="stdin", settings=settings, clock=FixedClock(NOW))
    assert not first.duplicate and second.duplicate
    with fresh_database.reading() as session:
        assert count(session, MessageRow) == 1 and count(session, InboundMailRow) == 1


# ------------------------------------------------------------------ the severity waits for an engineer
def test_an_incident_opened_by_mail_says_its_severity_is_to_be_confirmed(session, world, tmp_path):
    result = handle(session, mail_bytes({"file": "html_only_new_sev_a.eml"}), tmp_path)
    incident = session.get(IncidentRow, result.incident_id)
    event = session.scalar(
        select(IncidentEventRow).where(
            IncidentEventRow.incident_id == incident.id, IncidentEventRow.kind == "severity-to-confirm"
        )
    )
    assert event.rule == "R-SEV-1" and "stated in the mail's subject" in event.reason
    assert incident.opened_by == "marie.dupont@contoso.example" and incident.title.startswith("Exchange Online")
    default = handle(session, mail_bytes({"file": "iso_8859_1_new.eml"}), tmp_path)
    assert session.get(IncidentRow, default.incident_id).severity == "B"  # the configured default


def test_the_default_severity_and_the_reopening_window_are_settings(session, world, tmp_path):
    settings = replace(mail_settings(tmp_path), reopen_days=3)
    raw = mail_bytes({"file": "closed_recent_reply.eml"}, world.threads)  # closed 4 days ago
    result = mail_in.handle(session, parse(raw), raw, source="imap", settings=settings, now=NOW)
    assert result.outcome == "opened-linked"
    severity_c = replace(mail_settings(tmp_path), default_severity=Severity.SEV_C)
    raw = mail_bytes({"file": "iso_8859_1_new.eml"})
    opened = mail_in.handle(session, parse(raw), raw, source="imap", settings=severity_c, now=NOW)
    assert session.get(IncidentRow, opened.incident_id).severity == "C"


# ------------------------------------------------------------------ the schema
def test_the_migration_matches_the_models(fresh_database):
    with fresh_database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diff if "inbound_mails" in repr(d) or "severity_to_confirm" in repr(d)] == []
    assert [d for d in diff if "previous_incident_id" in repr(d)] == []
