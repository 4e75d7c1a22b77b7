"""The portal and console in a real browser: Debian's Chromium driven by Playwright
for Python, against a real server (tests/api_server.py, SQLite) whose clock is
pinned to Wednesday 25 November 2026, 10:00 in Paris.

The issue's scenarios: a customer opens a Severity 1 through the form and sees its
countdown and why; the engineer finds it at the top of the queue and logs the
first response by phone (met); a workshop cancelled 7 days before its start shows
its 50 % fee before confirming, and the fee is in the ledger afterwards (R-BOOK-1);
French and English; another tenant's incident is a 404; pages fit a phone. Six
months of history are seeded first so that the charts have something to draw.

Screenshots of the main pages are written to ``$UNISUPPORT_SCREENSHOTS`` (default
``artifacts/screenshots/``): CI keeps them as artifacts. No browser is ever
downloaded: without /usr/bin/chromium these tests are skipped, and fail under CI."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_server import PEOPLE, start, stop
from test_notifications import smtp_server  # noqa: F401  (the fixture: a real SMTP server)

from unisupport.incidents.routing import TEAMS
from unisupport.services.incidents import IncidentSettings
from unisupport.services.users import add_to_team, update_user
from unisupport.web.session import SECRET_KEY

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("UNISUPPORT_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
if not SCREENSHOTS.is_absolute():
    SCREENSHOTS = ROOT / SCREENSHOTS

PARIS = ZoneInfo("Europe/Paris")
REPLY_ADDRESS = "support@provider.example"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)  # a Wednesday
PASSWORD = "correct horse battery"
ORDER = "ESO-2026-0042"
DESKTOP = {"width": 1200, "height": 800}  # the README's pictures
WIDE = {"width": 1366, "height": 900}  # issue 8's two screens
PHONE = {"width": 390, "height": 844}

# Six months of Contoso incidents: (month, day, severity, product, minutes to the
# first response by phone, or None: never answered — a breach). All but
# November's are closed six hours later.
HISTORY = [
    (6, 10, "B", "exchange-online", 30, "Mail to partners delayed"),
    (6, 17, "C", "exchange-online", 60, "Shared mailbox permissions"),
    (6, 24, "A", "azure-virtual-machines", 20, "Order API VMs restarting"),
    (7, 8, "B", "exchange-online", 45, "Calendar invitations not delivered"),
    (7, 15, "1", "azure-virtual-machines", 10, "Checkout down in France"),
    (7, 22, "B", "exchange-online", 2 * 24 * 60, "Journaling rule failing"),
    (8, 5, "C", "exchange-online", 30, "Question on retention tags"),
    (8, 19, "A", "azure-virtual-machines", None, "Batch cluster degraded"),
    (9, 9, "B", "exchange-online", 20, "Outlook on the web slow"),
    (9, 16, "B", "exchange-online", 90, "Connector certificate expired"),
    (9, 23, "1", "azure-virtual-machines", 25, "Payment VMs unreachable"),
    (10, 7, "A", "azure-virtual-machines", 15, "Disk latency on the ERP"),
    (10, 14, "C", "exchange-online", 100, "Mailbox size report"),
    (10, 21, "B", "exchange-online", None, "Transport rule not applied"),
    (11, 4, "B", "exchange-online", 30, "Distribution list bounces"),
    (11, 18, "1", "azure-virtual-machines", 10, "Warehouse VMs stopped"),
]


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium); no browser is downloaded"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def seed_history(server) -> dict[str, int]:
    """Incidents with met, late and breached first responses, an RCA and a
    post-incident review to follow up, and bookings spread over the year — all
    through the API, with the clock moved back in time."""
    ids: dict[str, int] = {}
    with server.client("contoso_admin") as customer, server.client("engineer") as engineer:
        for month, day, severity, product, minutes, title in HISTORY:
            server.clock.at = _at(month, day)
            r = customer.post(
                "/api/v1/incidents",
                json={
                    "site": "paris",
                    "product": product,
                    "severity": severity,
                    "channel": "portal",
                    "title": title,
                    "business_impact": "Users are affected",
                    "production_impact": True,
                },
            )
            assert r.status_code == 201, r.text
            incident = r.json()["id"]
            if minutes is not None:
                server.clock.advance(minutes=minutes)
                r = engineer.post(
                    f"/api/v1/incidents/{incident}/communications",
                    json={"direction": "outbound", "medium": "phone", "body": "Called the customer"},
                )
                assert r.status_code == 200, r.text
            if (month, day) == (9, 23):  # an RCA asked before closure (R-RCA-1), still to deliver
                assert (
                    customer.post(f"/api/v1/incidents/{incident}/rca", json={"note": "Please explain"}).status_code
                    == 200
                )
            if month < 11:  # November's stay open, answered: they follow the new Sev 1 in the queue
                server.clock.advance(hours=6)
                r = engineer.post(f"/api/v1/incidents/{incident}/closure", json={"summary": "Resolved"})
                assert r.status_code == 200, r.text
        # Bookings: credits spent in July and October (the October one cancelled in
        # time, for free), Munich's engineering hours used in August.
        bookings = [
            ((6, 10), {"service": "workshops", "unit": "per-attendee", "attendees": 1, "scheduled_on": "2026-07-01"}),
            (
                (7, 20),
                {
                    "service": "enhanced-designated-engineering",
                    "funding": "hours",
                    "site": "munich",
                    "line": "ede-munich-y1",
                    "scheduled_on": "2026-08-04",
                    "starts_at": "2026-08-04T09:00:00+02:00",
                    "ends_at": "2026-08-04T17:00:00+02:00",
                },
            ),
            ((9, 15), {"service": "workshops", "unit": "per-attendee", "attendees": 1, "scheduled_on": "2026-10-14"}),
            (
                (10, 1),
                {
                    "service": "enhanced-designated-engineering",
                    "funding": "hours",
                    "site": "munich",
                    "line": "ede-munich-y1",
                    "scheduled_on": "2026-10-20",
                    "starts_at": "2026-10-20T09:00:00+02:00",
                    "ends_at": "2026-10-20T15:00:00+02:00",
                },
            ),
        ]
        for (month, day), body in bookings:
            server.clock.at = _at(month, day)
            body = {"order": ORDER, "site": "paris", "funding": "credits"} | body
            shown = customer.post("/api/v1/bookings/quote", json=body)
            assert shown.status_code == 200, shown.text
            r = customer.post("/api/v1/bookings", json=body | shown.json()["confirm_with"])  # the cost shown (D45)
            assert r.status_code == 201, r.text
            ids[f"booking-{month}"] = r.json()["id"]
        server.clock.at = _at(9, 20)
        r = customer.post(f"/api/v1/bookings/{ids['booking-9']}/cancellation", json={"expected_fee": "0"})
        assert r.status_code == 200, r.text
    return ids


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "browser-test-secret-" + "b" * 40
    srv, uv, thread = start(
        f"sqlite:///{tmp_path_factory.mktemp('browser') / 'unisupport.db'}",
        NOW,
        incident_settings=IncidentSettings(reply_address=REPLY_ADDRESS),  # replies come back by mail (issue 9)
    )
    setup = datetime(2026, 1, 1, tzinfo=PARIS)
    with srv.database.transaction() as session:
        for code in TEAMS:  # the on-call engineer sees every team's incidents
            add_to_team(session, email="engineer@provider.example", team_code=code, actor="setup", now=setup)
        # Marie works in French (her contact's language); everybody else in English.
        update_user(session, email="marie.dupont@contoso.example", language="fr", actor="setup", now=setup)
    seed_history(srv)
    srv.clock.at = NOW
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield srv
    stop(uv, thread, srv)
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


@pytest.fixture(autouse=True)
def now(server):
    server.clock.at = NOW
    yield
    server.clock.at = NOW


@pytest.fixture
def open_page(browser, server):
    """``open_page(viewport)``: a fresh browser context (its own cookies) and page."""
    contexts = []

    def make(viewport=DESKTOP):
        context = browser.new_context(
            viewport=viewport, base_url=server.url, locale="fr-FR", timezone_id="Europe/Paris"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, who: str) -> None:
    page.goto("/sign-in")
    page.get_by_test_id("signin-email").fill(PEOPLE[who][0])
    page.get_by_test_id("signin-password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_test_id("signin-submit").click()


def shot(page, name: str) -> Path:
    """``name.png``: what the window shows (1200 × 800 on a desktop: the size of
    the README's pictures); ``name-full.png``: the whole page."""
    page.evaluate("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)
    return path


def sideways(page) -> list[str]:
    """What sticks out to the right of the viewport (empty: no horizontal scrollbar).
    Elements inside a scrolling table wrapper are allowed to: the wrapper scrolls."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        const out = [];
        for (const el of document.querySelectorAll("body *")) {
            if (el.closest(".table-wrap")) continue;
            const box = el.getBoundingClientRect();
            if (box.right <= width + 0.5) continue;
            const id = el.id ? "#" + el.id : "";
            const named = el.className && typeof el.className === "string";
            const classes = named ? "." + el.className.split(" ").join(".") : "";
            out.push(el.tagName.toLowerCase() + id + classes + " " + Math.round(box.right));
        }
        return out.length ? out.slice(0, 10) : ["scrollWidth " + document.documentElement.scrollWidth];
    }""")


# --------------------------------------------------------------------------- scenarios
def test_a_customer_opens_a_sev_1_and_the_engineer_answers_it_first(server, open_page):
    customer = open_page()
    sign_in(customer, "contoso_admin")
    assert customer.url.endswith("/dashboard")
    assert customer.locator("html").get_attribute("lang") == "fr"
    assert (
        customer.get_by_test_id("chart-attainment-svg").locator("title").first.text_content()
        == "Premières réponses par mois et par gravité"
    )
    shot(customer, "01-dashboard")

    customer.get_by_test_id("nav-new-incident").click()
    customer.get_by_test_id("field-site").select_option("paris")
    customer.get_by_test_id("field-product").select_option("azure-virtual-machines")
    customer.get_by_test_id("severity-1").check()
    customer.get_by_test_id("field-title").fill("Toutes les VM de production sont arrêtées")
    customer.get_by_test_id("field-impact").fill("Le site marchand est hors service")
    customer.get_by_test_id("field-production").check()
    customer.get_by_test_id("preview-submit").click()
    preview = customer.get_by_test_id("preview")
    assert "mercredi 25 novembre 2026 à 10:15 (Europe/Paris)" in preview.text_content()
    why = customer.get_by_test_id("why-plans").text_content()
    assert (
        "Mission Critical Services for Azure Platform Plus : Gravité 1" in why
        and "première réponse sous 15 minutes" in why
    )
    shot(customer, "02-new-incident-preview")

    with customer.expect_navigation():
        customer.get_by_test_id("confirm-submit").click()
    incident = int(re.search(r"/incidents/(\d+)\?form=", customer.url).group(1))
    countdown = customer.get_by_test_id("first-response-countdown")
    assert re.fullmatch(r"encore 1[45] min", countdown.text_content().strip())  # counted down by the script
    assert customer.get_by_role("heading", name="Pourquoi ce délai").is_visible()
    assert customer.get_by_test_id("why-summary").is_visible()
    shot(customer, "03-incident-why")

    engineer = open_page()
    server.clock.advance(minutes=5)
    sign_in(engineer, "engineer")
    assert engineer.url.endswith("/queue")
    # Among the first rows of the queue (sorted by the next deadline of any clock: the demo's Sev 1 may owe
    # its next update sooner), with its first response as its deadline.
    rows = engineer.get_by_test_id("queue-table").locator("tbody tr")
    leading = [rows.nth(i).get_attribute("data-testid") for i in range(min(3, rows.count()))]
    assert f"incident-row-{incident}" in leading, leading
    assert "first response" in engineer.get_by_test_id(f"incident-row-{incident}").inner_text()
    shot(engineer, "04-queue")

    with engineer.expect_navigation():
        engineer.get_by_test_id(f"incident-link-{incident}").click()
    engineer.get_by_test_id("comm-medium").select_option("phone")
    engineer.get_by_test_id("comm-body").fill("Called Marie: the VMs are being restarted")
    with engineer.expect_navigation():
        engineer.get_by_test_id("comm-submit").click()
    state = engineer.get_by_test_id("first-response-state")
    assert state.get_attribute("data-state") == "met" and state.text_content().strip() == "met"
    assert engineer.get_by_test_id("first-response-tag").is_visible()


def test_a_workshop_cancelled_seven_days_before_costs_half_of_it(server, open_page):
    customer = open_page()
    sign_in(customer, "contoso_admin")
    customer.goto("/bookings/new")
    customer.get_by_test_id("field-order").select_option(ORDER)
    customer.get_by_test_id("field-site").select_option("paris")
    customer.get_by_test_id("field-service").select_option("workshops|per-attendee")
    customer.get_by_test_id("field-date").fill("2026-12-09")
    customer.get_by_test_id("field-quantity").fill("4")
    customer.get_by_test_id("booking-quote").click()
    assert "30 avoirs" in customer.get_by_test_id("quote-cost").text_content()
    with customer.expect_navigation():
        customer.get_by_test_id("booking-confirm").click()
    notice = customer.get_by_test_id("outcome-notice")
    assert notice.is_visible() and customer.evaluate("document.activeElement.id") == "outcome"
    booking = int(re.search(r"nº (\d+)", notice.text_content()).group(1))

    server.clock.at = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)  # 7 days before the workshop
    sign_in(customer, "contoso_admin")  # a week later: a new session
    customer.get_by_test_id(f"booking-cancel-{booking}").click()
    fee = customer.get_by_test_id("cancel-fee-text").text_content().replace("\u202f", " ").replace("\xa0", " ")
    assert fee == "Préavis de 7 jours : des frais de 50 %, soit 15 avoirs."
    assert customer.get_by_test_id("cancel-fee").locator('[data-rule="R-BOOK-1"]').count() == 1  # on hover
    shot(customer, "05-booking-cancel")
    with customer.expect_navigation():
        customer.get_by_test_id("cancel-confirm").click()
    assert customer.get_by_test_id("outcome-notice").is_visible()

    # The fee is charged: a ledger entry on the order's statement, and the balance.
    with customer.expect_navigation():
        customer.get_by_test_id(f"order-link-{ORDER}").click()
    fees = customer.get_by_test_id("statement").locator('tr[data-kind="fee"]')
    assert fees.count() >= 1 and "15 avoirs" in fees.first.text_content().replace("\xa0", " ")
    assert fees.first.locator('[data-rule="R-BOOK-1"]').count() == 1  # the rule, on hover for a customer


