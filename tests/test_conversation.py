"""An incident's conversation on a real database, SQLite and PostgreSQL: replies that
are the first response (R-SEV-2), the customer-side clock they start and the answers
that stop it (R-SLA-4), internal notes that leave no trace a customer can see,
received mails recorded once, closed incidents reopened (R-INC-1), files with their
limits and names, copy lists, and how a mail finds its incident again."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from unisupport.access import Forbidden, Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.attachment import MB, TooLarge, content_type, safe_name, upload_name
from unisupport.incidents.conversation import (
    MAX_CC,
    incident_id_in_subject,
    is_reply_token,
    new_reply_token,
    parse_thread_root,
    reply_address,
    reply_subject,
    reply_token_in,
    thread_root,
)
from unisupport.incidents.requests import ClosureIn, IncidentIn, MessageIn
from unisupport.notifications.outbox import message_id_for
from unisupport.orders.validation import read_order_document
from unisupport.refusal import Refused
from unisupport.services import conversation as conv
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import (
    AttachmentRow,
    CommunicationRow,
    CustomerRow,
    IncidentEventRow,
    MessageRow,
    OutboxRow,
)

PARIS = ZoneInfo("Europe/Paris")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "orders"
OPENED = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)  # a Monday morning
ENGINEER = Principal(user_id=2, email="eng@provider.example", role=Role.ENGINEER, teams=frozenset({"standard-support"}))
CSAM = Principal(user_id=3, email="csam@provider.example", role=Role.CSAM)
REPLY_TO = "Unified Support <support@provider.example>"
SETTINGS = svc.IncidentSettings(reply_address=REPLY_TO)
SMALL = conv.ConversationSettings(attachment_max_bytes=1 * MB, message_max_bytes=2 * MB)


@dataclass
class World:
    session: object
    marie: Principal
    alex: Principal
    blobs: BlobStore


@pytest.fixture
def world(session, tmp_path):
    setup = datetime(2026, 1, 1, tzinfo=UTC)
    for name in ("contoso-multicountry.yaml", "fabrikam-single-site.yaml"):
        import_order(session, read_order_document(EXAMPLES / name), actor="ops", now=setup)
    ids = dict(session.execute(select(CustomerRow.code, CustomerRow.id)).all())
    marie = Principal(
        user_id=10, email="marie.dupont@contoso.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=ids["contoso"]
    )
    alex = Principal(
        user_id=11, email="alex.kim@fabrikam.example", role=Role.SUPPORT_ADMINISTRATOR, customer_id=ids["fabrikam"]
    )
    return World(session, marie, alex, BlobStore(tmp_path / "blobs"))


def open_sev_b(w: World, who: Principal | None = None, *, site="paris", now=OPENED):
    data = IncidentIn(
        site=site, product="exchange-online", severity="B", title="Mail flow stopped", business_impact="Orders"
    )
    return svc.open_incident(w.session, who or w.marie, data, now=now, settings=SETTINGS)


def post(w: World, who: Principal, incident, now, **fields):
    return conv.post_message(
        w.session, who, incident.id, MessageIn(**({"body": "Hello"} | fields)), now=now, settings=SETTINGS
    )


def upload(w: World, who: Principal, incident, *files, now=OPENED, settings=conv.DEFAULT_CONVERSATION):
    return conv.store_uploads(
        w.session,
        who,
        incident.id,
        [conv.UploadedFile(name, data) for name, data in files],
        blobs=w.blobs,
        now=now,
        settings=settings,
    )


@dataclass
class Inbound:
    filename: str | None
    content_type: str | None
    data: bytes
    inline: bool = False


def receive(w: World, incident, *, message_id="<m1@contoso.example>", received, now=None, body="Here it is", **kw):
    return conv.record_inbound_message(
        w.session,
        incident,
        sender_email="Marie.Dupont@contoso.example",
        contact=None,
        body=body,
        message_id=message_id,
        in_reply_to=kw.pop("in_reply_to", None),
        references=kw.pop("references", []),
        received_at=received,
        attachments=kw.pop("attachments", []),
        original_eml=kw.pop("original_eml", b"From: marie\r\n\r\nHere it is\r\n"),
        now=now or received,
        blobs=w.blobs,
        settings=SETTINGS,
    )


def count(session, table, *where) -> int:
    return session.scalar(select(func.count()).select_from(table).where(*where))


# --------------------------------------------------------------------------- the domain's pure parts
def test_reply_tokens_are_160_random_bits_that_survive_case_folding():
    tokens = {new_reply_token() for _ in range(200)}
    assert len(tokens) == 200 and all(is_reply_token(t) and len(t) == 32 for t in tokens)
    token = tokens.pop()
    assert len(base64.b32decode(token.upper())) == 20  # 160 bits
    address = reply_address(REPLY_TO, token)
    assert address == f"Unified Support <support+{token}@provider.example>"
    assert reply_token_in(address.upper(), "support@provider.example") == token  # a case-folding MTA
    assert reply_token_in(f"support+{token}@elsewhere.example", REPLY_TO) is None
    assert reply_token_in("support+short@provider.example", REPLY_TO) is None
    assert not is_reply_token("1" * 32) and not is_reply_token("a" * 31) and not is_reply_token(token.upper())


def test_subjects_and_thread_roots_name_their_incident():
    assert reply_subject(42, "Mail   flow\nstopped") == "[#42] Mail flow stopped"
    assert incident_id_in_subject("RE: [#42] Mail flow stopped") == 42
    assert incident_id_in_subject("TR: [INC-000042] We have received your incident") == 42
    assert incident_id_in_subject("Mail flow stopped") is None
    root = thread_root(42, OPENED, "provider.example")
    assert root == f"<incident-42.{int(OPENED.timestamp())}@provider.example>"
    assert parse_thread_root(root) == (42, int(OPENED.timestamp())) and parse_thread_root("<x@y>") is None


def test_file_names_keep_what_a_person_reads_and_lose_what_does_harm():
    assert safe_name("Rapport d'incident – été.pdf") == "Rapport d'incident – été.pdf"
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("C:\\Users\\eva\\trace.log") == "C__Users_eva_trace.log"
    assert safe_name("evil\x00name\r\n.txt") == "evil_name__.txt"
    assert (
        safe_name("CON") == "_CON" and safe_name("aux.txt") == "_aux.txt" and safe_name("console.txt") == "console.txt"
    )
    assert safe_name("  .hidden. ") == "hidden" and safe_name("...") == "attachment"
    long = safe_name("a" * 300 + ".tar.gz")
    assert len(long) == 200 and long.endswith(".gz")
    with pytest.raises(InvalidInput) as refused:
        upload_name("../secret.txt", field="files[1]")
    assert refused.value.field == "files[1]" and "path separator" in refused.value.message
    with pytest.raises(InvalidInput, match="control characters"):
        upload_name("bad\x07.txt", field="files[0]")
    with pytest.raises(InvalidInput, match="needs a name"):
        upload_name("   ", field="files[0]")


def test_a_files_type_is_read_from_its_bytes_not_its_name():
    assert content_type(b"%PDF-1.7\n" + b"0" * 100) == "application/pdf"
    assert content_type(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) == "image/png"
    assert content_type("Journal d'événements\nligne 2\n".encode()) == "text/plain"
    assert content_type(b"\x00\x01\x02\x03garbage") == "application/octet-stream"


# --------------------------------------------------------------------------- replies and the first response
def test_every_incident_gets_its_own_reply_token_and_is_found_by_it(world):
    first, second = open_sev_b(world), open_sev_b(world)
    assert is_reply_token(first.reply_token) and first.reply_token != second.reply_token
    assert conv.find_incident_by_reply_token(world.session, first.reply_token.upper()) is first
    assert conv.find_incident_by_reply_token(world.session, new_reply_token()) is None
    assert conv.find_incident_by_reply_token(world.session, "' OR 1=1 --") is None
    ack = world.session.scalar(
        select(OutboxRow).where(OutboxRow.kind == "incident.acknowledged", OutboxRow.subject_id == first.id)
    )
    assert ack.headers == {"Reply-To": reply_address(REPLY_TO, first.reply_token)}  # answering it reaches the incident


def test_a_public_reply_is_the_first_response_at_the_instant_it_was_written(world):
    incident = open_sev_b(world)
    written = OPENED + timedelta(minutes=20)
    message = post(world, ENGINEER, incident, written, body="We are restarting the transport service.")
    assert incident.first_response_at == written and svc.first_response_state(incident, written) == "met"
    communication = world.session.get(CommunicationRow, message.communication_id)
    assert (communication.direction, communication.medium, communication.automated, communication.first_response) == (
        "outbound",
        "email",
        False,
        True,
    )
    kinds = [e.kind for e in svc.timeline(world.session, ENGINEER, incident.id)]
    assert "first-response" in kinds
    [mail] = world.session.scalars(select(OutboxRow).where(OutboxRow.kind == "incident.reply")).all()
    assert (mail.recipient, mail.language, mail.not_before) == ("marie.dupont@contoso.example", "fr", written)
    assert mail.headers["Reply-To"] == reply_address(REPLY_TO, incident.reply_token)
    assert message.recipients == [
        {"email": "marie.dupont@contoso.example", "copy": False, "language": "fr", "outbox": mail.id}
    ]
    # A second reply is not the first response again.
    post(world, ENGINEER, incident, written + timedelta(minutes=5))
    assert incident.first_response_at == written


def test_a_reply_needing_an_answer_starts_the_customers_clock_and_their_mail_stops_it(world):
    incident = open_sev_b(world)
    asked = OPENED + timedelta(minutes=10)
    message = post(world, ENGINEER, incident, asked, body="Can you send the message trace?", needs_answer=True)
    request = world.session.get(CommunicationRow, message.communication_id)
    assert request.requests_customer_action and request.customer_response_due == asked + timedelta(hours=4)
    received = asked + timedelta(hours=1)
    answer = receive(world, incident, received=received, now=received + timedelta(hours=2))  # the mailbox read late
    assert request.answered_at == received  # counted when it arrived, not when it was read
    events = {e.kind: e for e in svc.timeline(world.session, ENGINEER, incident.id)}
    assert events["customer-responded"].rule == "R-SLA-4" and "communication-logged-late" in events
    assert (answer.visibility, answer.from_customer, answer.channel, answer.at) == ("public", True, "mail", received)
    files = world.session.scalars(select(AttachmentRow).where(AttachmentRow.message_id == answer.id)).all()
    assert [(f.filename, f.content_type, f.original) for f in files] == [
        ("original-message.eml", "message/rfc822", True)
    ]
    assert world.blobs.get(files[0].sha256).startswith(b"From: marie")


def test_a_customers_message_is_public_and_answers_a_pending_request(world):
    incident = open_sev_b(world)
    post(world, ENGINEER, incident, OPENED + timedelta(minutes=5), needs_answer=True)
    message = post(world, world.marie, incident, OPENED + timedelta(minutes=30), body="Trace attached")
    assert (message.visibility, message.from_customer, message.recipients) == ("public", True, None)
    [request] = [c for c in svc.communications(world.session, incident) if c.requests_customer_action]
    assert request.answered_at == OPENED + timedelta(minutes=30)
    assert count(world.session, OutboxRow, OutboxRow.kind == "incident.reply") == 1  # only the engineer's
    with pytest.raises(Forbidden) as refused:
        post(world, world.marie, incident, OPENED + timedelta(minutes=31), visibility="internal")
    assert refused.value.field == "visibility"
    with pytest.raises(Forbidden):
        post(world, world.marie, incident, OPENED + timedelta(minutes=31), needs_answer=True)


def test_an_internal_note_leaves_nothing_a_customer_can_see(world):
    incident = open_sev_b(world)
    before = (incident.version, incident.updated_at, count(world.session, IncidentEventRow))
    [trace] = upload(world, ENGINEER, incident, ("suspect-config.txt", b"relay=open\n"))
    note = post(
        world,
        ENGINEER,
        incident,
        OPENED + timedelta(minutes=3),
        body="Root cause: our relay",
        visibility="internal",
        attachments=[trace.id],
    )
    assert note.communication_id is None and note.recipients is None
    assert (incident.version, incident.updated_at, count(world.session, IncidentEventRow)) == before
    assert count(world.session, OutboxRow, OutboxRow.kind == "incident.reply") == 0
    assert incident.first_response_at is None  # a note is no contact with the customer
    assert [m.id for m in conv.visible_messages(world.session, ENGINEER, incident)] == [note.id]
    assert conv.visible_messages(world.session, world.marie, incident) == []
    assert conv.visible_attachments(world.session, world.marie, incident) == []
    with pytest.raises(NotFound):
        conv.attachment_to_download(world.session, world.marie, incident.id, trace.id)
    csam = Principal(user_id=3, email=CSAM.email, role=Role.CSAM, assigned_customers=frozenset({incident.customer_id}))
    assert conv.attachment_to_download(world.session, csam, incident.id, trace.id) is trace  # a provider role
    with pytest.raises(InvalidInput) as refused:
        post(world, ENGINEER, incident, OPENED, visibility="internal", cc=["x@contoso.example"])
    assert refused.value.field == "cc"


def test_a_csam_writes_internal_notes_but_does_not_answer_the_customer(world):
    incident = open_sev_b(world)
    csam = Principal(user_id=3, email=CSAM.email, role=Role.CSAM, assigned_customers=frozenset({incident.customer_id}))
    assert post(world, csam, incident, OPENED, visibility="internal").visibility == "internal"
    with pytest.raises(Forbidden):
        post(world, csam, incident, OPENED)


def test_a_closed_incident_is_reopened_by_the_customer_writing_and_keeps_its_first_response(world):
    incident = open_sev_b(world)
    answered = OPENED + timedelta(minutes=15)
    post(world, ENGINEER, incident, answered)
    svc.close(world.session, ENGINEER, incident.id, ClosureIn(summary="Fixed"), now=OPENED + timedelta(hours=2))
    with pytest.raises(Refused) as refused:
        post(world, ENGINEER, incident, OPENED + timedelta(hours=3))
    assert refused.value.rule == "R-INC-1"
    post(world, ENGINEER, incident, OPENED + timedelta(hours=3), visibility="internal")  # notes are fine
    receive(world, incident, received=OPENED + timedelta(days=1))
    assert (incident.status, incident.closed_at, incident.first_response_at) == ("open", None, answered)
    reopened = [e for e in svc.timeline(world.session, ENGINEER, incident.id) if e.kind == "reopened"]
    assert len(reopened) == 1 and reopened[0].rule == "R-INC-1" and reopened[0].before["status"] == "closed"
    svc.close(world.session, ENGINEER, incident.id, ClosureIn(summary="Fixed again"), now=OPENED + timedelta(days=2))
    post(world, world.marie, incident, OPENED + timedelta(days=3), body="It is back")
    assert incident.status == "open"
    assert svc.reopen(world.session, incident, actor="x", reason="y", now=OPENED + timedelta(days=3)) is incident


def test_a_mail_delivered_twice_is_recorded_once(world):
    incident = open_sev_b(world)
    first = receive(world, incident, received=OPENED + timedelta(minutes=5))
    again = receive(world, incident, received=OPENED + timedelta(minutes=6))
    assert again is first and count(world.session, MessageRow) == 1
    assert count(world.session, CommunicationRow, CommunicationRow.direction == "inbound") == 1


def test_a_mail_finds_its_incident_by_any_message_id_of_its_thread(world):
    incident, other = open_sev_b(world), open_sev_b(world)
    ack = world.session.scalar(
        select(OutboxRow).where(OutboxRow.kind == "incident.acknowledged", OutboxRow.subject_id == incident.id)
    )
    ack_id = message_id_for(ack.id, ack.created_at, "unisupport@provider.example")
    root = thread_root(incident.id, incident.opened_at, "provider.example")
    receive(world, incident, message_id="<customer-1@contoso.example>", received=OPENED + timedelta(minutes=1))
    find = conv.find_incident_by_message_ids
    assert find(world.session, [ack_id]) is incident
    assert find(world.session, [root]) is incident
    assert find(world.session, ["customer-1@contoso.example"]) is incident  # without its brackets
    assert find(world.session, ["<unknown@x>", "", root]) is incident  # the first that is known
    assert find(world.session, [thread_root(other.id, other.opened_at, "x.example"), root]) is other
    forged = thread_root(incident.id, incident.opened_at + timedelta(seconds=5), "provider.example")
    assert find(world.session, [forged, "<outbox-999999.1@x>"]) is None
    assert find(world.session, []) is None


# --------------------------------------------------------------------------- files
def test_uploads_are_refused_naming_the_file_before_anything_is_stored(world):
    incident = open_sev_b(world)
    cases = [
        ([("empty.txt", b"")], InvalidInput, "files[0]", "empty"),
        ([("ok.txt", b"x"), ("big.bin", b"x" * (MB + 1))], TooLarge, "files[1]", "big.bin"),
        ([("a.bin", b"a" * MB), ("b.bin", b"b" * MB), ("c.bin", b"c")], TooLarge, "files", "at most 2 MB"),
        ([("ok.txt", b"x"), ("../../etc/passwd", b"x")], InvalidInput, "files[1]", "path separator"),
        ([("bell\x07.txt", b"x")], InvalidInput, "files[0]", "control characters"),
        ([], InvalidInput, "files", "at least one"),
    ]
    for files, error, field, words in cases:
        with pytest.raises(error) as refused:
            upload(world, ENGINEER, incident, *files, settings=SMALL)
        assert refused.value.field == field and words in refused.value.message, refused.value
    assert count(world.session, AttachmentRow) == 0 and list(world.blobs.digests()) == []


def test_uploads_are_kept_once_by_content_and_carried_by_one_message(world):
    incident = open_sev_b(world)
    same = b"%PDF-1.4 the same bytes"
    first, second = upload(world, ENGINEER, incident, ("report.pdf", same), ("copy of report.pdf", same))
    assert first.sha256 == second.sha256 and len(list(world.blobs.digests())) == 1
    assert first.content_type == "application/pdf"
    # Before a message carries them, only their uploader sees them.
    assert conv.visible_attachments(world.session, world.marie, incident) == []
    message = post(world, ENGINEER, incident, OPENED + timedelta(minutes=1), attachments=[first.id, second.id])
    assert (first.message_id, second.message_id) == (message.id, message.id)
    [mail] = world.session.scalars(select(OutboxRow).where(OutboxRow.kind == "incident.reply")).all()
    assert [a["filename"] for a in mail.attachments] == ["report.pdf", "copy of report.pdf"]
    assert all(set(a) == {"sha256", "filename", "content_type", "size", "inline"} for a in mail.attachments)
    assert [a.id for a, _ in conv.visible_attachments(world.session, world.marie, incident)] == [first.id, second.id]
    with pytest.raises(InvalidInput) as refused:  # already carried
        post(world, ENGINEER, incident, OPENED + timedelta(minutes=2), attachments=[first.id])
    assert refused.value.field == "attachments[0]"


def test_another_tenants_or_users_upload_cannot_be_attached_or_read(world):
    contoso = open_sev_b(world)
    fabrikam = open_sev_b(world, world.alex, site="seattle")
    [theirs] = upload(world, world.alex, fabrikam, ("fabrikam-secret.txt", b"secret"))
    [marie_file] = upload(world, world.marie, contoso, ("screenshot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10))
    for who, ids, field in (
        (world.marie, [theirs.id], "attachments[0]"),  # another tenant's
        (ENGINEER, [marie_file.id], "attachments[0]"),  # another user's upload
        (world.marie, [marie_file.id, 2**31 - 1], "attachments[1]"),  # unknown
        (world.marie, [marie_file.id, marie_file.id], "attachments[1]"),  # twice
    ):
        with pytest.raises(InvalidInput) as refused:
            post(world, who, contoso, OPENED + timedelta(minutes=1), attachments=ids)
        assert refused.value.field == field
    assert marie_file.message_id is None and count(world.session, MessageRow) == 0
    with pytest.raises(NotFound):
        conv.attachment_to_download(world.session, world.marie, fabrikam.id, theirs.id)
    with pytest.raises(NotFound):
        conv.attachment_to_download(world.session, world.marie, contoso.id, theirs.id)


def test_uploads_no_message_carried_are_swept_after_a_day(world):
    incident = open_sev_b(world)
    [kept] = upload(world, ENGINEER, incident, ("kept.txt", b"kept"))
    [left] = upload(world, ENGINEER, incident, ("left.txt", b"left behind"))
    post(world, ENGINEER, incident, OPENED + timedelta(minutes=1), attachments=[kept.id])
    assert conv.sweep_uploads(world.session, world.blobs, now=OPENED + timedelta(hours=23)) == 0
    assert (
        conv.sweep_uploads(
            world.session, world.blobs, now=OPENED + timedelta(days=1, minutes=1), kept=timedelta(days=1)
        )
        == 1
    )
    assert count(world.session, AttachmentRow, AttachmentRow.id == left.id) == 0
    assert count(world.session, AttachmentRow, AttachmentRow.id == kept.id) == 1
    assert not world.blobs.exists(left.sha256) and world.blobs.exists(kept.sha256)
    # A blob no row ever referenced (its transaction failed) goes once its file is old enough.
    orphan = world.blobs.put(b"written, then the transaction rolled back")
    assert conv.sweep_blobs(world.session, world.blobs) == 0  # written just now: an upload may be in flight
    assert conv.sweep_blobs(world.session, world.blobs, kept=timedelta(0)) == 1
    assert list(world.blobs.digests()) == [kept.sha256] and not world.blobs.exists(orphan)


# --------------------------------------------------------------------------- copies
def test_copies_are_checked_bounded_and_mailed_in_each_recipients_language(world):
    incident = open_sev_b(world)
    with pytest.raises(InvalidInput) as refused:
        post(world, ENGINEER, incident, OPENED, cc=[f"user{i}@partner.example" for i in range(500)])
    assert refused.value.field == "cc" and "500 addresses" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        post(world, ENGINEER, incident, OPENED, cc=["ok@partner.example", "not an address"])
    assert refused.value.field == "cc[1]"
    with pytest.raises(InvalidInput) as refused:  # customers copy their own organisation only
        post(world, world.marie, incident, OPENED, cc=["cloud-ops@contoso.example", "friend@gmail.example"])
    assert refused.value.field == "cc[1]"
    assert conv.copies_of(world.session, incident) == []  # refused whole
    post(world, world.marie, incident, OPENED, cc=["Jonas.Becker@contoso.example"])
    post(
        world,
        ENGINEER,
        incident,
        OPENED + timedelta(minutes=1),
        cc=["it@partner.example", "MARIE.DUPONT@contoso.example"],
    )
    assert [c.email for c in conv.copies_of(world.session, incident)] == [
        "jonas.becker@contoso.example",
        "it@partner.example",
    ]
    mails = world.session.scalars(select(OutboxRow).where(OutboxRow.kind == "incident.reply").order_by(OutboxRow.id))
    assert [(m.recipient, m.language) for m in mails] == [
        ("marie.dupont@contoso.example", "fr"),
        ("jonas.becker@contoso.example", "en"),  # his contact language (German: written to in English)
        ("it@partner.example", "fr"),  # nobody known: the site's
    ]
    with pytest.raises(InvalidInput):
        post(world, ENGINEER, incident, OPENED, cc=[f"u{i}@partner.example" for i in range(MAX_CC - 1)])
    conv.remove_copy(world.session, world.marie, incident.id, "it@partner.example", now=OPENED)
    assert [c.email for c in conv.copies_of(world.session, incident)] == ["jonas.becker@contoso.example"]
    with pytest.raises(NotFound):
        conv.remove_copy(world.session, world.marie, incident.id, "it@partner.example", now=OPENED)


# --------------------------------------------------------------------------- the migration
def test_the_migration_gives_every_incident_already_there_its_own_token(fresh_database, tmp_path):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from unisupport.storage.base import Base
    from unisupport.storage.database import alembic_config, migrate
    from unisupport.storage.tables.saved_views import described_by_models

    with fresh_database.transaction() as session:
        w = World(session, None, None, BlobStore(tmp_path))  # type: ignore[arg-type]
        import_order(session, read_order_document(EXAMPLES / "contoso-multicountry.yaml"), actor="ops", now=OPENED)
        customer = session.scalar(select(CustomerRow.id).where(CustomerRow.code == "contoso"))
        w.marie = Principal(
            user_id=1, email="marie.dupont@contoso.example", role=Role.REACTIVE_CONTACT, customer_id=customer
        )
        for _ in range(3):
            open_sev_b(w)
    command.downgrade(alembic_config(fresh_database.engine), "0010_ended_sessions")
    migrate(fresh_database.engine)
    with fresh_database.engine.connect() as connection:
        tokens = [row[0] for row in connection.exec_driver_sql("SELECT reply_token FROM incidents")]
        opts = {"compare_type": True, "include_name": described_by_models}  # the search table: the migration's
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), Base.metadata)
    assert len(tokens) == len(set(tokens)) == 3 and all(is_reply_token(t) for t in tokens)
    assert diff == []
