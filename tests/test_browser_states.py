"""A pause and a resume of the update clock seen on the incident page, in a real
browser (Debian's Chromium driven by Playwright, as tests/test_browser.py), against a
real server whose clock is pinned (Wednesday 25 November 2026, 10:00 in Paris): the
engineer's reply that needs Marie's answer pauses the next update (awaiting the
customer), Marie's answer on her French page resumes it with the pause counted, and the
engineer's state control records the mitigation with its reason (R-INC-1, R-INC-2,
R-SLA-4; docs/decisions.md D93–D96)."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from api_server import start, stop
from test_browser import (  # noqa: F401  (the fixtures browser and open_page, which takes this module's server)
    NOW,
    PASSWORD,
    SCREENSHOTS,
    browser,
    open_page,
    shot,
    sign_in,
)

from unisupport.incidents.routing import TEAMS
from unisupport.services.users import add_to_team, update_user
from unisupport.web.session import SECRET_KEY

assert PASSWORD  # the people of tests/api_server.py sign in with it (test_browser.sign_in)


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):  # noqa: F811
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "browser-states-secret-" + "s" * 40
    srv, uv, thread = start(f"sqlite:///{tmp_path_factory.mktemp('states') / 'unisupport.db'}", NOW)
    setup = datetime(2026, 1, 1, tzinfo=NOW.tzinfo)
    with srv.database.transaction() as session:
        for code in TEAMS:
            add_to_team(session, email="engineer@provider.example", team_code=code, actor="setup", now=setup)
        update_user(session, email="marie.dupont@contoso.example", language="fr", actor="setup", now=setup)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield srv
    stop(uv, thread, srv)
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


def test_the_update_clock_pauses_while_awaiting_the_customer_and_resumes_on_her_answer(server, open_page):  # noqa: F811
    body = {"site": "paris", "product": "exchange-online", "severity": "1", "channel": "portal"}
    with server.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", json=body | {"title": "No mail at all", "business_impact": "Nobody can mail"})
    assert r.status_code == 201, r.text
    incident = r.json()["id"]

    server.clock.advance(minutes=5)
    engineer = open_page()
    sign_in(engineer, "engineer")
    engineer.goto(f"/incidents/{incident}")
    assert engineer.get_by_test_id("incident-state").text_content().strip() == "open"
    engineer.get_by_test_id("composer-body").fill("Hello Marie, which mailboxes fail first?")
    engineer.get_by_test_id("composer-needs-answer").check()
    with engineer.expect_navigation():
        engineer.get_by_test_id("composer-submit").click()
    assert engineer.get_by_test_id("incident-state").text_content().strip() == "awaiting the customer"
    panel = engineer.get_by_test_id("update-target")
    assert panel.get_attribute("data-state") == "paused"
    assert "awaiting the customer" in engineer.get_by_test_id("update-paused").text_content()
    assert "Unified Enhanced Response" in engineer.get_by_test_id("update-why").text_content()
    shot(engineer, "13-update-paused")

    server.clock.advance(minutes=40)  # Marie answers 40 minutes later, in French
    customer = open_page()
    sign_in(customer, "contoso_admin")
    customer.goto(f"/incidents/{incident}")
    assert customer.get_by_test_id("incident-state").text_content().strip() == "en attente du client"
    assert customer.get_by_test_id("update-target").get_attribute("data-state") == "paused"
    customer.get_by_test_id("composer-body").fill("Toutes, depuis 9 h 50.")
    with customer.expect_navigation():
        customer.get_by_test_id("composer-submit").click()
    assert customer.get_by_test_id("incident-state").text_content().strip() == "en cours"
    panel = customer.get_by_test_id("update-target")
    assert panel.get_attribute("data-state") == "pending"
    # 30 minutes of update clock from 10:05, 40 of them paused: due at 11:15, Paris time.
    assert customer.get_by_test_id("update-due").get_attribute("datetime").startswith("2026-11-25T11:15:00")
    assert "40" in customer.get_by_test_id("update-pauses").text_content()
    shot(customer, "14-update-resumed")

    engineer.reload()
    assert engineer.get_by_test_id("update-target").get_attribute("data-state") == "pending"
    engineer.get_by_test_id("state-target").select_option("mitigated")
    engineer.get_by_test_id("state-reason").fill("Transport service restarted")
    with engineer.expect_navigation():
        engineer.get_by_test_id("state-submit").click()
    assert engineer.get_by_test_id("incident-state").text_content().strip() == "mitigated"
    assert "Transport service restarted" in engineer.get_by_test_id("conversation").text_content()