def test_switching_to_english_and_back_to_french(server, open_page):
    page = open_page()
    sign_in(page, "contoso_admin")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_test_id("dashboard-title").text_content() == "Tableau de bord"
    with page.expect_navigation():
        page.get_by_test_id("language-en").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_test_id("dashboard-title").text_content() == "Dashboard"
    assert page.get_by_test_id("nav-new-incident").text_content() == "Open an incident"
    with page.expect_navigation():
        page.get_by_test_id("language-fr").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_test_id("nav-new-incident").text_content() == "Ouvrir un incident"


def test_another_tenants_incident_page_is_not_found(server, open_page):
    with server.client("contoso_admin") as c:
        contoso = c.get("/api/v1/incidents", params={"limit": 1}).json()["items"][0]["id"]
    page = open_page()
    sign_in(page, "fabrikam_admin")
    response = page.goto(f"/incidents/{contoso}")
    assert response.status == 404
    assert page.get_by_test_id("error-title").is_visible() and "Contoso" not in page.content()


def test_the_csam_sees_an_order_with_its_charts_and_plans_success(server, open_page):
    page = open_page()
    sign_in(page, "csam")
    assert page.url.endswith("/customers")
    with page.expect_navigation():
        page.get_by_test_id("customer-link-contoso").click()
    assert page.get_by_test_id(f"milestones-{ORDER}").is_visible()
    assert page.get_by_test_id("reviews-table").locator("tbody tr").count() >= 2  # an RCA and a PIR to follow up
    # A success plan by area and activity (R-SUC-2), through the form.
    page.get_by_test_id("plan-title").fill("Resilience 2027")
    page.get_by_test_id("plan-activity-0").select_option("solution-integrity/proactive-resilience")
    page.get_by_test_id("plan-due-0").fill("2027-03-31")
    page.get_by_test_id("plan-activity-1").select_option("adoption-and-planning/technology-optimisation")
    page.get_by_test_id("plan-status-1").select_option("in-progress")
    page.get_by_test_id("plan-due-1").fill("2027-06-30")
    with page.expect_navigation():
        page.get_by_test_id("plan-submit").click()
    plans = page.get_by_test_id("plans").text_content()
    assert "Resilience 2027" in plans and "Proactive Resilience" in plans and "in progress" in plans

    with page.expect_navigation():
        page.get_by_test_id(f"order-link-{ORDER}").click()
    for chart in (
        f"chart-balances-{ORDER}-credits",
        f"chart-balances-{ORDER}-hours",
        f"chart-bookings-{ORDER}",
        f"chart-attainment-{ORDER}",
    ):
        svg = page.get_by_test_id(f"{chart}-svg")
        assert svg.get_attribute("role") == "img" and svg.locator("title").first.text_content()
        assert page.get_by_test_id(f"{chart}-legend").is_visible()
    forecast = page.get_by_test_id(f"forecast-{ORDER}").text_content()
    assert "forfeited after Thursday, 31 December 2026" in forecast
    shot(page, "06-csam-order")


