"""The incident page around its conversation, without JavaScript (a cookie jar and
forms, like test_web.py), on SQLite and PostgreSQL: the thread first, oldest first,
notes set apart and never shown to customers, events folded, the composer with
several files and copies answered like every form, the target in a side panel, the
contact's phone for the engineer, and customers finding their closed incidents."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_server import SMALL_LIMITS, signing_secret, start, stop
from sqlalchemy import func, select
from test_web import NO_FILE, Browser, text

from unisupport.incidents.attachment import MB
from unisupport.storage.tables import AttachmentRow, MessageRow

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
PDF = b"%PDF-1.4\n" + b"trace " * 200


@pytest.fixture(scope="module")
def web(backend, temp_databases):
    with signing_secret("test-only-secret-" + "c" * 40):
        server, uv, thread = start(temp_databases.new_url(backend), MONDAY, conversation_settings=SMALL_LIMITS)
        yield server
        stop(uv, thread, server)


@pytest.fixture(autouse=True)
def monday(web):
    web.clock.at = MONDAY


def open_incident(web, who="contoso_admin", title="Mail flow stopped") -> int:
    body = {"site": "paris", "product": "exchange-online", "severity": "B", "title": title, "business_impact": "b"}
    r = web.client(who).post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def compose(b: Browser, incident: int, files=None, **fields):
    """Send the composer from the incident page as a browser does (multipart), and
    follow its answer."""
    b.get(f"/incidents/{incident}")
    return b.send(f"/incidents/{incident}/messages", {"body": "Hello"} | fields, files=files or NO_FILE)


def entry(html: str, kind: str) -> str:
    """The thread entry of class ``item-<kind>`` (up to the next entry)."""
    start = html.index(f'<li class="item item-message item-{kind}"')
    ends = [i for i in (html.find('<li class="item ', start + 1), html.find("</ol>", start)) if i > 0]
    return html[start : min(ends)]


def count(web, table, *where) -> int:
    with web.database.transaction() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def test_the_engineer_replies_with_files_and_writes_a_note_the_customer_never_sees(web):
    incident = open_incident(web)
    eva = Browser(web)
    eva.sign_in("engineer")
    web.clock.advance(minutes=10)
    page = compose(
        eva,
        incident,
        files=[
            ("files", ("trace.pdf", PDF, "application/pdf")),
            ("files", ("notes été.txt", b"ligne\n", "text/plain")),
        ],
        body="We restarted the **transport** service.\n\n- queues drained\n- mail flowing",
        cc="it@partner.example",
        needs_answer="on",
        visibility="public",
    )
    assert "Your message is added to the conversation." in text(page)
    assert re.search(r"#message-\d+$", str(page.url)) is None  # the fragment stays in the browser
    page = compose(eva, incident, body="Internal 7f3: the relay we changed on Friday", visibility="internal")
    assert "the customer does not see it" in text(page)
    html = page.text
    assert html.index('data-testid="conversation"') < html.index('data-testid="composer"')
    reply = entry(html, "reply")
    assert "<strong>transport</strong>" in reply and "<li>queues drained</li>" in reply
    assert 'data-testid="first-response-tag"' in reply and 'data-testid="needs-answer-tag"' in reply
    assert "Mailed to marie.dupont@contoso.example · copy to it@partner.example" in text(page)
    note = entry(html, "note")
    assert 'data-visibility="internal"' in note and "internal note" in note
    # The system's events are folded into lines that open.
    assert '<li class="item item-events" data-kind="events">' in html and "<details>" in html
    assert 'data-testid="incident-side"' in html and html.index('data-testid="composer"') < html.index("incident-side")
    links = re.findall(r'href="(/incidents/\d+/attachments/\d+)" download', reply)
    assert len(links) == 2
    download = eva.get(links[0])
    assert download.content == PDF and download.headers["content-disposition"].startswith("attachment;")

    marie = Browser(web)
    marie.sign_in("contoso_admin")
    page = marie.get(f"/incidents/{incident}")
    assert "We restarted the" in page.text and "trace.pdf" in page.text and "notes été.txt" in page.text
    assert "Internal 7f3" not in page.text and "relay we changed" not in page.text
    assert 'data-testid="composer-internal"' not in page.text and 'data-testid="contact"' not in page.text
    assert 'data-testid="message-deliveries' not in page.text  # delivery reports are the provider's
    assert marie.get(links[1]).status_code == 200
    note_id = int(re.search(r'id="message-(\d+)"', note).group(1))
    with web.database.transaction() as session:
        [note_file] = session.scalars(select(AttachmentRow.id).where(AttachmentRow.message_id == note_id)).all() or [
            None
        ]
    assert note_file is None  # this note has no file; the customer's view of a note's file is tested below


def test_a_customers_view_never_holds_a_notes_file(web):
    incident = open_incident(web)
    eva = Browser(web)
    eva.sign_in("engineer")
    compose(
        eva,
        incident,
        files=[("files", ("relay-secret.conf", b"relay open", "text/plain"))],
        body="n",
        visibility="internal",
    )
    with web.database.transaction() as session:
        note_file = session.scalar(select(AttachmentRow.id).where(AttachmentRow.filename == "relay-secret.conf"))
    marie = Browser(web)
    marie.sign_in("contoso_admin")
    assert "relay-secret.conf" not in marie.get(f"/incidents/{incident}").text
    assert marie.get(f"/incidents/{incident}/attachments/{note_file}").status_code == 404
    assert eva.get(f"/incidents/{incident}/attachments/{note_file}").content == b"relay open"
    fabrikam = Browser(web)
    fabrikam.sign_in("fabrikam_admin")
    assert fabrikam.get(f"/incidents/{incident}/attachments/{note_file}").status_code == 404


def test_the_engineer_sees_who_to_call_and_the_target_beside_the_thread(web):
    incident = open_incident(web)
    eva = Browser(web)
    eva.sign_in("engineer")
    page = eva.get(f"/incidents/{incident}")
    contact = re.search(r'<section aria-labelledby="contact-title".*?</section>', page.text, re.DOTALL).group(0)
    assert 'href="tel:+33170364200"' in contact and "+33 1 70 36 42 00" in contact
    assert 'href="mailto:marie.dupont@contoso.example"' in contact
    side = page.text[page.text.index('data-testid="incident-side"') :]
    assert 'id="first-response-title"' in side and 'data-testid="why-summary"' in side


def test_bad_composer_input_is_said_beside_the_field_and_nothing_is_written(web):
    incident = open_incident(web)
    eva = Browser(web)
    eva.sign_in("engineer")
    eva.get(f"/incidents/{incident}")
    before = (count(web, MessageRow), count(web, AttachmentRow))
    cases = [
        ({"body": ""}, None, "error-body"),
        ({}, [("files", ("empty.log", b"", "text/plain"))], "error-files"),
        ({}, [("files", ("big.bin", b"x" * (MB + 1), "application/octet-stream"))], "error-files"),
        ({}, [("files", ("../../etc/passwd", b"x", "text/plain"))], "error-files"),
        ({"cc": ", ".join(f"p{i}@partner.example" for i in range(500))}, None, "error-cc"),
        ({"cc": "not-an-address"}, None, "error-cc"),
    ]
    for fields, files, error in cases:
        page = compose(eva, incident, files=files, **fields)
        assert f'data-testid="{error}"' in page.text, (fields, files, text(page)[:300])
        assert 'data-testid="outcome"' in page.text and page.status_code == 200
    assert (count(web, MessageRow), count(web, AttachmentRow)) == before
    # A message past the limit as a whole is refused before it is read.
    r = eva.post(
        f"/incidents/{incident}/messages",
        {"body": "x"},
        files=[("files", (f"part{i}.bin", b"x" * (MB - 10), "application/octet-stream")) for i in range(4)],
    )
    assert r.status_code == 413 and "at most 2 MB" in text(r)
    # Without the session's CSRF token, nothing.
    r = eva.post(f"/incidents/{incident}/messages", {"body": "x", "csrf_token": "forged"}, files=NO_FILE)
    assert r.status_code == 403
    # A customer cannot slip in an internal note.
    marie = Browser(web)
    marie.sign_in("contoso_admin")
    page = compose(marie, incident, body="psst", visibility="internal")
    assert "internal notes are the provider's" in text(page)
    assert (count(web, MessageRow), count(web, AttachmentRow)) == before


def test_customers_find_their_closed_incidents_and_answering_one_reopens_it(web):
    incident = open_incident(web, title="Calendar sync broken for Lyon")
    other = open_incident(web, title="Printer jam")
    with web.client("engineer") as c:
        c.post(f"/api/v1/incidents/{incident}/closure", json={"summary": "Fixed"}).raise_for_status()
    web.clock.advance(days=3)
    marie = Browser(web)
    marie.sign_in("contoso_admin")
    assert 'data-testid="nav-incidents"' in marie.get("/dashboard").text
    found = marie.get("/incidents", params={"q": "calendar SYNC", "status": "closed"})
    assert f'data-testid="incident-row-{incident}"' in found.text and f"incident-row-{other}" not in found.text
    for q in (f"#{incident}", str(incident), f"INC-{incident:06d}"):
        assert f'data-testid="incident-row-{incident}"' in marie.get("/incidents", params={"q": q}).text
    assert 'data-testid="incidents-table-empty"' in marie.get("/incidents", params={"q": "100%_"}).text
    page = marie.get(f"/incidents/{incident}")
    assert 'data-testid="composer-reopens"' in page.text
    page = compose(marie, incident, body="It is broken again since this morning")
    assert "It is broken again" in page.text and 'data-testid="incident-status">open<' in page.text.replace("\n", "")
    fabrikam = Browser(web)
    fabrikam.sign_in("fabrikam_admin")
    assert f"incident-row-{incident}" not in fabrikam.get("/incidents", params={"q": str(incident)}).text


def test_the_engineer_reopens_and_removes_a_copy(web):
    incident = open_incident(web)
    eva = Browser(web)
    eva.sign_in("engineer")
    page = compose(eva, incident, cc="it@partner.example; ops@partner.example")
    assert "it@partner.example" in text(page)
    page = eva.send(f"/incidents/{incident}/copies/remove", {"email": "it@partner.example"})
    assert "it@partner.example is no longer copied." in text(page)
    copies = re.search(r'data-testid="copies-list">.*?</ul>', page.text, re.DOTALL).group(0)
    assert "ops@partner.example" in copies and "it@partner.example" not in copies
    with web.client("engineer") as c:
        c.post(f"/api/v1/incidents/{incident}/closure", json={"summary": "Fixed"}).raise_for_status()
    page = eva.get(f"/incidents/{incident}")
    assert 'data-testid="composer-public"' not in page.text and 'data-testid="composer-internal"' in page.text
    page = eva.send(f"/incidents/{incident}/reopening", {"reason": "The customer called back"})
    assert "The incident is open again." in text(page) and 'data-testid="composer-public"' in page.text
    web.clock.at = MONDAY + timedelta(minutes=1)
