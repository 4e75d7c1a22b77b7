"""An incident opened by mail, over real HTTP (SQLite and PostgreSQL): the API and the
page say its severity waits for an engineer (R-SEV-1) until one confirms it; a
customer cannot confirm it; a follow-up incident links to the closed one."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import test_web
from api_server import start, stop
from mail_corpus import mail_bytes

from unisupport.mail_in.message import parse
from unisupport.mail_in.settings import MailInSettings
from unisupport.services import mail_in
from unisupport.services.incidents import IncidentSettings
from unisupport.web.session import SECRET_KEY

TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(scope="module")
def server(backend, temp_databases):
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "test-only-secret-" + "m" * 40
    server, uv, thread = start(temp_databases.new_url(backend), TUESDAY)
    yield server
    stop(uv, thread, server)
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


def opened_by_mail(server, tmp_path) -> int:
    raw = mail_bytes({"file": "html_only_new_sev_a.eml"}).replace(b"<000001dab4c1", f"<{tmp_path.name}".encode())
    settings = MailInSettings(
        reply_address="support@provider.example",
        mail_from="unisupport@provider.example",
        blob_dir=tmp_path / "blobs",
        incident=IncidentSettings(reply_address="support@provider.example"),
    )
    with server.database.transaction() as session:
        result = mail_in.handle(session, parse(raw), raw, source="stdin", settings=settings, now=server.clock.now())
    assert result.outcome == "opened", result.reason
    return result.incident_id


def test_the_api_says_the_severity_is_to_confirm_until_an_engineer_confirms_it(server, tmp_path):
    incident_id = opened_by_mail(server, tmp_path)
    with server.client("contoso_admin") as customer, server.client("engineer") as engineer:
        view = customer.get(f"/api/v1/incidents/{incident_id}").json()
        assert (view["severity"], view["severity_to_confirm"], view["channel"]) == ("A", True, "email")
        refused = customer.post(f"/api/v1/incidents/{incident_id}/severity/confirmation")
        assert refused.status_code == 403
        done = engineer.post(f"/api/v1/incidents/{incident_id}/severity/confirmation")
        assert done.status_code == 200 and done.json()["incident"]["severity_to_confirm"] is False
        events = engineer.get(f"/api/v1/incidents/{incident_id}/events").json()
        kinds = [e["kind"] for e in events]
        assert "severity-to-confirm" in kinds and "severity-confirmed" in kinds


def test_the_page_shows_the_notice_and_the_engineer_confirms_it_there(server, tmp_path):
    incident_id = opened_by_mail(server, tmp_path)
    browser = test_web.Browser(server)
    browser.sign_in("engineer")
    page = browser.get(f"/incidents/{incident_id}")
    assert 'data-testid="severity-to-confirm"' in page.text and "an engineer agrees the severity" in page.text
    version = page.text.split('name="version" value="')[1].split('"')[0]
    answer = browser.post(f"/incidents/{incident_id}/severity/confirmation", {"version": version})
    assert answer.status_code in (200, 303)
    assert 'data-testid="severity-to-confirm"' not in browser.get(f"/incidents/{incident_id}").text
    customer = test_web.Browser(server)
    customer.sign_in("contoso_admin")
    customer.get("/dashboard")
    assert customer.post("/language", {"language": "fr", "next": "/dashboard"}).status_code == 303
    other = opened_by_mail(server, tmp_path / "second")
    page = customer.get(f"/incidents/{other}").text
    assert "un ingénieur convient de la gravité avec le client" in test_web.text(customer.get(f"/incidents/{other}"))
    assert 'data-testid="confirm-severity"' not in page  # customers state the impact; the provider agrees
    customer.post("/language", {"language": "en", "next": "/dashboard"})