def overflowing_tables(page) -> list[str]:
    """Tables wider than the window, or than their frame (which would scroll them
    sideways, hiding columns): empty when every table fits."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = [];
        for (const table of document.querySelectorAll("main table")) {
            if (!table.getClientRects().length) continue;  // folded away (a closed <details>)
            const box = table.getBoundingClientRect();
            const frame = table.closest(".table-wrap");
            const scrolls = frame && frame.scrollWidth > frame.clientWidth + 1;
            if (box.right > width + 0.5 || scrolls) {
                const name = table.dataset.testid || table.className || "table";
                out.push(name + " " + Math.round(box.right) + "/" + width);
            }
        }
        return out;
    }""")


def header_height(page) -> float:
    return page.evaluate("document.querySelector('header.top').getBoundingClientRect().height")


# Every kind of page, for who sees it: (who, path or a function of the server giving it).
PHONE_PAGES = [
    ("contoso_admin", "/dashboard"),
    ("contoso_admin", "/incidents/new"),
    ("contoso_admin", "/incidents/{incident}"),
    ("contoso_admin", "/bookings/new"),
    ("contoso_admin", "/orders/ESO-2026-0042"),
    ("contoso_admin", "/outages"),
    ("engineer", "/queue"),
    ("engineer", "/incidents/{incident}"),
    ("csam", "/customers"),
    ("csam", "/customers/contoso"),
    ("admin", "/admin/users"),
    ("admin", "/admin/teams"),
    ("admin", "/admin/tokens"),
]


