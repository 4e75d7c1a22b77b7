"""Single sign-on in a real browser (issue 11): Debian's Chromium driven by
Playwright, through the real OpenID provider's login form (npm's oidc-provider,
tests/oidc_provider.py) and back to the app (tests/api_server.py, SQLite).

A designated contact of Contoso signs in with the button of the sign-in page and
lands on the dashboard; signing out goes through the provider and back to the
sign-in page; a Contoso address that is no contact is refused in French, and no
account is made. Without /usr/bin/chromium, node or the npm packages these tests
are skipped, and fail under CI. The browser reaches loopback only: any other
request is aborted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from api_server import serving
from oidc_provider import PASSWORD, OidcProvider, customer_provider, our_client
from sqlalchemy import select
from test_browser import SCREENSHOTS, browser  # noqa: F401  (the fixture: Debian's Chromium)

from unisupport.access import Role
from unisupport.services.users.sso import IdentityProviders
from unisupport.storage.tables import UserRow

SECRET = "browser-portal-secret-" + "b" * 32


@pytest.fixture(scope="module")
def sites(tmp_path_factory, temp_databases):
    op = OidcProvider(tmp_path_factory.mktemp("oidc-browser"))
    providers = IdentityProviders((customer_provider("contoso", op.issuer, SECRET, "contoso", "contoso.example"),))
    with serving(temp_databases.new_url("sqlite"), datetime.now(UTC), identity_providers=providers) as server:
        op.clients = [our_client(server.url, "portal", SECRET)]
        op.account("jonas.becker@contoso.example", "Jonas Becker", locale="en-GB")
        op.account("visitor@contoso.example", "Vera Visitor", locale="fr-FR")
        op.start()
        try:
            yield server, op
        finally:
            op.stop()


def _loopback_only(route) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@contextmanager
def _new_page(browser, locale: str) -> Iterator:  # noqa: F811
    context = browser.new_context(locale=locale, viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.route("**/*", _loopback_only)
    try:
        yield page
    finally:
        context.close()


def _through_the_provider(page, server, op, email: str) -> None:
    page.goto(server.url + "/sign-in")
    page.click("#sso-contoso")
    page.wait_for_url(op.issuer + "/interaction/**")
    page.fill("#op-email", email)
    page.fill("#op-password", PASSWORD)
    page.click("#op-submit")


def test_a_contact_signs_in_through_the_providers_login_form_and_signs_out_through_it(browser, sites):  # noqa: F811
    server, op = sites
    with _new_page(browser, "en-GB") as page:
        _through_the_provider(page, server, op, "jonas.becker@contoso.example")
        page.wait_for_url(server.url + "/dashboard")
        assert page.locator("h1").first.inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "sso-dashboard.png"))
        with server.database.reading() as session:
            user = session.scalar(select(UserRow).where(UserRow.email == "jonas.becker@contoso.example"))
            assert user is not None and user.role == Role.SUPPORT_ADMINISTRATOR.value and user.password_hash is None
        page.click("[data-testid=sign-out-button]")
        page.wait_for_url(op.issuer + "/session/end**")  # the provider's end_session_endpoint asks
        page.click("button[name=logout]")
        page.wait_for_url(server.url + "/sign-in**")  # and sends the browser back
        page.goto(server.url + "/dashboard")
        assert urlsplit(page.url).path == "/sign-in"


def test_a_non_contact_is_refused_in_french_and_no_account_is_made(browser, sites):  # noqa: F811
    server, op = sites
    with _new_page(browser, "fr-FR") as page:
        _through_the_provider(page, server, op, "visitor@contoso.example")
        page.wait_for_url(server.url + "/sso/callback**")
        refusal = page.locator("[data-testid=sso-refused]")
        assert refusal.get_attribute("data-reason") == "not-contact"
        assert "n'est pas un contact désigné actif" in refusal.inner_text()
        assert page.locator("h1").inner_text() == "Connexion refusée"
        page.screenshot(path=str(SCREENSHOTS / "sso-refused-fr.png"))
        with server.database.reading() as session:
            assert session.scalar(select(UserRow.id).where(UserRow.email == "visitor@contoso.example")) is None
