"""The OpenAPI pages work without Internet (docs/decisions.md D32): every script,
stylesheet and icon of /docs and /redoc is served by the app itself, nothing on
them points to another host, and in a real browser that may reach nothing but the
server, /docs renders the API's operations."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import pytest
from api_server import start, stop
from fastapi.testclient import TestClient
from test_browser import browser  # noqa: F401  (fixture: Debian's Chromium)

from unisupport.api.app import create_app
from unisupport.storage.database import Database, make_engine

# src="…", href="…", and the URLs Swagger UI's and ReDoc's set-up scripts are given.
REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.fixture
def client(temp_databases):
    database = Database(make_engine(temp_databases.new_url("sqlite")))  # the pages read nothing from it
    with TestClient(create_app(database)) as c:
        yield c
    database.engine.dispose()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_of_the_api_docs_is_served_by_the_app(client, page):
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert re.findall(r"https?://[^\s\"'<>]+", html.text) == []  # nothing off-host, not even a favicon
    references = {a or b for a, b in REFERENCES.findall(html.text)}
    scripts = [r for r in references if r.endswith(".js")]
    styles = [r for r in references if r.endswith(".css")]
    assert scripts and (styles or page == "/redoc")  # ReDoc brings its styles in its script
    for reference in sorted(references):
        url = urljoin(f"http://testserver{page}", reference)
        assert urlsplit(url).netloc == "testserver", reference
        answer = client.get(url)
        assert answer.status_code == 200, reference
        if reference.endswith(".js"):
            assert "javascript" in answer.headers["content-type"] and len(answer.content) > 100_000
        if reference.endswith(".css"):
            assert answer.headers["content-type"].startswith("text/css")


@pytest.fixture
def live(temp_databases):
    server, uv, thread = start(temp_databases.new_url("sqlite"), datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    yield server
    stop(uv, thread, server)


def test_the_docs_page_renders_the_operations_with_nothing_but_the_server(browser, live):  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    elsewhere: list[str] = []

    def only_the_server(route):
        if urlsplit(route.request.url).netloc == urlsplit(live.url).netloc:
            route.continue_()
        else:  # as without Internet: nothing else answers
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(f"{live.url}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/incidents" in {p.replace("\u200b", "").strip() for p in paths}
    assert len(paths) > 20
    assert elsewhere == []
    context.close()
