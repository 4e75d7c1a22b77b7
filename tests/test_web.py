"""The web portal and console over real HTTP (uvicorn on loopback), on SQLite and
PostgreSQL, driven like a browser without JavaScript: pages, forms, cookies.

Sign-in and its cookie, CSRF, rate limiting, security headers, tenant isolation,
French and English, and the issue's scenarios: a Sev B opened on a French site on
Friday at 16:45 through the form is previewed, then due Monday at 10:15 (Europe/Paris);
a booking cancelled 7 days before its start shows its 50 % fee before confirming."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from api_server import serving, start, stop
from sqlalchemy import func, select, update

from unisupport.services.users import update_user
from unisupport.storage.tables import OutboxRow, UserRow
from unisupport.web.session import COOKIE

PARIS = ZoneInfo("Europe/Paris")
FRIDAY = datetime(2026, 11, 27, 16, 45, tzinfo=PARIS)
PASSWORD = "correct horse battery"
EMAILS = {
    "admin": "admin@provider.example",
    "engineer": "engineer@provider.example",
    "im": "im@provider.example",
    "csam": "csam@provider.example",
    "csam_other": "csam2@provider.example",
    "contoso_admin": "marie.dupont@contoso.example",
    "contoso_contact": "cloud-ops@contoso.example",
    "fabrikam_admin": "alex.kim@fabrikam.example",
}
# What a browser sends for a file input left empty: the composer's form is multipart.
NO_FILE = {"files": ("", b"", "application/octet-stream")}
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(scope="module")
def web(backend, temp_databases):
    with serving(temp_databases.new_url(backend), FRIDAY) as server:
        yield server


@pytest.fixture(autouse=True)
def friday(web):
    web.clock.at = FRIDAY


class Browser:
    """A cookie jar and the last page's CSRF token: what a browser without
    JavaScript does with these pages."""

    def __init__(self, server, *, language: str | None = None, source: str | None = None):
        headers = {"Accept": "text/html"}
        if language:
            headers["Accept-Language"] = language
        transport = httpx.HTTPTransport(local_address=source) if source else None  # another loopback address
        self.http = httpx.Client(base_url=server.url, headers=headers, timeout=30, transport=transport)
        self.token = ""

    def get(self, path: str, **kwargs) -> httpx.Response:
        r = self.http.get(path, **kwargs)
        if m := CSRF.search(r.text):
            self.token = m.group(1)
        return r

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs) -> httpx.Response:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        r = self.http.post(path, data=data, **kwargs)
        if m := CSRF.search(r.text):
            self.token = m.group(1)
        return r

    def send(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        """Post a form and follow its answer (post, redirect, get): the page that
        shows what came of it."""
        r = self.post(path, data, **kwargs)
        assert r.status_code == 303, (r.status_code, text(r)[:400])
        return self.get(r.headers["location"])

    def confirmed(self, path: str, data: dict | None = None) -> httpx.Response:
        """Post a form whose action cannot be undone, then press "Yes" on the confirm
        step it leads to: the page that shows what came of it."""
        asked = self.send(path, data)
        assert asked.url.path == "/confirm", (asked.url, text(asked)[:400])
        form = re.search(r'<form method="post" action="([^"]+)" id="confirm-form".*?</form>', asked.text, re.DOTALL)
        values = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(0)))
        return self.send(html.unescape(form.group(1)), {k: html.unescape(v) for k, v in values.items()})

    def sign_in(self, who: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/sign-in")
        r = self.post("/sign-in", {"email": EMAILS[who], "password": password})
        assert r.status_code == 303, r.text
        return r


def rules_of(r: httpx.Response) -> set[str]:
    """The rules a page names: written out for provider users, on hover for customers."""
    return set(re.findall(r'data-rule="([^"]+)"', r.text))


def text(r: httpx.Response) -> str:
    """The page's text, tags removed and spaces collapsed, for assertions."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", r.text, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def open_by_api(web, who="contoso_admin", **extra) -> dict:
    body = {
        "site": "paris",
        "product": "exchange-online",
        "severity": "B",
        "title": "Mail flow stopped",
        "business_impact": "Order confirmations are not sent",
        "channel": "portal",
    } | extra
    with web.client(who) as c:
        r = c.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


SEV_B_FORM = {
    "site": "paris",
    "product": "azure-virtual-machines",
    "severity": "B",
    "title": "VM restarts",
    "business_impact": "Batch jobs are delayed",
    "language": "en",
}


