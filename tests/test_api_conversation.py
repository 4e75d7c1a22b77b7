"""The conversation through the REST API over real HTTP, on SQLite and PostgreSQL:
messages with Idempotency-Key, If-Match and problem+json like the rest of the API;
customers never receive internal notes and may not write one (403); files uploaded
as multipart within their limits (413 naming the file, before anything is stored),
downloaded as attachments only, another tenant's a 404; copies bounded; a closed
incident reopened."""

from __future__ import annotations

import socket
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from api_server import SMALL_LIMITS, start, stop
from sqlalchemy import func, select

from unisupport.incidents.attachment import MB
from unisupport.storage.tables import AttachmentRow, MessageRow, OutboxRow

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
PROBLEM = "application/problem+json"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture(scope="module")
def api(backend, temp_databases):
    server, uv, thread = start(temp_databases.new_url(backend), MONDAY, conversation_settings=SMALL_LIMITS)
    yield server
    stop(uv, thread, server)


@pytest.fixture(autouse=True)
def monday(api):
    api.clock.at = MONDAY


def open_incident(api, who="contoso_admin", site="paris") -> dict:
    body = {"site": site, "product": "exchange-online", "severity": "B", "title": "Mail flow stopped"}
    r = api.client(who).post("/api/v1/incidents", json=body | {"business_impact": "Orders"})
    assert r.status_code == 201, r.text
    return r.json()


def upload(api, who, incident_id, *files, **headers):
    return api.client(who).post(
        f"/api/v1/incidents/{incident_id}/attachments",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        headers=headers,
    )


def rows(api, table, *where) -> int:
    with api.database.transaction() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def test_a_reply_is_the_first_response_and_a_retry_with_its_key_writes_nothing_more(api):
    incident = open_incident(api)
    api.clock.advance(minutes=10)
    key = str(uuid.uuid4())
    with api.client("engineer") as c:
        stale = c.post(
            f"/api/v1/incidents/{incident['id']}/messages", json={"body": "Hello"}, headers={"If-Match": '"0"'}
        )
        assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
        first = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"body": "We are on it", "needs_answer": True},
            headers={"If-Match": '"1"', "Idempotency-Key": key},
        )
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["incident"]["first_response"]["state"] == "met"
        assert body["message"]["first_response"] and body["message"]["needs_answer"]
        assert first.headers["etag"] == f'"{body["incident"]["version"]}"'
        assert first.headers["location"] == f"/api/v1/incidents/{incident['id']}/messages/{body['message']['id']}"
        assert body["message"]["recipients"][0]["delivery"]["status"] == "pending"
        again = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"body": "We are on it", "needs_answer": True},
            headers={"If-Match": '"1"', "Idempotency-Key": key},
        )
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["message"]["id"] == body["message"]["id"]
        assert (
            c.get(f"/api/v1/incidents/{incident['id']}/messages/{body['message']['id']}").json()["body"]
            == "We are on it"
        )
    assert rows(api, OutboxRow, OutboxRow.kind == "incident.reply", OutboxRow.subject_id == incident["id"]) == 1
    view = api.client("contoso_admin").get(f"/api/v1/incidents/{incident['id']}").json()
    assert view["links"]["messages"] == f"/api/v1/incidents/{incident['id']}/messages"
    assert view["customer_side"][0]["rule"] == "R-SLA-4"  # the answer it asked for is awaited


def test_customers_never_receive_an_internal_note_and_may_not_write_one(api):
    incident = open_incident(api)
    with api.client("engineer") as c:
        [upload_id] = [
            a["id"]
            for a in upload(api, "engineer", incident["id"], ("relay-config.txt", b"open relay")).json()["items"]
        ]
        r = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"visibility": "internal", "body": "Our relay is the cause", "attachments": [upload_id]},
        )
        assert r.status_code == 201 and r.json()["message"]["visibility"] == "internal"
        assert r.json()["incident"]["version"] == incident["version"]  # nothing changed that a customer sees
        note_id = r.json()["message"]["id"]
        assert [m["id"] for m in c.get(f"/api/v1/incidents/{incident['id']}/messages").json()] == [note_id]
    with api.client("contoso_admin") as c:
        assert c.get(f"/api/v1/incidents/{incident['id']}/messages").json() == []
        assert c.get(f"/api/v1/incidents/{incident['id']}/attachments").json() == []
        assert c.get(f"/api/v1/incidents/{incident['id']}/messages/{note_id}").status_code == 404
        assert c.get(f"/api/v1/incidents/{incident['id']}/attachments/{upload_id}").status_code == 404
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"visibility": "internal", "body": "x"})
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM and "internal notes" in r.json()["detail"]
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "Any news?"})
        assert r.status_code == 201 and r.json()["message"]["from_customer"]
    with api.client("csam") as c:  # a provider role: the note, but no reply to the customer
        assert len(c.get(f"/api/v1/incidents/{incident['id']}/messages").json()) == 2
        assert c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "Hi"}).status_code == 403


