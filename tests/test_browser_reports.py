"""The SLA report in a real browser (issue 10): Debian's Chromium driven by
Playwright, against a real server (tests/api_server.py, SQLite) with six months of
history seeded through the API (tests/test_browser.py's ``seed_history``). A report
downloaded as CSV and read back has the page's figures, in the locale picked; the
customer's report holds their own lines only."""

from __future__ import annotations

import csv
import io
import os

import pytest

from api_server import start, stop
from test_browser import DESKTOP, NOW, PASSWORD, PEOPLE, seed_history
from test_browser import browser  # noqa: F401  (the fixture: Chromium, or a skip saying why)
from unisupport.services.users import update_user
from unisupport.web.session import SECRET_KEY

PERIOD = "from=2026-06-01&to=2026-11-30"


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):  # noqa: F811  (the imported fixture)
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "browser-reports-secret-" + "r" * 40
    srv, uv, thread = start(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'unisupport.db'}", NOW)
    with srv.database.transaction() as session:  # Marie reads in French, the others in English
        update_user(session, email=PEOPLE["contoso_admin"][0], language="fr", actor="setup", now=NOW)
    seed_history(srv)
    srv.clock.at = NOW
    yield srv
    stop(uv, thread, srv)
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


def _page(chromium, server, who: str, locale: str):
    context = chromium.new_context(viewport=DESKTOP, base_url=server.url, locale=locale, timezone_id="Europe/Paris")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/sign-in")
    page.get_by_test_id("signin-email").fill(PEOPLE[who][0])
    page.get_by_test_id("signin-password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_test_id("signin-submit").click()
    return context, page


def _plain(text: str, thousands: str) -> str:
    """A number as the page writes it, as the CSV writes it: no thousands separator, a dash for none."""
    text = text.strip().replace("\u202f", "").replace("\xa0", "").replace(thousands, "")
    return "" if text == "—" else text


@pytest.mark.parametrize(
    ("who", "locale", "link", "separator", "thousands"),
    [("contoso_admin", "fr-FR", "report-csv-fr", ";", " "), ("im", "en-GB", "report-csv-en", ",", ",")],
)
def test_the_csv_downloaded_has_the_figures_of_the_page(
    browser,  # noqa: F811  (the imported fixture)
    server,
    tmp_path,
    who,
    locale,
    link,
    separator,
    thousands,
):
    context, page = _page(browser, server, who, locale)
    try:
        page.goto(f"/reports/sla?{PERIOD}")
        assert page.get_by_test_id("report-attainment-svg").is_visible()  # the chart is drawn
        rows = page.get_by_test_id("report-row")
        shown = [[c.inner_text() for c in rows.nth(i).locator("th, td").all()] for i in range(rows.count())]
        assert len(shown) >= 8  # months × severities of the seeded history
        with page.expect_download() as download:
            page.get_by_test_id(link).click()
        path = tmp_path / "report.csv"
        download.value.save_as(path)
    finally:
        context.close()
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=separator))
    header, lines = table[0], table[1:]
    assert header[:3] == ["month", "customer", "customer_name"] and len(lines) == len(shown)
    assert {line[1] for line in lines} == {"contoso"}  # the seeded customer; no one else's
    for on_page, in_file in zip(shown, lines, strict=True):
        assert on_page[:2] == in_file[:2]
        assert [_plain(v, thousands) for v in on_page[5:]] == in_file[5:]
    if separator == ";":
        assert any("," in v for line in lines for v in line[10:16])  # decimal commas