def switch_language(page, language: str) -> None:
    """The language switch, through the menu on a phone."""
    if not page.get_by_test_id(f"language-{language}").is_visible():
        page.get_by_test_id("menu-toggle").click()
    with page.expect_navigation():
        page.get_by_test_id(f"language-{language}").click()


def test_pages_fit_a_phone_without_scrolling_sideways(server, open_page):
    """At 390 × 844 the header is one row (the menu folds into a button) and no
    table hides columns off the side: rows become cards, each value after its
    column's name. In both languages; screenshots of both widths are kept."""
    with server.client("contoso_admin") as c:
        incident = c.get("/api/v1/incidents", params={"limit": 1}).json()["items"][0]["id"]
    problems = []
    try:
        _read_every_page_at_both_widths(open_page, incident, problems)
    finally:  # the language switch is saved on the user: back to what the other tests expect
        with server.database.transaction() as session:
            for who, (email, *_rest) in PEOPLE.items():
                update_user(
                    session, email=email, language="fr" if who == "contoso_admin" else "en", actor="test", now=NOW
                )
    assert problems == []
    # The menu opens and leads on.
    phone = open_page(PHONE)
    sign_in(phone, "contoso_admin")
    assert not phone.get_by_test_id("nav-new-incident").is_visible() and header_height(phone) <= 100
    phone.get_by_test_id("menu-toggle").click()
    assert phone.get_by_test_id("nav-new-incident").is_visible()
    shot(phone, "12-phone-menu-open")
    with phone.expect_navigation():
        phone.get_by_test_id("nav-new-incident").click()
    assert phone.url.endswith("/incidents/new")