def test_files_are_uploaded_downloaded_as_attachments_and_kept_from_other_tenants(api):
    incident = open_incident(api)
    r = upload(api, "contoso_admin", incident["id"], ("capture d'écran.png", PNG), ("notes.txt", b"ligne 1\n"))
    assert r.status_code == 201, r.text
    png, txt = r.json()["items"]
    assert (png["content_type"], png["size"], txt["content_type"]) == ("image/png", len(PNG), "text/plain")
    with api.client("contoso_admin") as c:
        sent = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"body": "Screenshot attached", "attachments": [png["id"], txt["id"]]},
        )
        assert sent.status_code == 201, sent.text
        assert [a["filename"] for a in sent.json()["message"]["attachments"]] == ["capture d'écran.png", "notes.txt"]
        download = c.get(png["download"])
        assert download.status_code == 200 and download.content == PNG
        assert download.headers["content-disposition"] == (
            "attachment; filename=\"capture d'ecran.png\"; filename*=UTF-8''" + quote("capture d'écran.png", safe="")
        )
        assert download.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in download.headers["content-security-policy"]
    with api.client("engineer") as c:
        assert c.get(png["download"]).content == PNG
    with api.client("fabrikam_admin") as c:
        assert c.get(png["download"]).status_code == 404
        assert c.get(f"/api/v1/incidents/{incident['id']}/attachments").status_code == 404
        assert upload(api, "fabrikam_admin", incident["id"], ("x.txt", b"x")).status_code == 404
        theirs = open_incident(api, "fabrikam_admin", site="seattle")
        [mine] = upload(api, "fabrikam_admin", theirs["id"], ("fabrikam.txt", b"ours")).json()["items"]
    with api.client("contoso_admin") as c:
        for ids, path in (
            ([mine["id"]], "attachments[0]"),
            ([png["id"]], "attachments[0]"),
            ([2**31 - 1], "attachments[0]"),
        ):
            r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "x", "attachments": ids})
            assert r.status_code == 422 and r.json()["errors"][0]["path"] == path, r.text


def test_bad_files_are_refused_naming_them_before_anything_is_stored(api):
    incident = open_incident(api)
    before = rows(api, AttachmentRow)
    blobs_before = set(api.blobs.digests())
    cases = [
        ([("empty.log", b"")], 422, "files[0]"),
        ([("ok.txt", b"ok"), ("huge.bin", b"x" * (MB + 1))], 413, "files[1]"),
        ([("a.bin", b"a" * MB), ("b.bin", b"b" * MB), ("c.bin", b"c" * 10)], 413, "files"),
        ([("../../etc/passwd", b"root:x:0:0")], 422, "files[0]"),
    ]
    for files, status, path in cases:
        r = upload(api, "engineer", incident["id"], *files)
        assert r.status_code == status and r.headers["content-type"] == PROBLEM, (files[-1][0], r.text)
        assert r.json()["errors"][0]["path"] == path
        if status == 413:
            assert r.json()["title"] == "Content too large" and "MB" in r.json()["detail"]
    # A control character in a part's header (httpx would percent-encode it: written by hand).
    raw = (
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="bell\x07.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
    )
    r = api.client("engineer").post(
        f"/api/v1/incidents/{incident['id']}/attachments",
        content=raw,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "files[0]", r.text
    assert "control characters" in r.json()["detail"]
    # A body announced larger than a message may carry is refused before a byte of it is sent.
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw_socket:
        raw_socket.sendall(
            (
                f"POST /api/v1/incidents/{incident['id']}/attachments HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {api.tokens['engineer']}\r\n"
                f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {10 * MB}\r\n\r\n"
            ).encode()
        )
        assert raw_socket.recv(200).startswith(b"HTTP/1.1 413 ")
    r = api.client("engineer").post(f"/api/v1/incidents/{incident['id']}/attachments", json={"files": []})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "files"
    assert rows(api, AttachmentRow) == before and set(api.blobs.digests()) == blobs_before


def test_copies_are_bounded_and_checked_and_a_closed_incident_reopens(api):
    incident = open_incident(api)
    with api.client("engineer") as c:
        r = c.post(
            f"/api/v1/incidents/{incident['id']}/messages",
            json={"body": "x", "cc": [f"person{i}@partner.example" for i in range(500)]},
        )
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "cc" and "500 addresses" in r.json()["detail"]
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "x", "cc": ["nope"]})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "cc[0]"
        assert rows(api, MessageRow, MessageRow.incident_id == incident["id"]) == 0  # nothing half-written
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "x", "cc": ["it@partner.example"]})
        assert r.status_code == 201
        assert [x["email"] for x in c.get(f"/api/v1/incidents/{incident['id']}/copies").json()] == [
            "it@partner.example"
        ]
        version = r.json()["incident"]["version"]
        r = c.delete(
            f"/api/v1/incidents/{incident['id']}/copies/it@partner.example", headers={"If-Match": f'"{version}"'}
        )
        assert r.status_code == 200 and c.get(f"/api/v1/incidents/{incident['id']}/copies").json() == []
        c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Fixed"}).raise_for_status()
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "One more thing"})
        assert r.status_code == 409 and r.json()["rule"] == "R-INC-1"
    api.clock.advance(days=2)
    with api.client("contoso_contact") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/reopening", json={"reason": "x"}).status_code == 403
        r = c.post(f"/api/v1/incidents/{incident['id']}/messages", json={"body": "It is broken again"})
        assert r.status_code == 201 and r.json()["incident"]["status"] == "open"
    with api.client("engineer") as c:
        c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Fixed again"}).raise_for_status()
        r = c.post(f"/api/v1/incidents/{incident['id']}/reopening", json={"reason": "The customer called"})
        assert r.status_code == 200 and r.json()["incident"]["status"] == "open"
        kinds = [e["kind"] for e in c.get(f"/api/v1/incidents/{incident['id']}/events").json()]
        assert kinds.count("reopened") == 2


def test_messages_and_files_of_a_missing_or_foreign_incident_are_404(api):
    theirs = open_incident(api, "fabrikam_admin", site="seattle")
    with api.client("contoso_admin") as c:
        for path in ("messages", "attachments", "copies"):
            r = c.get(f"/api/v1/incidents/{theirs['id']}/{path}")
            assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert c.post(f"/api/v1/incidents/{theirs['id']}/messages", json={"body": "x"}).status_code == 404
        assert c.get("/api/v1/incidents/999999/attachments/1").status_code == 404
    api.clock.at = MONDAY + timedelta(minutes=1)
