"""Issue 13's incident-page parts over real HTTP, in English and French, on SQLite and
PostgreSQL: remote access authorised by the customer and logged by the engineer (R-RA-1),
the supported-product flag and its outcome (R-SUP-1), the reproduction steps and
environment of the form and the composer's diagnostic request (R-REQ-1); another
tenant's incident answers 404 to every new form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_server import serving
from test_web import FRIDAY, NO_FILE, SEV_B_FORM, Browser, confirm, open_by_api, rules_of, text

from unisupport.orders.validation import read_order_document
from unisupport.services.orders import import_order
from test_supported_products import ANNEX_A, CONTOSO


@pytest.fixture(scope="module")
def web(backend, temp_databases):
    with serving(temp_databases.new_url(backend), FRIDAY) as server:
        yield server


@pytest.fixture(autouse=True)
def friday(web):
    web.clock.at = FRIDAY


def test_the_customer_authorises_and_the_engineer_sees_until_when_and_logs_a_session(web):
    incident = open_by_api(web, product="azure-sql-database")
    path = f"/incidents/{incident['id']}"
    engineer = Browser(web)
    engineer.sign_in("engineer")
    page = engineer.get(path)
    assert "No remote access is authorised now." in text(page) and "R-RA-1" in rules_of(page)
    assert 'data-testid="remote-access-form"' not in page.text  # the customer's to authorise
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    assert 'data-testid="remote-access-form"' in customer.get(path).text
    other = {"systems": "SQL-PROD-01", "tool": "other", "other_tool": "AnyDesk", "valid_until": "2026-11-27T18:30"}
    r = customer.send(path + "/remote-access", other)  # another tool, responsibility not acknowledged
    assert 'data-testid="outcome-problems"' in r.text and "acknowledges that it is responsible" in text(r)
    assert 'value="AnyDesk"' in r.text  # the form stays filled in
    r = customer.send(
        path + "/remote-access",
        {"systems": "SQL-PROD-01", "tool": "teams-screen-sharing", "valid_until": "2026-11-27T18:30"},
    )
    assert "Remote access is authorised." in text(r)
    page = engineer.get(path)
    assert "Remote access is authorised now to SQL-PROD-01, until Friday, 27 November 2026 at 17:30 (UTC)" in text(
        page
    ), text(page)[-2500:]
    r = engineer.send(path + "/remote-sessions", {"system": "SQL-PROD-01"})
    assert "The session on SQL-PROD-01 is logged." in text(r) and "Remote session started" in text(r)
    [session_id] = re.findall(r'data-testid="remote-session-end-(\d+)"', r.text)
    web.clock.at = FRIDAY.replace(hour=18, minute=30)  # the authorisation's end, to the minute
    r = engineer.send(path + "/remote-sessions", {"system": "SQL-PROD-01"})
    assert 'data-testid="outcome-problems"' in r.text and "R-RA-1" in text(r)
    assert "No remote access is authorised now." in text(r)
    r = engineer.send(path + f"/remote-sessions/{session_id}/end", {})
    assert "The session is ended." in text(r)


def test_the_french_page_and_the_withdrawal(web):
    incident = open_by_api(web, product="azure-sql-database")
    path = f"/incidents/{incident['id']}"
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    customer.get(path)
    customer.post("/language", {"language": "fr", "next": path})
    customer.get(path)
    r = customer.send(
        path + "/remote-access",
        {
            "systems": "web-01, web-02",
            "tool": "other",
            "other_tool": "AnyDesk",
            "acknowledge_data_responsibility": "on",
            "valid_until": "2026-11-27T20:00",
        },
    )
    page = text(r)
    assert "L'accès distant est autorisé." in page and "le client est responsable de l'intégrité" in page
    [grant] = re.findall(r'data-testid="remote-access-withdraw-(\d+)"', r.text)
    r = customer.send(path + f"/remote-access/{grant}/withdrawal", {})
    assert "L'autorisation est retirée" in text(r) and "Retirée" in text(r)
    customer.post("/language", {"language": "en", "next": "/dashboard"})


def test_another_tenant_gets_404_on_every_new_form(web):
    incident = open_by_api(web, product="azure-sql-database")
    path = f"/incidents/{incident['id']}"
    stranger = Browser(web)
    stranger.sign_in("fabrikam_admin")
    stranger.get("/dashboard")
    for action, data in (
        ("/remote-access", {"systems": "x", "tool": "quick-assist", "valid_until": "2026-11-27T20:00"}),
        ("/remote-access/1/withdrawal", {}),
        ("/remote-sessions", {"system": "x"}),
        ("/remote-sessions/1/end", {}),
        ("/entitlement-check", {"outcome": "covered"}),
    ):
        assert stranger.post(path + action, data).status_code == 404, action


def test_the_form_quotes_the_reproduction_steps_and_the_engineer_asks_for_a_trace(web):
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    customer.get("/incidents/new")
    form = SEV_B_FORM | {
        "reproduction_steps": "Start the batch VM\nWait ten minutes",
        "environment": "Windows Server 2022",
    }
    previewed = customer.send("/incidents/preview", form)
    assert 'data-testid="field-reproduction-steps"' in previewed.text and "Wait ten minutes" in previewed.text
    r = confirm(customer, "/incidents", form, previewed)
    page = customer.get(r.headers["location"])
    assert (
        "Steps to reproduce" in text(page) and "Wait ten minutes" in text(page) and "Windows Server 2022" in text(page)
    )
    path = page.url.path
    engineer = Browser(web)
    engineer.sign_in("engineer")
    engineer.get(path)
    engineer.post("/language", {"language": "fr", "next": path})
    page = engineer.get(path)
    assert "Étapes pour reproduire" in text(page) and 'data-testid="composer-diagnostic"' in page.text
    r = engineer.post(
        path + "/messages",
        data={
            "visibility": "public",
            "body": "Merci d'envoyer une trace réseau.",
            "diagnostic": "network-trace",
            "csrf_token": engineer.token,
        },
        files=NO_FILE,
    )
    assert r.status_code == 303, text(r)[:300]
    page = text(engineer.get(path))
    assert "Activités de diagnostic demandées" in page and "Une trace réseau" in page and "réponse attendue" in page
    engineer.post("/language", {"language": "en", "next": "/queue"})


def test_an_uncovered_product_is_flagged_for_the_engineer_only(web):
    with web.database.transaction() as session:
        document = read_order_document(CONTOSO) | {"annex_a": ANNEX_A}
        import_order(session, document, actor="ops", now=FRIDAY - timedelta(days=1), reason="annex A")
    incident = open_by_api(web, product="azure-storage")
    assert incident["entitlement"]["state"] == "to-check", incident["entitlement"]
    path = f"/incidents/{incident['id']}"
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    assert 'data-testid="entitlement"' not in customer.get(path).text  # the customer is never blocked nor told
    engineer = Browser(web)
    engineer.sign_in("engineer")
    page = engineer.get(path)
    assert "covers Azure Storage" in text(page)
    assert "billing account BA-99-0042" in text(page)
    r = engineer.send(path + "/entitlement-check", {"outcome": "not-covered", "note": "account team told"})
    assert (
        "The entitlement check is recorded." in text(r) and "Not covered" in text(r) and "account team told" in text(r)
    )