def _read_every_page_at_both_widths(open_page, incident: int, problems: list[str]) -> None:
    for width, viewport in (("phone", PHONE), ("wide", WIDE)):
        pages = {}
        for who, path in PHONE_PAGES:
            if who not in pages:
                pages[who] = open_page(viewport)
                sign_in(pages[who], who)
            page = pages[who]
            for language in ("fr", "en"):
                if page.locator("html").get_attribute("lang") != language:
                    switch_language(page, language)
                page.goto(path.format(incident=incident))
                where = f"{width} {language} {who} {path}"
                if width == "phone":
                    if header_height(page) > 100:
                        problems.append(f"{where}: header {header_height(page):.0f} px")
                    problems += [f"{where}: {t}" for t in overflowing_tables(page)]
                    problems += [f"{where}: sideways {x}" for x in sideways(page)]
                name = re.sub(r"[^a-z0-9]+", "-", f"{who}-{path.format(incident='incident')}").strip("-")
                shot(page, f"11-{width}-{language}-{name}")


def test_signing_in_works_with_the_keyboard_alone(server, open_page):
    page = open_page()
    page.goto("/sign-in")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(PEOPLE["im"][0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/queue")
    # The skip link is the first stop, and it leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"


def test_an_incident_manager_tells_the_plus_customers_of_a_platform_outage(server, open_page):
    page = open_page()
    sign_in(page, "im")
    page.get_by_test_id("nav-outages").click()
    page.get_by_test_id("outage-reference").fill("VN4S-1Z8")
    page.get_by_test_id("outage-title").fill("Azure Storage: write latency in West Europe")
    page.get_by_test_id("outage-products").select_option(["azure-storage"])
    page.get_by_test_id("outage-message").fill("Writes are slow; a fix is being deployed.")
    with page.expect_navigation():
        page.get_by_test_id("outage-submit").click()
    # Nothing is sent yet: the audience first, then the confirmation (R-MCSAP-5).
    assert page.get_by_test_id("audience-contoso").get_attribute("data-notified") == "yes"
    assert page.get_by_test_id("audience-count").is_visible()
    with page.expect_navigation():
        page.get_by_test_id("audience-confirm").click()
    contoso = page.get_by_test_id("decision-1-contoso")
    assert contoso.get_attribute("data-notified") == "yes" and "marie.dupont@contoso.example" in contoso.text_content()
    assert sideways(page) == []
    shot(page, "09-outage")
    customer = open_page()
    sign_in(customer, "contoso_admin")
    customer.get_by_test_id("nav-outages").click()
    assert (
        customer.get_by_test_id("outages-table").is_visible()
        and "VN4S-1Z8" in customer.get_by_test_id("outages-table").text_content()
    )


# --------------------------------------------------------------------------- forms (issue 8)
def in_view(page, locator) -> bool:
    """Whether ``locator`` is wholly inside the window, without scrolling."""
    box = locator.bounding_box()
    viewport = page.viewport_size
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"]


def test_a_refused_action_is_said_at_the_top_focused_with_what_was_typed_kept(server, open_page):
    """The severity form is at the bottom of a long incident page: its refusal is
    said at the top of the next page, focused, in view; the form keeps what was
    typed; the address reopens (no POST address, no 405); done is said there too."""
    with server.client("contoso_admin") as c:
        r = c.post(
            "/api/v1/incidents",
            json={
                "site": "paris",
                "product": "exchange-online",
                "severity": "B",
                "channel": "portal",
                "title": "Mailbox moves stuck",
                "business_impact": "New staff have no mailbox",
            },
        )
        incident = r.json()["id"]
    page = open_page(WIDE)
    sign_in(page, "engineer")
    page.goto(f"/incidents/{incident}")
    page.get_by_test_id("sev-new").select_option("C")
    page.get_by_test_id("sev-reason").fill("Calmer now, says the customer")
    assert not in_view(page, page.get_by_test_id("sev-submit")) or page.evaluate("window.scrollY") > 0
    with page.expect_navigation():
        page.get_by_test_id("sev-submit").click()
    outcome = page.get_by_test_id("outcome")
    assert in_view(page, outcome) and page.evaluate("document.activeElement.id") == "outcome"
    assert "R-SEV-3" in outcome.text_content() and "?form=" in page.url
    assert page.get_by_test_id("sev-reason").input_value() == "Calmer now, says the customer"
    assert page.get_by_test_id("sev-new").input_value() == "C"
    shot(page, "10-refused-action")
    # The summary's link leads to the field it is about.
    outcome.locator("a").first.click()
    assert page.evaluate("location.hash") in ("#sev-grounds", "#severity")
    assert page.reload().status == 200 and page.get_by_test_id("outcome").is_visible()
    page.get_by_test_id("sev-grounds").select_option("customer-agreed")
    with page.expect_navigation():
        page.get_by_test_id("sev-submit").click()
    notice = page.get_by_test_id("outcome-notice")
    assert in_view(page, notice) and "Severity C" in notice.text_content()


def test_a_confirmation_after_editing_the_form_below_the_preview_is_previewed_again(server, open_page):
    """The confirm button sends what the form says now; edited since the preview, it
    is previewed again rather than saved stale. Switching the language keeps it all."""
    page = open_page(WIDE)
    sign_in(page, "contoso_admin")  # in French
    page.goto("/incidents/new")
    page.get_by_test_id("field-site").select_option("paris")
    page.get_by_test_id("field-product").select_option("exchange-online")
    page.get_by_test_id("severity-C").check()
    page.get_by_test_id("field-title").fill("Question sur les quotas")
    page.get_by_test_id("field-impact").fill("Aucun blocage")
    with page.expect_navigation():
        page.get_by_test_id("preview-submit").click()
    assert "Gravité C" in page.get_by_test_id("preview").text_content()
    # Edited below the preview, then confirmed from the preview.
    page.get_by_test_id("severity-B").check()
    page.get_by_test_id("field-title").fill("Quotas dépassés pour 40 boîtes")
    with page.expect_navigation():
        page.get_by_test_id("confirm-submit").click()
    assert "/incidents/new" in page.url and page.get_by_test_id("outcome-notice").is_visible()
    assert "Gravité B" in page.get_by_test_id("preview").text_content()  # what the form says now
    with server.client("contoso_admin") as c:
        titles = [i["title"] for i in c.get("/api/v1/incidents", params={"limit": 200}).json()["items"]]
    assert "Question sur les quotas" not in titles and "Quotas dépassés pour 40 boîtes" not in titles
    # The language switch on the preview keeps the values and the preview.
    with page.expect_navigation():
        page.get_by_test_id("language-en").click()
    assert page.get_by_test_id("field-title").input_value() == "Quotas dépassés pour 40 boîtes"
    assert "Severity B" in page.get_by_test_id("preview").text_content()
    with page.expect_navigation():
        page.get_by_test_id("language-fr").click()
    with page.expect_navigation():
        page.get_by_test_id("confirm-submit").click()
    assert re.search(r"/incidents/\d+", page.url)
    assert page.get_by_test_id("incident-title").text_content().endswith("Quotas dépassés pour 40 boîtes")
    assert "Gravité B" in page.get_by_test_id("incident-severity").text_content()


def test_the_countdown_and_its_badge_change_together_as_time_passes(server, open_page):
    """The script keeps counting in the server's words and turns the state badge
    beside the countdown when the due instant passes (the browser's clock is driven
    by Playwright's: no waiting)."""
    with server.client("contoso_admin") as c:
        r = c.post(
            "/api/v1/incidents",
            json={
                "site": "paris",
                "product": "exchange-online",
                "severity": "A",
                "channel": "portal",
                "title": "Countdown in step",
                "business_impact": "Sales cannot send quotes",
            },
        )
        incident = r.json()
    due = datetime.fromisoformat(incident["first_response"]["due"])
    server.clock.at = due - timedelta(seconds=70)  # and no more than 120 s of browsing: refresh.js would reload
    page = open_page(WIDE)
    page.clock.install(time=server.clock.at)
    sign_in(page, "contoso_admin")
    page.goto(f"/incidents/{incident['id']}")
    countdown, badge = page.get_by_test_id("first-response-countdown"), page.get_by_test_id("first-response-state")
    assert countdown.text_content().strip() == "encore 1 min" and badge.get_attribute("data-state") == "at-risk"
    page.clock.run_for(30_000)
    assert countdown.text_content().strip() == "moins d'une minute restante"
    page.clock.run_for(45_000)
    assert countdown.text_content().strip() == "dépassé depuis moins d'une minute"
    assert badge.get_attribute("data-state") == "breached" and badge.text_content().strip() == "dépassée"


# --------------------------------------------------------------------------- the conversation (issue 9)
def open_by_api(server, title: str, impact: str) -> int:
    """A Severity B on Exchange Online at Paris, opened by Marie through the API."""
    body = {"site": "paris", "product": "exchange-online", "severity": "B", "channel": "portal"}
    with server.client("contoso_admin") as c:
        r = c.post("/api/v1/incidents", json=body | {"title": title, "business_impact": impact})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_engineer_replies_with_files_and_a_note_and_the_customer_sees_the_reply_only(server, open_page, tmp_path):
    incident = open_by_api(server, "Partners do not receive our mail", "Orders are not confirmed")
    trace, screenshot = tmp_path / "message-trace.csv", tmp_path / "queue état.png"
    trace.write_text("time,recipient,status\n10:02,orders@partner.example,deferred\n", encoding="utf-8")
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)

    server.clock.advance(minutes=12)
    engineer = open_page()
    sign_in(engineer, "engineer")
    engineer.goto(f"/incidents/{incident}")
    contact = engineer.get_by_test_id("contact")
    assert "+33 1 70 36 42 00" in contact.text_content() and "marie.dupont@contoso.example" in contact.text_content()
    assert engineer.get_by_test_id("composer-public").is_checked()  # a reply by default
    engineer.get_by_test_id("composer-body").fill(
        "Hello Marie,\n\nthe **outbound connector** is fixed; a trace is attached."
    )
    engineer.get_by_test_id("composer-files").set_input_files([str(trace), str(screenshot)])  # several at once
    engineer.get_by_test_id("composer-needs-answer").check()
    with engineer.expect_navigation():
        engineer.get_by_test_id("composer-submit").click()
    reply = engineer.locator('[data-visibility="public"]').last
    assert "outbound connector" in reply.text_content() and reply.get_by_test_id("first-response-tag").is_visible()
    assert engineer.get_by_test_id("first-response-state").get_attribute("data-state") == "met"
    server.clock.advance(minutes=3)
    engineer.get_by_test_id("composer-internal").check()
    engineer.get_by_test_id("composer-body").fill(
        "Internal: the connector's certificate had expired; renew it in March."
    )
    with engineer.expect_navigation():
        engineer.get_by_test_id("composer-submit").click()
    note = engineer.locator('[data-visibility="internal"]').last
    assert note.get_by_test_id("note-tag").is_visible() and "certificate had expired" in note.text_content()
    box = note.bounding_box()  # the newest message in view (the address names it), the composer under it
    assert box is not None and -1 <= box["y"] and box["y"] + box["height"] <= engineer.viewport_size["height"]
    assert note.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 248, 219)"  # set apart in yellow
    shot(engineer, "11-conversation-engineer")

    server.clock.advance(minutes=20)
    customer = open_page()
    sign_in(customer, "contoso_admin")  # in French
    customer.goto(f"/incidents/{incident}")
    thread = customer.get_by_test_id("conversation")
    assert "outbound connector" in thread.text_content()
    assert "certificate" not in customer.content() and customer.locator('[data-visibility="internal"]').count() == 0
    files = thread.locator("a[download]")
    assert [files.nth(i).text_content() for i in range(files.count())] == ["message-trace.csv", "queue état.png"]
    with customer.expect_download() as download:
        files.first.click()
    assert download.value.suggested_filename == "message-trace.csv"
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("time,recipient,status")
    assert "réponse attendue" in thread.text_content()  # the engineer asked for an answer (R-SLA-4)
    customer.get_by_test_id("composer-body").fill("Merci, les confirmations repartent.")
    with customer.expect_navigation():
        customer.get_by_test_id("composer-submit").click()
    assert "Merci, les confirmations repartent." in customer.get_by_test_id("conversation").text_content()
    shot(customer, "12-conversation-customer")
    phone = open_page(PHONE)
    sign_in(phone, "contoso_admin")
    phone.goto(f"/incidents/{incident}")
    assert sideways(phone) == []


