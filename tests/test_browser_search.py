"""Search and saved views in a real browser (Debian's Chromium, Playwright) against a
real server (tests/api_server.py, SQLite): the engineer searches the queue in French
words, saves the view, opens it again from its link, takes the incident found in bulk
(its engineer column then names them), sorts by a column and deletes the view; the
customer searches their history in English and sees the highlighted snippet, never
another customer's incident. No browser is downloaded: without /usr/bin/chromium these
tests are skipped, and fail under CI (tests/test_browser.py's rule)."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from api_server import start, stop
from test_browser import browser, sign_in  # noqa: F401  (browser: the fixture, Chromium once per module)

from unisupport.incidents.routing import TEAMS
from unisupport.services.users import add_to_team
from unisupport.web.session import SECRET_KEY

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
INCIDENTS = [
    ("contoso_admin", "paris", "L'imprimante du service compta est bloquée", "Les factures ne sortent plus"),
    ("contoso_admin", "paris", "The printer spooler crashes", "Labels are not printed"),
    ("contoso_admin", "paris", "Mail flow stopped", "Order confirmations are not sent"),
]


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):  # noqa: F811  (the fixture imported above)
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "browser-search-secret-" + "s" * 40
    srv, uv, thread = start(f"sqlite:///{tmp_path_factory.mktemp('search') / 'unisupport.db'}", NOW)
    with srv.database.transaction() as session:
        for code in TEAMS:
            add_to_team(session, email="engineer@provider.example", team_code=code, actor="setup", now=NOW)
    ids = []
    for who, site, title, impact in INCIDENTS:
        with srv.client(who) as client:
            body = {"site": site, "product": "exchange-online", "severity": "B", "title": title}
            r = client.post("/api/v1/incidents", json=body | {"business_impact": impact, "channel": "portal"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    srv.ids = ids
    yield srv
    stop(uv, thread, srv)
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


@pytest.fixture
def page(browser, server):  # noqa: F811
    context = browser.new_context(base_url=server.url, locale="en-GB", timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def rows(page) -> list[str]:
    return page.locator("[data-testid^=incident-row-]").evaluate_all("rows => rows.map(r => r.dataset.testid)")


def test_the_engineer_searches_saves_a_view_opens_it_takes_the_incident_and_deletes_the_view(page, server):
    french, english, mail = server.ids
    sign_in(page, "engineer")
    page.goto("/queue")
    assert set(rows(page)) >= {f"incident-row-{i}" for i in server.ids}
    page.get_by_test_id("filter-q").fill("imprimantes")  # the French plural finds the singular
    with page.expect_navigation():
        page.get_by_test_id("filter-submit").click()
    assert rows(page) == [f"incident-row-{french}"]

    page.get_by_test_id("view-name").fill("Imprimantes")
    with page.expect_navigation():
        page.get_by_test_id("view-save").click()
    link = page.get_by_role("link", name="Imprimantes")
    assert link.is_visible()

    page.goto("/queue")
    assert len(rows(page)) >= 3
    with page.expect_navigation():
        page.get_by_role("link", name="Imprimantes").click()
    assert rows(page) == [f"incident-row-{french}"]
    assert page.get_by_test_id("filter-q").input_value() == "imprimantes"

    page.get_by_test_id(f"select-{french}").check()
    with page.expect_navigation():
        page.get_by_test_id("bulk-take").click()
    assert page.get_by_test_id(f"assignee-{french}").inner_text() == "engineer@provider.example"
    assert rows(page) == [f"incident-row-{french}"]  # back on the view it was taken from

    page.goto("/queue?sort=-title")
    order = rows(page)
    assert order.index(f"incident-row-{english}") < order.index(f"incident-row-{mail}")
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Title")

    view = page.locator("[data-testid^=view-delete-]")
    with page.expect_navigation():
        view.first.click()
    assert page.get_by_test_id("views-none").is_visible()


def test_the_customer_finds_their_incident_with_a_highlighted_snippet_and_nothing_of_others(page, server):
    french, english, _ = server.ids
    sign_in(page, "contoso_admin")
    page.goto("/incidents")
    page.get_by_test_id("incident-q").fill("printers")
    with page.expect_navigation():
        page.get_by_test_id("incident-find").click()
    assert rows(page) == [f"incident-row-{english}"]
    assert page.get_by_test_id(f"snippet-{english}").locator("mark").first.inner_text().lower() == "printer"
    page.get_by_test_id("view-name").fill("My printers")
    with page.expect_navigation():
        page.get_by_test_id("view-save").click()
    assert page.get_by_role("link", name="My printers").is_visible()

    page.context.clear_cookies()
    sign_in(page, "fabrikam_admin")
    page.goto("/incidents?q=printers")
    assert rows(page) == []
    assert page.get_by_test_id("views-none").is_visible()  # Contoso's view is Marie's own