# --------------------------------------------------------------------------- sign-in
def test_sign_in_sets_an_httponly_samesite_cookie_and_goes_to_the_dashboard(web):
    b = Browser(web)
    r = b.get("/sign-in")
    assert r.status_code == 200 and 'name="csrf_token"' in r.text
    r = b.post("/sign-in", {"email": "Marie.Dupont@contoso.example", "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith(COOKIE) and "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP here
    r = b.get("/dashboard")
    assert r.status_code == 200 and "marie.dupont@contoso.example" in r.text


def test_the_cookie_is_secure_when_served_over_https(web):
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1: the app sees an https URL.
    r = httpx.get(web.url + "/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(web):
    b = Browser(web)
    b.get("/sign-in")
    wrong = b.post("/sign-in", {"email": EMAILS["im"], "password": "not the password"})
    unknown = b.post("/sign-in", {"email": "nobody@provider.example", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an active account" in text(wrong) and text(wrong).count("match") == text(unknown).count(
        "match"
    )
    assert b.get("/queue").status_code == 303  # still signed out


def test_pages_need_a_session_and_come_back_after_sign_in(web):
    b = Browser(web)
    r = b.get("/queue")
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=/queue"
    b.get(r.headers["location"])
    r = b.post("/sign-in", {"email": EMAILS["engineer"], "password": PASSWORD, "next": "/queue"})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    # An outside address is never a redirect target.
    b2 = Browser(web)
    b2.get("/sign-in")
    r = b2.post("/sign-in", {"email": EMAILS["engineer"], "password": PASSWORD, "next": "//evil.example/"})
    assert r.headers["location"] == "/queue"


def test_a_post_without_the_csrf_token_is_refused(web):
    b = Browser(web)
    b.get("/sign-in")
    r = b.post("/sign-in", {"email": EMAILS["contoso_admin"], "password": PASSWORD}, csrf=False)
    assert r.status_code == 403 and "reload the page" in text(r)
    b.sign_in("contoso_admin")
    b.get("/incidents/new")
    assert b.post("/incidents/preview", SEV_B_FORM, csrf=False).status_code == 403
    # Another session's token does not pass either.
    other = Browser(web)
    other.get("/sign-in")
    assert b.post("/incidents/preview", SEV_B_FORM | {"csrf_token": other.token}).status_code == 403
    assert b.post("/sign-out", {}, csrf=False).status_code == 403


def test_failed_sign_ins_are_limited_per_email(web):
    web.clock.at = FRIDAY + timedelta(hours=2)  # a window of its own
    b = Browser(web)
    b.get("/sign-in")
    for _ in range(5):
        assert b.post("/sign-in", {"email": EMAILS["csam_other"], "password": "guess " * 3}).status_code == 401
    r = b.post("/sign-in", {"email": EMAILS["csam_other"], "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed sign-ins" in text(r) and "15 minutes" in text(r)
    assert r.headers["retry-after"] == "900"
    # Another account from the same address is not blocked by this one's failures.
    assert b.post("/sign-in", {"email": EMAILS["im"], "password": PASSWORD}).status_code == 303
    web.clock.advance(minutes=16)
    b2 = Browser(web)
    b2.get("/sign-in")
    assert b2.post("/sign-in", {"email": EMAILS["csam_other"], "password": PASSWORD}).status_code == 303


def test_a_stranger_guessing_a_password_slows_the_account_but_never_locks_its_user_out(web):
    web.clock.at = FRIDAY + timedelta(hours=8)
    user = Browser(web, source="127.0.0.3")
    user.sign_in("fabrikam_admin")  # the user's own address: known from now on
    web.clock.advance(hours=1)
    stranger = Browser(web, source="127.0.0.2")
    stranger.get("/sign-in")
    for _ in range(5):
        assert (
            stranger.post("/sign-in", {"email": EMAILS["fabrikam_admin"], "password": "guess " * 3}).status_code == 401
        )
    # The stranger's address is done with this account for the window …
    r = stranger.post("/sign-in", {"email": EMAILS["fabrikam_admin"], "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "900"
    # … the user's own address is not slowed at all …
    again = Browser(web, source="127.0.0.3")
    again.sign_in("fabrikam_admin")
    # … and a new address is slowed for a second, not locked.
    elsewhere = Browser(web, source="127.0.0.4")
    elsewhere.get("/sign-in")
    r = elsewhere.post("/sign-in", {"email": EMAILS["fabrikam_admin"], "password": PASSWORD})
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and "wait 1 seconds" in text(r)
    web.clock.advance(seconds=1)
    assert elsewhere.post("/sign-in", {"email": EMAILS["fabrikam_admin"], "password": PASSWORD}).status_code == 303


def test_the_back_off_doubles_with_each_failure_up_to_a_minute(web):
    web.clock.at = FRIDAY + timedelta(hours=11)
    waits = []
    for i in range(12):  # strangers at as many addresses, each trying when allowed
        guesser = Browser(web, source=f"127.0.1.{i + 1}")
        guesser.get("/sign-in")
        r = guesser.post("/sign-in", {"email": EMAILS["csam"], "password": "guess " * 3})
        if r.status_code == 429:
            waits.append(int(r.headers["retry-after"]))
            web.clock.advance(seconds=waits[-1])
            r = guesser.post("/sign-in", {"email": EMAILS["csam"], "password": "guess " * 3})
        assert r.status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 60]


@pytest.fixture(scope="module")
def no_proxy(web, backend, temp_databases):
    """A server as `unisupport serve` runs without UNISUPPORT_TRUSTED_PROXIES."""
    server, uv, thread = start(temp_databases.new_url(backend), FRIDAY, trusted_proxies=())
    yield server
    stop(uv, thread, server)


def test_without_a_trusted_proxy_x_forwarded_for_and_proto_are_ignored(no_proxy):
    no_proxy.clock.at = FRIDAY
    b = Browser(no_proxy)
    b.get("/sign-in")
    for i in range(20):  # under as many made-up addresses: still 20 failures of this client
        spoofed = {"X-Forwarded-For": f"198.51.100.{i}"}
        r = b.post("/sign-in", {"email": f"probe{i}@example.com", "password": "guess " * 3}, headers=spoofed)
        assert r.status_code == 401
    r = b.post("/sign-in", {"email": EMAILS["im"], "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 429
    r = Browser(no_proxy).get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in r.headers["set-cookie"].lower()


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(web):
    web.clock.at = FRIDAY + timedelta(hours=14)
    # 127.0.0.2 is not a proxy: its X-Forwarded-For and X-Forwarded-Proto change nothing.
    b = Browser(web, source="127.0.0.2")
    b.get("/sign-in")
    for i in range(20):
        spoofed = {"X-Forwarded-For": f"198.51.100.{i}"}
        r = b.post("/sign-in", {"email": f"probe{i}@example.com", "password": "guess " * 3}, headers=spoofed)
        assert r.status_code == 401
    r = b.post("/sign-in", {"email": EMAILS["im"], "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 429
    r = Browser(web, source="127.0.0.2").get("/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in r.headers["set-cookie"].lower()
    # 127.0.0.1 is the trusted proxy here: the client is the last address it did not
    # add itself; what the client wrote in front is not believed.
    proxied = Browser(web)
    proxied.get("/sign-in")
    forwarded = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
    for i in range(20):
        r = proxied.post("/sign-in", {"email": f"other{i}@example.com", "password": "guess " * 3}, headers=forwarded)
        assert r.status_code == 401
    r = proxied.post(
        "/sign-in", {"email": EMAILS["im"], "password": PASSWORD}, headers={"X-Forwarded-For": "203.0.113.5"}
    )
    assert r.status_code == 429
    r = proxied.post(
        "/sign-in", {"email": EMAILS["im"], "password": PASSWORD}, headers={"X-Forwarded-For": "203.0.113.6"}
    )
    assert r.status_code == 303


def test_failed_sign_ins_are_limited_per_address(web):
    web.clock.at = FRIDAY + timedelta(hours=5)
    b = Browser(web)
    b.get("/sign-in")
    for i in range(20):
        assert b.post("/sign-in", {"email": f"probe{i}@example.com", "password": "guess " * 3}).status_code == 401
    assert b.post("/sign-in", {"email": EMAILS["im"], "password": PASSWORD}).status_code == 429


def test_signing_out_ends_the_session(web):
    b = Browser(web)
    b.sign_in("im")
    assert b.get("/queue").status_code == 200
    assert b.post("/sign-out").status_code == 303
    assert b.get("/queue").status_code == 303


def test_a_signed_out_cookie_opens_nothing_and_other_browsers_stay_signed_in(web):
    incident = open_by_api(web)
    b, other = Browser(web), Browser(web)
    b.sign_in("contoso_admin")
    other.sign_in("contoso_admin")
    assert b.get(f"/incidents/{incident['id']}").status_code == 200
    old_cookie, old_token = b.http.cookies[COOKIE], b.token  # what a copied cookie would hold
    assert b.post("/sign-out").status_code == 303
    stolen = Browser(web)
    stolen.http.cookies.set(COOKIE, old_cookie)
    r = stolen.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
    r = stolen.post(
        f"/incidents/{incident['id']}/messages", {"body": "still here", "csrf_token": old_token}, files=NO_FILE
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
    with web.client("contoso_admin") as c:
        bodies = [x["body"] for x in c.get(f"/api/v1/incidents/{incident['id']}/communications").json()]
    assert "still here" not in bodies
    assert other.get("/dashboard").status_code == 200  # signing out one browser is not signing out all


def test_a_deactivated_user_is_signed_out_at_the_next_click(web):
    b = Browser(web)
    b.sign_in("csam")
    assert b.get("/queue").status_code == 200
    with web.database.transaction() as session:
        update_user(session, email=EMAILS["csam"], active=False, actor="test", now=FRIDAY)
    try:
        assert b.get("/queue").status_code == 303
    finally:
        with web.database.transaction() as session:
            update_user(session, email=EMAILS["csam"], active=True, actor="test", now=FRIDAY)


def test_an_admin_signs_a_user_out_of_every_browser_without_deactivating_them(web):
    web.clock.at = datetime(2026, 11, 27, 17, 0, tzinfo=PARIS)
    first, second = Browser(web), Browser(web)
    first.sign_in("contoso_contact")
    second.sign_in("contoso_contact")
    web.clock.at = datetime(2026, 11, 27, 17, 5, tzinfo=PARIS)
    admin = Browser(web)
    admin.sign_in("admin")
    try:
        _sessions_ended_everywhere(web, first, second, admin)
    finally:  # the other tests sign this user in at earlier instants
        with web.database.transaction() as session:
            session.execute(
                update(UserRow).where(UserRow.email == EMAILS["contoso_contact"]).values(sessions_valid_from=None)
            )


def _sessions_ended_everywhere(web, first, second, admin):
    page = admin.get("/admin/users")
    assert 'data-testid="user-sessions-cloud-ops@contoso.example"' in page.text
    asked = admin.send("/admin/users/sessions", {"email": "cloud-ops@contoso.example"})
    assert "Sign cloud-ops@contoso.example out of every browser?" in text(asked)
    for browser in (first, second):  # asked only: nothing happened yet
        assert browser.get("/dashboard").status_code == 200
    done = admin.confirmed("/admin/users/sessions", {"email": "cloud-ops@contoso.example"})
    assert "Signed out of every browser" in text(done) and 'data-testid="outcome-notice"' in done.text
    for browser in (first, second):
        assert browser.get("/dashboard").status_code == 303  # signed out at the next click
    web.clock.at = datetime(2026, 11, 27, 17, 6, tzinfo=PARIS)
    first.sign_in("contoso_contact")  # still active: signing in again works
    assert first.get("/dashboard").status_code == 200
    r = admin.confirmed("/admin/users/sessions", {"email": "nobody@contoso.example"})
    assert 'data-testid="outcome-problems"' in r.text and "nobody@contoso.example" in text(r)


def test_a_forged_cookie_is_ignored(web):
    b = Browser(web)
    b.sign_in("im")
    value = b.http.cookies[COOKIE]
    body, signature = value.split(".")
    b.http.cookies.clear()
    b.http.cookies.set(COOKIE, body + "." + signature[::-1])
    assert b.get("/queue").status_code == 303


# --------------------------------------------------------------------------- headers, assets
def test_every_page_carries_the_security_headers(web):
    b = Browser(web)
    for r in (b.get("/sign-in"), b.get("/static/app.css"), b.get("/no-such-page")):
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"


def test_pages_use_no_inline_script_or_style_and_nothing_from_elsewhere(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    for path in ("/dashboard", "/incidents/new", "/bookings/new"):
        page = b.get(path).text
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert " style=" not in page and "<style" not in page
        assert not re.search(r'(src|href)="(https?:)?//', page)
        assert '<html lang="en">' in page
    for asset in ("/static/app.css", "/static/countdown.js", "/static/refresh.js", "/static/favicon.svg"):
        assert b.get(asset).status_code == 200


class Outline(HTMLParser):
    """Ids, headings, labels and fields of a page, for the accessibility basics."""

    def __init__(self, page: str):
        super().__init__()
        self.ids: Counter = Counter()
        self.headings: list[int] = []
        self.labelled: set[str] = set()
        self.fields: list[str | None] = []
        self.lang = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if "id" in a:
            self.ids[a["id"]] += 1
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label" and "for" in a:
            self.labelled.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append(a.get("id"))


def test_every_page_has_a_language_labelled_fields_unique_ids_and_headings_in_order(web):
    incident = open_by_api(web)
    customer, provider, csam = Browser(web), Browser(web), Browser(web)
    customer.sign_in("contoso_admin")
    provider.sign_in("admin")
    csam.sign_in("csam")
    customer.get("/incidents/new")
    pages = [
        Browser(web).get("/sign-in"),
        customer.get("/dashboard"),
        customer.get("/incidents/new"),
        customer.send("/incidents/preview", SEV_B_FORM),
        customer.get(f"/incidents/{incident['id']}"),
        customer.get("/bookings/new"),
        customer.get("/orders/ESO-2026-0042"),
        provider.get("/queue"),
        provider.get(f"/incidents/{incident['id']}"),
        provider.get("/admin/users"),
        provider.get("/admin/teams"),
        provider.get("/admin/tokens"),
        csam.get("/customers"),
        csam.get("/customers/contoso"),
        csam.get("/orders/ESO-2026-0042"),
        provider.get("/outages"),
    ]
    outage = {"reference": "A11Y-1", "title": "Checked page", "message": "m"}
    previewed = provider.send("/outages/preview", outage)
    declared = confirm(provider, "/outages", outage, previewed)
    assert declared.status_code == 303, text(declared)
    outage_page = declared.headers["location"].split("?")[0]
    pages += [
        previewed,
        provider.get(declared.headers["location"]),
        provider.send(outage_page + "/notices/preview", {"message": "an update"}),
        customer.get("/outages"),
        customer.get(outage_page),
    ]
    for r in pages:
        assert r.status_code == 200, r.url.path
        outline = Outline(r.text)
        where = r.url.path
        assert outline.lang in ("en", "fr"), where
        assert [i for i, n in outline.ids.items() if n > 1] == [], where
        assert outline.headings[0] == 1 and all(b <= a + 1 for a, b in pairwise(outline.headings)), where
        assert [f for f in outline.fields if f not in outline.labelled] == [], where


def test_a_missing_page_is_an_html_page_for_browsers_and_a_problem_for_the_api(web):
    b = Browser(web)
    r = b.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = httpx.get(web.url + "/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


# --------------------------------------------------------------------------- tenants and roles
def test_another_tenants_incident_page_answers_404_like_a_missing_one(web):
    incident = open_by_api(web)
    b = Browser(web)
    b.sign_in("fabrikam_admin")
    theirs = b.get(f"/incidents/{incident['id']}")
    missing = b.get("/incidents/999999")
    assert theirs.status_code == missing.status_code == 404
    assert text(theirs) == text(missing)
    assert "Mail flow stopped" not in theirs.text
    # Their RCA form cannot reach it either.
    assert b.post(f"/incidents/{incident['id']}/rca", {}).status_code == 404
    # A CSAM of another customer neither.
    c = Browser(web)
    c.sign_in("csam_other")
    assert c.get(f"/incidents/{incident['id']}").status_code == 404


def test_a_reactive_contact_sees_no_contract_and_may_not_book(web):
    b = Browser(web)
    b.sign_in("contoso_contact")
    page = text(b.get("/dashboard"))
    assert "shown to your organisation's support administrators" in page and "Balances" not in page
    assert b.get("/bookings/new").status_code == 403
    assert b.get("/queue").status_code == 403  # the provider's console


# --------------------------------------------------------------------------- languages
def test_the_browser_language_is_used_before_signing_in(web):
    assert "Connexion" in text(Browser(web, language="fr-FR,fr;q=0.9,en;q=0.5").get("/sign-in"))
    assert "Sign in" in text(Browser(web, language="de-DE, en;q=0.8").get("/sign-in"))
    page = Browser(web, language="fr").get("/sign-in").text
    assert '<html lang="fr">' in page


def test_the_switch_changes_the_language_and_is_saved_for_a_signed_in_user(web):
    anonymous = Browser(web, language="en")
    anonymous.get("/sign-in")
    r = anonymous.post("/language", {"language": "fr", "next": "/sign-in"})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    assert "Connexion" in text(anonymous.get("/sign-in"))

    b = Browser(web, language="en")
    b.sign_in("contoso_contact")
    assert "Dashboard" in text(b.get("/dashboard"))
    try:
        assert b.post("/language", {"language": "fr", "next": "/dashboard"}).status_code == 303
        page = text(b.get("/dashboard"))
        assert "Tableau de bord" in page and "Incidents ouverts" in page
        # Saved on the user: a new session on another browser is French too.
        other = Browser(web, language="en")
        other.sign_in("contoso_contact")
        assert "Tableau de bord" in text(other.get("/dashboard"))
        # Dates in French, in the viewer's site zone, with the zone shown.
        incident = open_by_api(web, who="contoso_contact", product="azure-virtual-machines")
        page = text(b.get(f"/incidents/{incident['id']}"))
        assert "lundi 30 novembre 2026 à 10:15 (Europe/Paris)" in page
        assert "Pourquoi ce délai" in page and "samedi 28 novembre 2026" in page
        # The RCA's rules are worded in French too, before and after closure (MCSAP
        # covers this Sev B on virtual machines: after closure, Sev 1/A only, R-RCA-2).
        assert "RCA MCSAP" not in page and "demandée avant la clôture" in page
        with web.client("engineer") as c:
            c.post(f"/api/v1/incidents/{incident['id']}/closure", json={"summary": "fixed"}).raise_for_status()
        closed = text(b.get(f"/incidents/{incident['id']}"))
        assert "une RCA MCSAP n'est possible que pour les incidents de gravité 1 ou A" in closed
    finally:
        b.post("/language", {"language": "en", "next": "/dashboard"})
    assert "Dashboard" in text(b.get("/dashboard"))


# --------------------------------------------------------------------------- opening an incident
def count_incidents(web) -> int:
    with web.client("contoso_admin") as c:
        return len(c.get("/api/v1/incidents", params={"limit": 200}).json()["items"])


def test_the_form_quotes_the_severity_definitions(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    r = b.get("/incidents/new")
    page = text(r)
    assert "Moderate business impact: disrupts but does not prevent the reasonable continuation of business." in page
    assert "Critical business systems down" in page and "R-SEV-1" in rules_of(r)
    assert "R-SEV-1" not in page  # customers read words: the rule is on hover
    assert "Azure Virtual Machines" in page  # the product registry, in the user's language


def test_the_preview_shows_the_target_before_anything_is_created(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/incidents/new")
    before = count_incidents(web)
    r = b.send("/incidents/preview", SEV_B_FORM)
    assert r.url.path == "/incidents/new", text(r)
    page = text(r)
    assert "Monday, 30 November 2026 at 10:15 (Europe/Paris)" in page
    assert "120 min" in page or "2 h" in page
    assert "Base Package" in page and "Saturday, 28 November 2026 — not a working day" in page
    assert 'id="confirm-submit"' in r.text and 'name="snapshot"' in r.text
    assert 'value="VM restarts"' in r.text  # the form stays filled in below the preview
    assert count_incidents(web) == before


def confirm(b: Browser, path: str, values: dict, previewed: httpx.Response) -> httpx.Response:
    """Press the preview's confirm button: the form as it is, with the preview's snapshot."""
    snapshot = re.search(r'name="snapshot" value="([^"]+)"', previewed.text).group(1)
    return b.post(path, values | {"snapshot": snapshot})


def test_the_confirmation_carries_exactly_what_was_previewed(web):
    """Edited below the preview, the form is previewed again, not saved; the
    language switch on the preview keeps the values."""
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/incidents/new")
    before = count_incidents(web)
    previewed = b.send("/incidents/preview", SEV_B_FORM)
    edited = SEV_B_FORM | {"severity": "A", "title": "VM restarts everywhere"}
    r = confirm(b, "/incidents", edited, previewed)
    assert r.status_code == 303 and r.headers["location"].startswith("/incidents/new?form=")
    again = b.get(r.headers["location"])
    assert count_incidents(web) == before  # nothing saved from a stale preview
    assert "The form was changed after its preview" in text(again)
    assert 'value="VM restarts everywhere"' in again.text and "Severity A" in text(again)
    # Without a snapshot at all (a hand-made POST), nothing is saved either.
    assert b.post("/incidents", SEV_B_FORM).headers["location"].startswith("/incidents/new?form=")
    assert count_incidents(web) == before
    # Switching the language on the preview keeps the form and the preview.
    target = r.headers["location"]
    b.post("/language", {"language": "fr", "next": target})
    french = b.get(target)
    assert 'value="VM restarts everywhere"' in french.text and "Le délai, avant de confirmer" in text(french)
    b.post("/language", {"language": "en", "next": "/dashboard"})
    # Confirmed as previewed: opened.
    r = confirm(b, "/incidents", edited, again)
    assert r.status_code == 303 and re.fullmatch(r"/incidents/\d+\?form=.+", r.headers["location"])
    assert count_incidents(web) == before + 1


def test_a_sev_b_opened_through_the_form_on_friday_1645_is_due_monday_1015_paris(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/incidents/new")
    r = confirm(b, "/incidents", SEV_B_FORM, b.send("/incidents/preview", SEV_B_FORM))
    assert r.status_code == 303 and re.fullmatch(r"/incidents/\d+\?form=.+", r.headers["location"])
    incident_id = int(re.search(r"/incidents/(\d+)", r.headers["location"]).group(1))
    r = b.get(r.headers["location"])
    page = text(r)
    assert f"Incident #{incident_id} is open." in page
    assert "Monday, 30 November 2026 at 10:15 (Europe/Paris)" in page
    assert '<time datetime="2026-11-30T09:15:00+00:00"' in r.text and "data-countdown-to" in r.text
    assert "Friday, 27 November 2026 — 16:45–17:30 counted (45 min)" in page
    assert "Monday, 30 November 2026 — 09:00–10:15 counted (75 min)" in page
    assert "Automatic acknowledgement" in page  # the timeline, with the acknowledgement that never counts
    dashboard = b.get("/dashboard")
    assert f'data-testid="incident-row-{incident_id}"' in dashboard.text
    assert "30/11/2026 10:15 (Europe/Paris)" in text(dashboard)
    with web.client("contoso_admin") as c:
        assert c.get(f"/api/v1/incidents/{incident_id}").json()["first_response"]["due"] == "2026-11-30T10:15:00+01:00"


def test_an_invalid_form_is_shown_again_with_what_to_fix(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/incidents/new")
    r = b.send("/incidents/preview", SEV_B_FORM | {"title": "", "severity": "X"})
    assert 'data-testid="error-title"' in r.text and 'data-testid="error-severity"' in r.text
    assert "Title: This field is required." in text(r)  # words, not a validator's message
    assert 'value="VM restarts"' not in r.text and "Batch jobs are delayed" in r.text  # the rest is kept
    r = b.send("/incidents/preview", SEV_B_FORM | {"site": "atlantis"})
    assert "R-MC-1" in rules_of(r) and 'data-testid="preview"' not in r.text


def test_an_rca_is_requested_from_the_incident_page(web):
    incident = open_by_api(web)
    b = Browser(web)
    b.sign_in("contoso_admin")
    page = b.get(f"/incidents/{incident['id']}")
    assert 'data-testid="rca-open"' in page.text and "R-RCA-1" in rules_of(page)
    r = b.post(f"/incidents/{incident['id']}/rca", {"note": "please"})
    assert r.status_code == 303
    assert 'data-testid="rca-requested"' in b.get(f"/incidents/{incident['id']}").text


def test_a_third_party_vendor_is_asked_for_by_the_customer_and_engaged_by_the_engineer(web):
    incident = open_by_api(web)
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    page = customer.get(f"/incidents/{incident['id']}")
    assert 'data-testid="third-party-form"' in page.text and "R-INC-4" in rules_of(page)
    r = customer.send(f"/incidents/{incident['id']}/third-parties", {"vendor": "", "product": "SAN"})
    assert 'data-testid="error-vendor"' in r.text and 'value="SAN"' in r.text
    page = customer.send(
        f"/incidents/{incident['id']}/third-parties", {"vendor": "Storage Vendor", "product": "SAN array"}
    )
    assert "Working with Storage Vendor is requested." in text(page)
    assert (
        "Storage Vendor — SAN array" in text(page) and "third-party-engage-" not in page.text
    )  # only the provider engages

    engineer = Browser(web)
    engineer.sign_in("engineer")
    page = engineer.get(f"/incidents/{incident['id']}")
    [collaboration] = re.findall(r'data-testid="third-party-engage-(\d+)"', page.text)
    assert "remains responsible for its product" in text(page)
    r = engineer.post(
        f"/incidents/{incident['id']}/third-parties/{collaboration}/engagement", {"vendor_reference": "SR-4711"}
    )
    assert r.status_code == 303
    r = engineer.send(f"/incidents/{incident['id']}/third-parties/{collaboration}/engagement", {})
    assert 'data-testid="outcome-problems"' in r.text and "R-INC-4" in text(r) and "already engaged" in text(r)
    page = text(customer.get(f"/incidents/{incident['id']}"))
    assert "SR-4711" in page and "Engaged" in page and "Third-party vendor engaged" in page


# --------------------------------------------------------------------------- the provider's console
def test_the_queue_lists_the_teams_incidents_soonest_due_first_with_filters(web):
    later = open_by_api(web, severity="C", title="Later")
    sooner = open_by_api(web, severity="B", title="Sooner")
    b = Browser(web)
    b.sign_in("engineer")
    page = b.get("/queue").text
    assert page.index(f'incident-row-{sooner["id"]}"') < page.index(f'incident-row-{later["id"]}"')
    only_c = b.get("/queue", params={"severity": "C"}).text
    assert f'incident-row-{later["id"]}"' in only_c and f'incident-row-{sooner["id"]}"' not in only_c
    assert f'incident-row-{sooner["id"]}"' not in b.get("/queue", params={"state": "breached"}).text
    web.clock.at = datetime(2026, 11, 30, 12, 0, tzinfo=PARIS)  # both past due
    assert b.get("/queue").status_code == 303  # and the 12-hour session has expired
    b.sign_in("engineer")
    breached = b.get("/queue", params={"state": "breached"})
    assert f'incident-row-{sooner["id"]}"' in breached.text and 'data-state="breached"' in breached.text
    fabrikam = b.get("/queue", params={"customer": "fabrikam"}).text
    assert f'incident-row-{sooner["id"]}"' not in fabrikam


def test_an_engineer_logs_the_first_response_and_changes_the_severity(web):
    incident = open_by_api(web)
    b = Browser(web)
    b.sign_in("engineer")
    page = b.get(f"/incidents/{incident['id']}")
    assert 'data-testid="communication-form"' in page.text
    web.clock.advance(minutes=5)
    r = b.post(
        f"/incidents/{incident['id']}/communications",
        {"direction": "outbound", "medium": "phone", "body": "Called Marie", "version": "1"},
    )
    assert r.status_code == 303, text(r)
    page = b.get(f"/incidents/{incident['id']}")
    assert 'data-testid="first-response-tag"' in page.text and 'data-state="met"' in page.text
    # A downgrade without grounds is refused, the rule said next to the form.
    r = b.send(f"/incidents/{incident['id']}/severity", {"severity": "C", "reason": "calmer", "version": "2"})
    assert "R-SEV-3" in text(r) and 'data-testid="outcome-problems"' in r.text
    assert '<textarea id="sev-reason"' in r.text and ">calmer</textarea>" in r.text  # what was typed is kept
    # A stale version is refused too (someone else changed it).
    r = b.send(f"/incidents/{incident['id']}/severity", {"severity": "A", "reason": "worse", "version": "1"})
    assert "reload" in text(r)
    r = b.post(
        f"/incidents/{incident['id']}/severity",
        {"severity": "C", "reason": "the customer agreed", "grounds": "customer-agreed", "version": "2"},
    )
    assert r.status_code == 303
    page = text(b.get(f"/incidents/{incident['id']}"))
    assert "Severity B → Severity C" in page and "the customer agreed" in page
    assert (
        b.post(f"/incidents/{incident['id']}/mitigation", {"summary": "restarted", "version": "3"}).status_code == 303
    )
    assert b.post(f"/incidents/{incident['id']}/closure", {"summary": "done", "version": "4"}).status_code == 303
    assert 'data-testid="communication-form"' not in b.get(f"/incidents/{incident['id']}").text


def test_customers_and_csams_cannot_work_an_incident(web):
    incident = open_by_api(web)
    for who in ("contoso_admin", "csam"):
        b = Browser(web)
        b.sign_in(who)
        assert 'data-testid="communication-form"' not in b.get(f"/incidents/{incident['id']}").text
        r = b.post(f"/incidents/{incident['id']}/mitigation", {"summary": "x"})
        assert r.status_code == 403


# --------------------------------------------------------------------------- bookings
def test_a_booking_is_quoted_then_confirmed_and_its_cancellation_fee_shown_first(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    r = b.get("/bookings/new")
    page = text(r)
    assert "R-ORD-5" in rules_of(r) and "Wednesday, 1 November 2028" in page  # 60 days before the end of the term
    assert "14 days' notice or more: full refund" in page and "6 to 13 days' notice: a fee of 50% of the cost" in page
    # R-FLEX-3: year 3's credits are there, for services of year 3.
    assert "Proactive Credits, contract year 3: 150 credits (for services from 1 Jan 2028 to 31 Dec 2028)" in page
    form = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "technical-update-briefings|engagement",
        "scheduled_on": "2026-12-14",
        "quantity": "1",
        "funding": "credits",
    }
    quoted = b.send("/bookings/quote", form)
    assert "19 credits" in text(quoted) and 'id="booking-confirm"' in quoted.text
    assert 'name="expected_cost" value="19"' in quoted.text  # the confirmation carries the cost shown (D45)
    snapshot = re.search(r'name="snapshot" value="([^"]+)"', quoted.text).group(1)
    unconfirmed = b.send("/bookings", form | {"snapshot": snapshot})  # that does not say which cost it agrees to
    assert unconfirmed.url.path == "/bookings/new" and "19 credits" in text(unconfirmed)  # quoted again, to confirm
    assert "Booking #" not in text(unconfirmed)
    assert 'name="expected_cost" value="19"' in unconfirmed.text
    booking_id = book(b, form, quoted)
    assert f'data-testid="booking-row-{booking_id}"' in b.get("/dashboard").text

    web.clock.at = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)  # 7 days before the start
    b.sign_in("contoso_admin")  # days later: a new session
    r = b.get(f"/bookings/{booking_id}/cancel")
    assert r.status_code == 200
    page = text(r)
    assert "7 days' notice: a fee of 50%, that is 10 credits." in page  # 9.5 rounds half up (R-CRED-1)
    assert "Refunded: 9 credits." in page and "R-BOOK-1" in rules_of(r)
    done = b.send(f"/bookings/{booking_id}/cancel", {"expected_fee": "10"})
    assert done.url.path == "/dashboard" and f"Booking #{booking_id} is cancelled." in text(done)
    with web.client("contoso_admin") as c:
        assert c.get(f"/api/v1/bookings/{booking_id}").json()["status"] == "cancelled"


def book(b: Browser, form: dict, quoted: httpx.Response | None = None) -> int:
    """Quote ``form`` (unless given its quote) and confirm it as the quote's button
    does — the form, its snapshot and the cost shown: the booking's id."""
    quoted = quoted or b.send("/bookings/quote", form)
    shown = {
        name: re.search(rf'name="{name}" value="([^"]+)"', quoted.text)[1] for name in ("snapshot", "expected_cost")
    }
    dashboard = b.send("/bookings", form | shown)
    return int(re.search(r"Booking #(\d+) is confirmed", text(dashboard)).group(1))


def test_a_cancellation_whose_fee_changed_since_it_was_shown_is_refused(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/bookings/new")
    form = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "technical-update-briefings|engagement",
        "scheduled_on": "2026-12-21",
        "quantity": "1",
        "funding": "credits",
    }
    booking_id = book(b, form)
    b.get(f"/bookings/{booking_id}/cancel")  # shown free: 24 days' notice
    r = b.send(f"/bookings/{booking_id}/cancel", {"expected_fee": "5"})
    assert r.url.path == f"/bookings/{booking_id}/cancel" and "R-BOOK-1" in rules_of(r)
    r = b.send(f"/bookings/{booking_id}/cancel", {})  # no fee shown, nothing agreed
    assert "confirm from the page that shows the fee" in text(r)
    assert b.send(f"/bookings/{booking_id}/cancel", {"expected_fee": "0"}).url.path == "/dashboard"
    other = Browser(web)
    other.sign_in("fabrikam_admin")
    assert other.get(f"/bookings/{booking_id}/cancel").status_code == 404


def test_a_booking_that_ends_before_it_starts_is_refused_beside_the_end(web):
    """Issue 8: one check for every service, also on the form."""
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/bookings/new")
    form = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "workshops|per-attendee",
        "scheduled_on": "2026-12-16",
        "quantity": "2",
        "funding": "credits",
        "starts": "14:00",
        "ends": "10:00",
    }
    for path in ("/bookings/quote", "/bookings"):
        r = b.send(path, form | {"expected_cost": "15"})
        assert 'data-testid="error-ends"' in r.text and 'value="10:00"' in r.text, text(r)


def test_a_refused_booking_shows_the_rule(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/bookings/new")
    r = b.send(
        "/bookings/quote",
        {
            "order": "ESO-2026-0042",
            "site": "paris",
            "service": "hackathons|engagement",
            "scheduled_on": "2026-12-10",
            "quantity": "3",
            "funding": "credits",
        },
    )  # 294 of 198
    assert "R-CRED-2" in rules_of(r) and 'data-testid="quote"' not in r.text


def test_a_start_or_end_that_is_not_a_time_is_named_not_dropped(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    b.get("/bookings/new")
    r = b.send(
        "/bookings/quote",
        {
            "order": "ESO-2026-0042",
            "site": "munich",
            "service": "enhanced-designated-engineering|hour",
            "scheduled_on": "2026-12-10",
            "quantity": "2",
            "funding": "hours",
            "starts": "25:99",
            "ends": "11:00",
        },
    )
    assert 'data-testid="error-starts"' in r.text and 'data-testid="error-ends"' not in r.text
    assert 'value="25:99"' in r.text  # kept, to be corrected


# --------------------------------------------------------------------------- contracts
def test_the_dashboard_forecasts_what_will_be_forfeited(web):
    b = Browser(web)
    b.sign_in("fabrikam_admin")
    page = text(b.get("/dashboard"))
    assert "Forfeiture forecast" in page
    assert "Proactive Credits: 12 credits forfeited after Wednesday, 31 March 2027 if nothing is booked." in page
    assert "$50,000.00" in page  # the flexible allocation, in the order's currency


def test_markup_gives_important_elements_stable_test_ids():
    templates = Path(__file__).resolve().parents[1] / "src" / "unisupport" / "web" / "templates"
    for name, ids in {
        "sign_in.html": ["signin-email", "signin-password", "signin-submit"],
        "incident_new.html": ["preview-submit", "confirm-submit", "field-product"],
        "booking_cancel.html": ["cancel-confirm", "cancel-fee-text"],
        "base.html": ["language-en", "language-fr", "sign-out-button"],
    }.items():
        source = (templates / name).read_text(encoding="utf-8")
        for testid in ids:
            assert f'data-testid="{testid}"' in source, (name, testid)


def test_every_table_stacks_into_cards_on_a_phone():
    """A table a page adds stacks on a phone like the others (D61): class "stack",
    and a column name on each cell of its rows (the browser test measures them)."""
    templates = Path(__file__).resolve().parents[1] / "src" / "unisupport" / "web" / "templates"
    for path in templates.glob("*.html"):
        source = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<table\b[^>]*>", source):
            assert re.search(r'class="[^"]*\bstack\b', tag), (path.name, tag)
        for body in re.findall(r"<tbody>(.*?)</tbody>", source, re.DOTALL):
            cells = re.findall(r"<td\b[^>]*>", body)
            assert all("data-label" in c or "empty" in c or "colspan" in c for c in cells[1:]), (path.name, cells)


# --------------------------------------------------------------------------- charts
def test_charts_are_server_drawn_svg_with_a_title_axis_labels_a_legend_and_their_data(web):
    b = Browser(web)
    b.sign_in("contoso_admin")
    r = b.get("/dashboard")
    page = r.text
    for chart in (
        "chart-attainment",
        "chart-bookings",
        "chart-balances-ESO-2026-0042-credits",
        "chart-balances-ESO-2026-0042-hours",
    ):
        figure = re.search(rf'<figure[^>]*id="{chart}".*?</figure>', page, re.DOTALL)
        assert figure, chart
        body = figure.group(0)
        assert f'<figcaption class="chart-caption" id="{chart}-caption">' in body
        if "-empty" in body:
            continue  # nothing to draw yet: said in words
        assert re.search(r'<svg [^>]*role="img"\s+aria-labelledby="[^"]+-title [^"]+-desc"', body), chart
        assert f'<title id="{chart}-title">' in body and f'<desc id="{chart}-desc">' in body
        assert 'class="axis-title"' in body and 'class="legend"' in body
        assert '<table class="stack">' in body and "<summary>Show the data</summary>" in body  # the text alternative
    credits = re.search(r'<figure[^>]*id="chart-balances-ESO-2026-0042-credits".*?</figure>', page, re.DOTALL).group(0)
    assert "Proactive credits of order ESO-2026-0042, day by day" in credits and ">Date<" in credits
    assert (
        "Proactive Credits, contract year 1" in credits and "Jan 2026" in credits
    )  # legend and ticks in words, no ISO dates, no line codes for a customer
    assert not re.search(r"\d{4}-\d{2}-\d{2}", re.sub(r'(datetime|data-[a-z-]+)="[^"]*"', "", page.split("<main")[1]))


def test_first_responses_are_counted_by_month_and_severity(web):
    incident = open_by_api(web, severity="A", product="azure-virtual-machines", title="Degraded")
    web.clock.advance(minutes=10)
    with web.client("engineer") as c:
        assert (
            c.post(
                f"/api/v1/incidents/{incident['id']}/communications",
                json={"direction": "outbound", "medium": "phone", "body": "called"},
            ).status_code
            == 200
        )
    b = Browser(web, language="fr")
    b.sign_in("csam")
    b.get("/customers")
    assert b.post("/language", {"language": "fr", "next": "/customers/contoso"}).status_code == 303
    try:
        page = b.get("/customers/contoso").text
        figure = re.search(r'<figure[^>]*id="chart-attainment-contoso".*?</figure>', page, re.DOTALL).group(0)
        assert "Premières réponses par mois et par gravité" in figure and "Mois, puis gravité (1, A, B, C)" in figure
        assert re.search(r'<th scope="row">novembre 2026</th><td[^>]*>Gravité A</td><td[^>]*class="num">[1-9]', figure)
        assert "respectée" in figure or "respecté" in figure
    finally:
        b.post("/language", {"language": "en", "next": "/customers"})


# --------------------------------------------------------------------------- the CSAM's pages
def test_a_csam_sees_their_customers_and_no_others(web):
    b = Browser(web)
    b.sign_in("csam")
    r = b.get("/customers")
    assert r.status_code == 200
    assert 'data-testid="customer-row-contoso"' in r.text and "customer-row-fabrikam" not in r.text
    assert b.get("/customers/fabrikam").status_code == 404
    assert b.get("/orders/ESO-2026-0107").status_code == 404
    assert text(b.get("/orders/ESO-2026-0107")) == text(b.get("/orders/NO-SUCH-ORDER"))
    r = b.get("/orders/ESO-2026-0042")
    assert r.status_code == 200
    page = text(r)
    assert "Forfeiture forecast" in page and "R-FLEX-3" in page and "R-ORD-3" in page
    assert "Ledger statement" in page and "granted" in page
    # A support administrator sees their own order's page, a reactive contact none.
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    assert customer.get("/orders/ESO-2026-0042").status_code == 200
    assert customer.get("/customers").status_code == 403
    contact = Browser(web)
    contact.sign_in("contoso_contact")
    assert contact.get("/orders/ESO-2026-0042").status_code == 403


def test_the_csam_sees_the_post_event_summary_on_the_order_page_r_evt_1(web):
    web.clock.at = datetime(2026, 11, 27, 20, 0, tzinfo=PARIS)  # during the Black Friday event
    case = open_by_api(
        web, product="azure-app-service", severity="1", title="Checkout down", description="AEM checkout"
    )
    b = Browser(web)
    b.sign_in("csam")
    r = b.get("/orders/ESO-2026-0042")
    assert r.status_code == 200 and 'data-testid="event-black-friday-2026"' in r.text
    assert f'data-testid="event-case-{case["id"]}" data-resolved="no"' in r.text
    page = text(r)
    assert "Azure event: Contoso online checkout" in page and "R-EVT-1" in page
    assert "not all resolved yet" in page
    b.get("/customers")
    assert b.post("/language", {"language": "fr", "next": "/orders/ESO-2026-0042"}).status_code == 303
    try:
        page = text(b.get("/orders/ESO-2026-0042"))
        assert "Événement Azure : Contoso online checkout" in page and "pas encore tous résolus" in page
    finally:
        b.post("/language", {"language": "en", "next": "/customers"})
    customer = Browser(web)
    customer.sign_in("contoso_admin")  # the support administrator sees their order's summary too
    assert f'data-testid="event-case-{case["id"]}"' in customer.get("/orders/ESO-2026-0042").text


def test_the_csam_lands_on_their_customers(web):
    b = Browser(web)
    b.get("/sign-in")
    r = b.post("/sign-in", {"email": EMAILS["csam"], "password": PASSWORD})
    assert r.headers["location"] == "/customers"


def test_a_success_plan_is_made_of_activities_of_annex_b_areas(web):
    b = Browser(web)
    b.sign_in("csam")
    b.get("/customers/contoso")
    plan = {
        "title": "Resilience 2027",
        "order": "ESO-2026-0042",
        "activity_0": "solution-integrity/emergency-preparedness",
        "status_0": "planned",
        "due_0": "2027-02-15",
        "notes_0": "Crisis drill with the EIM team",
        "activity_1": "executive-partnership/customer-relationship-management",
        "status_1": "in-progress",
        "due_1": "2027-01-31",
    }
    page = text(b.send("/customers/contoso/success-plans", plan))
    assert "The success plan “Resilience 2027” is created." in page
    assert "Resilience 2027" in page and "Emergency Preparedness" in page and "Crisis drill with the EIM team" in page
    assert "Customer Relationship Management · in progress" in page
    # An activity of another area is refused with the rule, the form kept.
    r = b.send(
        "/customers/contoso/success-plans",
        plan | {"activity_0": "solution-integrity/technology-optimisation", "title": "Mixed"},
    )
    assert "R-SUC-2" in text(r) and 'value="Mixed"' in r.text and 'data-testid="outcome-problems"' in r.text
    assert 'data-testid="error-activity_0"' in b.send("/customers/contoso/success-plans", {"title": "Empty"}).text
    # Another CSAM's customer is out of reach; other roles do not write plans.
    other = Browser(web)
    other.sign_in("csam_other")
    other.get("/customers")
    assert other.post("/customers/contoso/success-plans", plan).status_code == 404
    admin = Browser(web)
    admin.sign_in("admin")
    admin.get("/customers")
    assert admin.post("/customers/contoso/success-plans", plan).status_code == 403


def test_mcsap_onboarding_milestones_show_their_status_and_are_marked_done(web):
    b = Browser(web)
    b.sign_in("csam")
    r = b.get("/orders/ESO-2026-0042")
    # Executed on 1 January 2026: by late November every milestone is past due.
    assert 'data-testid="milestone-ESO-2026-0042-plus-monitors-ready" data-status="late"' in r.text
    assert "Monitors ready for testing" in text(r) and "Wednesday, 1 April 2026" in text(r)
    done_today = {"milestone": "plus-monitors-ready", "next": "/orders/ESO-2026-0042"}
    asked = b.send("/orders/ESO-2026-0042/milestones", done_today)  # one click asks first: it cannot be undone
    assert asked.url.path == "/confirm" and "Monitors ready for testing" in text(asked)
    assert "cannot be undone" in text(asked) and "Friday, 27 November 2026" in text(asked)
    assert 'data-status="late"' in b.get("/orders/ESO-2026-0042").text.split("plus-monitors-ready", 1)[1][:40]
    page = b.confirmed("/orders/ESO-2026-0042/milestones", done_today)
    assert page.url.path == "/orders/ESO-2026-0042" and "is marked done on Friday, 27 November 2026" in text(page)
    assert 'data-testid="milestone-ESO-2026-0042-plus-monitors-ready" data-status="done"' in page.text
    b.confirmed("/orders/ESO-2026-0042/milestones", {"milestone": "plus-monitors-ready"})  # twice: no change
    r = b.confirmed("/orders/ESO-2026-0042/milestones", {"milestone": "no-such"})
    assert "no milestone 'no-such'" in text(r) and "R-MCSAP-2" in text(r)
    fabrikam = Browser(web)
    fabrikam.sign_in("csam_other")
    assert "MCSAP onboarding" not in text(fabrikam.get("/orders/ESO-2026-0107"))  # no MCSAP on that order


def test_open_rcas_and_post_incident_reviews_are_listed_for_follow_up(web):
    incident = open_by_api(web, title="Needs an RCA")
    with web.client("contoso_admin") as c:
        assert c.post(f"/api/v1/incidents/{incident['id']}/rca", json={"note": "why?"}).status_code == 200
    b = Browser(web)
    b.sign_in("csam")
    r = b.get("/customers")
    assert f'data-testid="review-rca-{incident["id"]}"' in r.text and "Root cause analysis" in text(r)
    assert f'data-testid="review-rca-{incident["id"]}"' in b.get("/customers/contoso").text
    other = Browser(web)
    other.sign_in("csam_other")
    assert f"review-rca-{incident['id']}" not in other.get("/customers").text


def review_row(r: httpx.Response, incident_id: int) -> str:
    return text_of(re.search(rf'<tr data-testid="review-rca-{incident_id}".*?</tr>', r.text, re.DOTALL).group(0))


def test_every_page_shows_times_in_the_viewers_zone_and_says_which(web):
    """One rule (D60): a page shows every instant in its viewer's zone — their own,
    else a customer's site's, else UTC — and says which; only the business-time
    story of a site (R-SEV-4) is in the site's zone, and says so."""
    opened = {site: open_by_api(web, site=site, title=f"Zones {site}") for site in ("paris", "munich", "tokyo")}
    with web.database.transaction() as session:
        update_user(session, email=EMAILS["engineer"], timezone="Europe/Paris", actor="test", now=FRIDAY)
    try:
        b = Browser(web)
        b.sign_in("engineer")
        queue = b.get("/queue")
        for incident in opened.values():
            row = re.search(rf'<tr[^>]*id="incident-row-{incident["id"]}".*?</tr>', queue.text, re.DOTALL).group(0)
            assert "(Europe/Paris)" in row and "(Asia/Tokyo)" not in row and "(Europe/Berlin)" not in row
        assert "Times are shown in Europe/Paris." in text(queue)
        tokyo = b.get(f"/incidents/{opened['tokyo']['id']}")
        due = re.search(r'data-testid="first-response-due">([^<]+)<', tokyo.text).group(1)
        assert due.endswith("(Europe/Paris)") and "Business time, day by day (Asia/Tokyo)" in text(tokyo)
    finally:
        with web.database.transaction() as session:
            update_user(session, email=EMAILS["engineer"], timezone="", actor="test", now=FRIDAY)
    # A CSAM with no zone of their own: UTC on every page, the same RCA request the same way.
    with web.client("contoso_admin") as c:
        assert c.post(f"/api/v1/incidents/{opened['paris']['id']}/rca", json={"note": "why?"}).status_code == 200
    csam = Browser(web)
    csam.sign_in("csam")
    everyone, theirs = csam.get("/customers"), csam.get("/customers/contoso")
    when = [
        re.findall(r"\d\d/\d\d/\d{4} \d\d:\d\d \([^)]+\)", review_row(r, opened["paris"]["id"]))
        for r in (everyone, theirs)
    ]
    assert when[0] == when[1] == ["27/11/2026 15:45 (UTC)"] and "Times are shown in UTC." in text(theirs)
    customer = Browser(web)
    customer.sign_in("contoso_admin")  # a customer: their support site's zone
    assert "Times are shown in Europe/Paris." in text(customer.get(f"/incidents/{opened['tokyo']['id']}"))


def test_the_countdown_says_what_the_badge_says(web):
    """Under a minute left is « less than a minute left » (the badge: at risk);
    just past due « overdue by less than a minute » (the badge: breached); never « 0 min »."""
    incident = open_by_api(web, severity="A", title="Countdown words")
    due = datetime.fromisoformat(incident["first_response"]["due"])
    b = Browser(web)
    b.sign_in("contoso_admin")

    def shown() -> tuple[str, str]:
        page = b.get(f"/incidents/{incident['id']}").text
        countdown = re.search(r'data-testid="first-response-countdown"[^>]*>([^<]+)<', page).group(1)
        state = re.search(r'data-testid="first-response-state"[^>]*>([^<]+)<', page).group(1)
        return countdown.strip(), state.strip()

    web.clock.at = due - timedelta(seconds=30)
    assert shown() == ("less than a minute left", "at risk")
    web.clock.at = due + timedelta(seconds=30)
    assert shown() == ("overdue by less than a minute", "breached")
    web.clock.at = due + timedelta(minutes=5, seconds=10)
    assert shown() == ("overdue by 5 min", "breached")


# --------------------------------------------------------------------------- people on an incident
def test_an_engineer_names_an_incident_manager_on_an_incident(web):
    incident = open_by_api(web)
    b = Browser(web)
    b.sign_in("engineer")
    page = b.get(f"/incidents/{incident['id']}")
    assert 'data-testid="assign-form"' in page.text
    r = b.post(
        f"/incidents/{incident['id']}/assignments", {"role": "incident-manager", "person": EMAILS["im"], "version": "1"}
    )
    assert r.status_code == 303, text(r)
    page = text(b.get(f"/incidents/{incident['id']}"))
    assert "incident manager: im@provider.example" in page
    # Only an active user with that role; a CSAM is neither.
    r = b.send(f"/incidents/{incident['id']}/assignments", {"role": "engineer", "person": EMAILS["im"]})
    assert "not an active engineer" in text(r) and 'data-testid="outcome"' in r.text
    r = b.send(f"/incidents/{incident['id']}/assignments", {"role": "csam", "person": EMAILS["csam"]})
    assert 'data-testid="outcome-problems"' in r.text
    customer = Browser(web)
    customer.sign_in("contoso_admin")
    customer.get(f"/incidents/{incident['id']}")
    assert (
        customer.post(
            f"/incidents/{incident['id']}/assignments", {"role": "engineer", "person": EMAILS["engineer"]}
        ).status_code
        == 403
    )
    with web.client("contoso_admin") as c:
        events = c.get(f"/api/v1/incidents/{incident['id']}/events").json()
    assert {"role": "incident-manager", "person": EMAILS["im"]} in [
        e["after"] for e in events if e["kind"] == "role-assigned"
    ]


# --------------------------------------------------------------------------- the customer's actions
def test_a_customer_writes_a_message_and_may_raise_the_severity_but_not_lower_it(web):
    incident = open_by_api(web, title="Slow mail")
    b = Browser(web)
    b.sign_in("contoso_admin")
    page = b.get(f"/incidents/{incident['id']}")
    assert 'data-testid="composer"' in page.text and 'data-testid="upgrade-form"' in page.text
    options = re.search(r'<select id="upgrade-severity".*?</select>', page.text, re.DOTALL).group(0)
    assert 'value="1"' in options and 'value="A"' in options and 'value="C"' not in options  # upgrades only
    r = b.post(f"/incidents/{incident['id']}/messages", {"body": "It now affects the Lyon office too"}, files=NO_FILE)
    assert r.status_code == 303, text(r)
    page = text(b.get(f"/incidents/{incident['id']}"))
    assert "It now affects the Lyon office too" in page and "(customer) · " in page and "from the pages" in page
    r = b.post(
        f"/incidents/{incident['id']}/upgrade", {"severity": "A", "reason": "Both offices are down", "version": "2"}
    )
    assert r.status_code == 303, text(r)
    page = text(b.get(f"/incidents/{incident['id']}"))
    assert "Severity B → Severity A" in page and "Both offices are down" in page
    # Lowering it is refused (a downgrade needs the provider and its grounds: R-SEV-3).
    r = b.send(
        f"/incidents/{incident['id']}/upgrade", {"severity": "C", "reason": "better", "grounds": "customer-agreed"}
    )
    assert 'data-testid="form-error"' in r.text
    with web.client("contoso_admin") as c:
        assert c.get(f"/api/v1/incidents/{incident['id']}").json()["severity"] == "A"
    assert (
        'data-testid="error-body"' in b.send(f"/incidents/{incident['id']}/messages", {"body": ""}, files=NO_FILE).text
    )


# --------------------------------------------------------------------------- administration
def test_the_admin_creates_and_deactivates_users(web):
    b = Browser(web)
    b.sign_in("admin")
    page = b.get("/admin/users")
    assert page.status_code == 200 and 'data-testid="user-row-engineer@provider.example"' in page.text
    new = {
        "email": "Night.Owl@provider.example",
        "name": "Night Owl",
        "role": "engineer",
        "language": "fr",
        "password": "a long enough password",
        "teams": "standard-support",
    }
    created = b.send("/admin/users", new)
    assert "User night.owl@provider.example is created." in text(created)
    row = re.search(r'<tr data-testid="user-row-night.owl@provider.example".*?</tr>', created.text, re.DOTALL).group(0)
    assert "Standard support" in row and "active" in row
    night = Browser(web)
    night.get("/sign-in")
    assert (
        night.post(
            "/sign-in", {"email": "night.owl@provider.example", "password": "a long enough password"}
        ).status_code
        == 303
    )
    assert "File d'attente" in text(night.get("/queue"))  # the language chosen for them
    # A customer user must be a designated contact (R-ORD-4); a short password is refused.
    r = b.send(
        "/admin/users",
        {"email": "stranger@contoso.example", "name": "S", "role": "reactive-contact", "customer": "contoso"},
    )
    assert "R-ORD-4" in text(r) and 'value="stranger@contoso.example"' in r.text
    r = b.send("/admin/users", new | {"email": "short@provider.example", "password": "short"})
    assert "at least 12 characters" in text(r) and 'data-testid="error-password"' in r.text
    assert "a long enough password" not in r.text and 'value="short"' not in r.text  # a password is never kept
    # Deactivating asks first, saying what follows; then the user is signed out at the next click.
    off = {"email": "night.owl@provider.example", "active": "0"}
    asked = b.send("/admin/users/active", off)
    assert "Deactivate night.owl@provider.example?" in text(asked) and "API tokens stop working" in text(asked)
    assert night.get("/queue").status_code == 200  # asked only
    assert "night.owl@provider.example is deactivated." in text(b.confirmed("/admin/users/active", off))
    assert night.get("/queue").status_code == 303
    r = b.confirmed("/admin/users/active", {"email": EMAILS["admin"], "active": "0"})  # not oneself
    assert "you cannot deactivate yourself" in text(r)


def main_of(r: httpx.Response) -> str:
    """The page's <main>, from its opening tag."""
    return r.text[r.text.index("<main") :]


def test_a_refused_form_comes_back_to_its_page_with_the_problem_on_top_and_what_was_typed(web):
    """Post, redirect, get (web.outcome): the refusal is the first thing of the page,
    focused, linking to the field, which shows its problem and keeps the input; the
    address is the page's own and reopens; a done action says so at the top too."""
    b = Browser(web)
    b.sign_in("admin")
    b.get("/admin/teams")
    r = b.post("/admin/teams", {"code": "Bad Code", "name": "Night owls"})
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/teams?form=")
    target = r.headers["location"]
    refused = b.get(target)
    main = main_of(refused)
    assert refused.status_code == 200 and main.index('data-testid="outcome"') < main.index("<h1")
    summary = re.search(r'<div class="outcome outcome-refused".*?</div>', main, re.DOTALL).group(0)
    assert "autofocus" in summary and 'role="alert"' in summary and 'href="#t-code"' in summary
    assert "Code:" in text_of(summary) and "is not a team code" in text_of(summary)
    assert 'id="t-code-error"' in main and 'value="Bad Code"' in main and 'value="Night owls"' in main
    assert re.search(
        r'<input[^>]*id="t-code"[^>]*aria-invalid="true"[^>]*aria-describedby="t-code-help t-code-error"', main
    )
    assert b.get(target).status_code == 200  # reopened or reloaded: the same page, never a 405
    reopened = b.get("/admin/teams/members")  # a form's own address, from the history
    assert reopened.status_code == 303 and reopened.headers["location"] == "/admin/teams"
    # In French, with what was typed still there.
    b.post("/language", {"language": "fr", "next": target})
    french = b.get(target)
    assert "Il y a un problème" in text(french) and 'value="Bad Code"' in french.text
    b.post("/language", {"language": "en", "next": target})
    # Another browser session reads nothing of it.
    other = Browser(web)
    other.sign_in("admin")
    assert "Night owls" not in other.get(target).text and 'data-testid="outcome"' not in other.get(target).text
    # Done: said at the top, focused.
    r = b.post("/admin/teams", {"code": "night-owls", "name": "Night owls"})
    assert r.status_code == 303
    done = b.get(r.headers["location"])
    notice = re.search(r'<div class="outcome outcome-done".*?</div>', main_of(done), re.DOTALL).group(0)
    assert "autofocus" in notice and "Team night-owls is created." in text_of(notice)


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_the_admin_manages_teams_and_assigns_csams(web):
    b = Browser(web)
    b.sign_in("admin")
    b.get("/admin/teams")
    assert b.post("/admin/teams", {"code": "night-shift", "name": "Night shift"}).status_code == 303
    assert b.post("/admin/teams", {"code": "Bad Code", "name": "x"}).status_code == 303
    assert b.post("/admin/teams/members", {"email": EMAILS["im"], "team": "night-shift"}).status_code == 303
    row = re.search(r'<tr data-testid="team-row-night-shift".*?</tr>', b.get("/admin/teams").text, re.DOTALL).group(0)
    assert EMAILS["im"] in row
    b.get("/admin/users")
    assert b.post("/admin/users/csam", {"email": EMAILS["csam_other"], "customer": "contoso"}).status_code == 303
    other = Browser(web)
    other.sign_in("csam_other")
    assert "customer-row-contoso" in other.get("/customers").text
    r = b.send("/admin/users/csam", {"email": EMAILS["engineer"], "customer": "contoso"})
    assert "only a csam is assigned customers" in text(r) and 'data-testid="error-email"' in r.text


def test_a_new_api_token_is_shown_once_and_can_be_revoked(web):
    b = Browser(web)
    b.sign_in("admin")
    b.get("/admin/tokens")
    r = b.post("/admin/tokens", {"user": EMAILS["im"], "label": "pager"})
    assert r.status_code == 200
    token = re.search(r'data-testid="new-token-value">([^<]+)<', r.text).group(1)
    assert r.headers["cache-control"] == "no-store"
    assert token not in b.get("/admin/tokens").text  # never shown again
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(web.url + "/api/v1/incidents", headers=headers).status_code == 200
    revoke = {"prefix": token[:8], "user": EMAILS["im"]}
    assert "Programs using it are refused" in text(b.send("/admin/tokens/revoke", revoke))  # asked first
    assert httpx.get(web.url + "/api/v1/incidents", headers=headers).status_code == 200
    assert f"Token {token[:8]}… is revoked." in text(b.confirmed("/admin/tokens/revoke", revoke))
    assert httpx.get(web.url + "/api/v1/incidents", headers=headers).status_code == 401
    assert "revoked" in re.search(
        rf'<tr data-testid="token-row-{re.escape(token[:8])}".*?</tr>', b.get("/admin/tokens").text, re.DOTALL
    ).group(0)


def test_only_admins_reach_the_administration_pages(web):
    for who in ("engineer", "csam", "contoso_admin"):
        b = Browser(web)
        b.sign_in(who)
        for path in ("/admin/users", "/admin/teams", "/admin/tokens"):
            assert b.get(path).status_code == 403, (who, path)
        assert b.post("/admin/users", {"email": "x@provider.example", "name": "x", "role": "admin"}).status_code == 403


# --------------------------------------------------------------------------- platform outages
def test_an_incident_manager_declares_an_outage_and_sees_who_was_told_and_why(web):
    im = Browser(web)
    im.sign_in("im")
    page = im.get("/outages")
    assert 'data-testid="outage-form"' in page.text and "R-MCSAP-5" in text(page)
    r = im.send(
        "/outages/preview",
        {"reference": "VN4S-1Z8", "title": "Storage degraded", "products": "azure-unicorns", "message": "x"},
    )
    assert "azure-unicorns" in text(r) and 'data-testid="audience"' not in r.text
    outage = {
        "reference": "VN4S-1Z8",
        "title": "Storage degraded",
        "products": "azure-storage",
        "regions": "West Europe, North Europe",
        "message": "Writes are slow.",
    }
    # Nothing is sent before the audience is shown (R-MCSAP-5): who will be told, and why.
    with web.database.reading() as session:
        outbox = session.scalar(select(func.count()).select_from(OutboxRow))
    previewed = im.send("/outages/preview", outage)
    assert 'data-testid="audience-contoso" data-notified="yes"' in previewed.text
    assert "marie.dupont@contoso.example" in text(previewed) and "will be told" in text(previewed)
    with web.database.reading() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == outbox
    # No product at all: the whole platform, said in so many words before sending.
    whole = im.send("/outages/preview", outage | {"products": ""})
    assert 'data-testid="audience-whole-platform"' in whole.text and "WHOLE platform" in text(whole)
    r = confirm(im, "/outages", outage, previewed)
    assert r.status_code == 303, text(r)
    page = im.get(r.headers["location"])
    assert "The notice is sent: 2 contact(s) of 1 customer(s) told." in text(page)
    assert 'data-testid="decision-1-contoso" data-notified="yes"' in page.text
    assert "marie.dupont@contoso.example" in text(page) and "regions: West Europe, North Europe" in text(page)
    here = r.headers["location"].split("?")[0]
    end = {"message": "Over.", "resolved": "on"}
    r = confirm(im, here + "/notices", end, im.send(here + "/notices/preview", end))
    assert r.status_code == 303
    assert 'data-testid="notice-form"' not in im.get(r.headers["location"]).text  # resolved: nothing more to post

    customer = Browser(web)
    customer.sign_in("contoso_admin")
    page = customer.get("/outages")
    assert "VN4S-1Z8" in text(page) and 'data-testid="outage-form"' not in page.text
    other = Browser(web)
    other.sign_in("fabrikam_admin")
    assert 'data-testid="outages-none"' in other.get("/outages").text
    assert other.post("/outages", {"reference": "X-1", "title": "t", "message": "m"}).status_code == 403