def test_the_customer_answers_by_mail_and_the_answer_is_in_the_engineers_thread(server, open_page, smtp_server):  # noqa: F811
    """The whole loop: the engineer's reply on the page, mailed through the outbox to a
    real SMTP server; the customer's mail client answers it (to its Reply-To, with
    In-Reply-To); the mail-in side records the answer; the engineer's page shows it."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    from unisupport.mail_in.message import parse
    from unisupport.mail_in.settings import MailInSettings
    from unisupport.notifications.delivery import deliver_pending
    from unisupport.notifications.mailer import SmtpMailer
    from unisupport.services import mail_in

    incident = open_by_api(server, "Distribution list rejects partners", "Partners' orders bounce")
    server.clock.advance(minutes=8)
    engineer = open_page()
    sign_in(engineer, "engineer")
    engineer.goto(f"/incidents/{incident}")
    engineer.get_by_test_id("composer-body").fill("Could you send us one of the bounce messages?")
    engineer.get_by_test_id("composer-needs-answer").check()
    with engineer.expect_navigation():
        engineer.get_by_test_id("composer-submit").click()
    mailer = SmtpMailer(smtp_server.url, "Unified Support <unisupport@provider.example>", timeout=10)
    deliver_pending(server.database, mailer, worker="browser-test", clock=server.clock, blobs=server.blobs)
    [reply] = [m for m in smtp_server.messages if m["Subject"] == f"[#{incident}] Distribution list rejects partners"]
    assert reply["To"] == "marie.dupont@contoso.example" and reply["Reply-To"].startswith("support+")

    server.clock.advance(minutes=25)
    answer = EmailMessage()
    answer["From"] = "Marie Dupont <marie.dupont@contoso.example>"
    answer["To"] = reply["Reply-To"]
    answer["Subject"] = "RE: " + reply["Subject"]
    answer["Message-ID"] = f"<answer-{incident}@contoso.example>"
    answer["In-Reply-To"] = reply["Message-ID"]
    answer["References"] = reply["References"] + " " + reply["Message-ID"]
    answer["Date"] = format_datetime(server.clock.now())
    answer.set_content(
        "Bonjour,\n\nvoici le rebond : 550 5.7.1 rejected by policy.\n\nMarie\n\n"
        "Le lundi, Unified Support a écrit :\n> Could you send us one of the bounce messages?\n"
    )
    raw = answer.as_bytes()
    settings = MailInSettings(
        reply_address=REPLY_ADDRESS,
        mail_from="unisupport@provider.example",
        blob_dir=server.blobs.root,
        incident=IncidentSettings(reply_address=REPLY_ADDRESS),
    )
    with server.database.transaction() as session:
        handled = mail_in.handle(session, parse(raw), raw, source="stdin", settings=settings, now=server.clock.now())
    assert (handled.outcome, handled.incident_id) == ("attached", incident), handled.reason

    engineer.reload()
    thread = engineer.get_by_test_id("conversation")
    customer_messages = thread.locator(".item-customer")
    assert "550 5.7.1 rejected by policy" in customer_messages.last.text_content()
    assert "by e-mail" in customer_messages.last.text_content()
    assert "answered" in thread.get_by_test_id("needs-answer-tag").last.text_content()  # R-SLA-4
    shot(engineer, "13-answer-by-mail")
