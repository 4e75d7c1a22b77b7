"""A satisfaction survey answered in a real browser (Chromium via Playwright) from
the link of the mail the worker sent over real SMTP (R-CSAT-1): no sign-in, in the
contact's language (French), once; then the CSAM sees the answer on the survey page.
And the one-click unsubscribe page, opened from an announcement's header (R-COM-1).
Skipped without /usr/bin/chromium (as tests/test_browser.py)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from api_server import SEV_B, serving
from test_browser import browser, sign_in  # noqa: F401  (browser: the fixture, Chromium via Playwright)
from test_notifications import MAIL_FROM, smtp_server  # noqa: F401  (the fixture: a real SMTP server)

from unisupport.notifications.mailer import SmtpMailer
from unisupport.notifications.signed_links import MailLinks
from unisupport.services.users import update_user
from unisupport.settings import load_secret
from unisupport.worker import run_once

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(f"sqlite:///{tmp_path_factory.mktemp('surveys') / 'unisupport.db'}", NOW) as srv:
        with srv.database.transaction() as session:
            update_user(session, email="marie.dupont@contoso.example", language="fr", actor="setup", now=NOW)
        yield srv


def _worker(server, smtp_server):  # noqa: F811
    mailer = SmtpMailer(smtp_server.url, MAIL_FROM, timeout=10)
    run_once(server.database, mailer, clock=server.clock, name="t", links=MailLinks(load_secret(), server.url))


def test_a_survey_is_answered_in_the_browser_from_the_mail_link(browser, server, smtp_server):  # noqa: F811
    with server.client("contoso_admin") as c:
        incident = c.post("/api/v1/incidents", json=SEV_B).json()
    with server.client("engineer") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "Fixed"}).status_code == 200
    _worker(server, smtp_server)
    [mail] = [m for m in smtp_server.messages if "/surveys/answer/" in m.get_content()]
    assert mail["To"] == "marie.dupont@contoso.example" and mail["Content-Language"] == "fr"
    link = re.search(r"(https?://\S+/surveys/answer/\S+)", mail.get_content()).group(1)

    context = browser.new_context(locale="en-GB")  # the link, not the browser, says the language
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Enquête de satisfaction" in page.get_by_test_id("survey-title").inner_text()
    page.locator("label[for='score-4']").click()
    page.get_by_test_id("survey-comment").fill("Rapide et clair, merci.")
    page.get_by_test_id("survey-submit").click()
    assert "Merci pour votre réponse" in page.get_by_test_id("survey-done").inner_text()
    again = page.goto(link)  # used once: the second visit is refused
    assert again.status == 409 and "answered already" in page.content()
    context.close()

    csam = browser.new_context(base_url=server.url, locale="en-GB")
    page = csam.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, "csam")
    page.goto("/surveys")
    assert "Rapide et clair, merci." in page.get_by_test_id("surveys-answers").inner_text()
    assert page.get_by_test_id("surveys-customer-contoso-rate").inner_text().startswith("100")
    csam.close()


def test_the_unsubscribe_page_from_an_announcement_header_works_in_one_click(browser, server, smtp_server):  # noqa: F811
    token = MailLinks(load_secret(), server.url).unsubscribe_url("cloud-ops@contoso.example", "announcement")
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(token)
    page.get_by_test_id("unsubscribe-submit").click()
    assert "will receive no more" in page.get_by_test_id("unsubscribe-done").inner_text()
    context.close()
