"""Every page of the web app, for every demo account that can see it (issue 8).

In French: no English left — ledger reasons, routing, customer-clock texts,
"system", team names, validator messages —, one French word for severity
(« gravité ») in the pages and in the mails, and French dates (« 1er décembre »).
For customers, in both languages: words, not internal codes — no rule id
(``R-SLA-1``: on hover only, in a ``title``), no ledger key (``line:credits-y1``),
no site or line code; provider users keep them.

The demo data set (``unisupport.demo``) is loaded on a new database with the clock
pinned to Tuesday 1 December 2026 (a first of the month), then a few forms are
sent so that the pages they lead to are rendered too (a preview, a quote, an
outage's audience, a refusal, a confirm step, a booking and its ledger entries,
a request for the customer's answer). The routes come from the app itself: a new
page is checked without anyone adding it here."""

from __future__ import annotations

import html
import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from unisupport.api.app import create_app
from unisupport.clock import FixedClock
from unisupport.demo import PASSWORD, USERS, load
from unisupport.storage.database import Database, make_engine, migrate
from unisupport.settings import WebhookSettings
from unisupport.storage.tables import (
    BookingRow,
    CustomerRow,
    IncidentRow,
    OrderRow,
    PlatformOutageRow,
    SurveyRow,
    WebhookSubscriptionRow,
)
from unisupport.web.i18n import Catalog
from unisupport.web.page import WebRoute
from unisupport.notifications.signed_links import MailLinks
from unisupport.web.session import SECRET_KEY

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))  # a Tuesday, the first of the month
TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "unisupport" / "notifications" / "templates"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')

# English that must never appear on a French page: what issue 8 found, and the
# words of the English catalog most likely to leak.
ENGLISH = (
    "paid with",
    "bought",
    "pays for line",
    "flexible allocation",
    "Flexible allocation",
    "cancelled",
    "unused at the end",
    "term ended",
    "no enhanced plan",
    "covers this",
    "support engineers",
    "Standard support",
    "Security engineers",
    "Rapid Response engineers",
    "Azure Events team",
    "Enhanced Incident Management",
    "logged after the fact",
    "opened_at",
    "after the due time",
    "by the due time",
    "change-approval authority",
    "an answer within",
    "rapid access and response",
    "enhanced escalation starts",
    "first-response target",
    "Severity",
    "Refused",
    "There is a problem",
    "This field is required",
    "Field required",
    "String should",
    "Value error",
    "Input should",
    "Sign out",
    "Dashboard",
    "Customers",
    "Outages",
    "Times are shown",
    "at risk",
    "on time",
    "breached",
    "Yes, do it",
)
ENGLISH_WORDS = re.compile(r"\b(system|none|all|the)\b")
# « 1 décembre » is « 1er décembre » in French.
FIRST_OF_THE_MONTH = re.compile(
    r"\b1 (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|janv\.|févr\.|avr\.|juil\.|sept\.|oct\.|nov\.|déc\.)"
)
# Keys whose French is the English word (a name, a unit, a format).
SAME_IN_BOTH = {
    "nav.webhooks",
    "webhook.title",
    "webhook.description",
    "webhook.one",
    "app.name",
    "format.datetime_short",
    "format.quantity",
    "format.minutes",
    "format.hours",
    "format.hours_minutes",
    "medium.email",
    "medium.web",
    "medium.chat",
    "family.azure",
    "family.microsoft-365",
    "family.dynamics",
    "family.github",
    "incident.site_of",
    "why.plan",
    "new_incident.site",
    "booking.site",
    "booking.service",
    "booking.date",
    "booking.actions",
    "chart.date",
    "chart.total",
    "chart.incidents",
    "service_family.maintenance",
    "service_family.optimization",
    "service_family.structure",
    "admin.team_code",
    "third_party.actions",
    "outage.contacts",
    "nav.menu",
    "nav.incidents",
    "thread.title",
    "thread.side.provider",
    "composer.body",
    "contact.title",
}


def visible(body: str, *, marked_english: bool = True) -> str:
    """What a reader sees or hears: the text, the page title, aria-labels; not the
    title attributes (where rule ids may be, on hover), not scripts. Text nodes are
    kept apart (``¦``): a count in one cell and a month in the next are no date.
    ``marked_english=False`` leaves out what the page marks ``lang="en"`` (the
    services' refusals, still written in English only, are marked so)."""
    labels = " ¦ ".join(re.findall(r'aria-label="([^"]*)"', body))
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.DOTALL)
    if not marked_english:
        body = re.sub(r'<(\w+)[^>]*\slang="en"[^>]*>.*?</\1>', " ", body, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", " ¦ ", body) + " ¦ " + labels)
    return re.sub(r"\s+", " ", text)


class Reader:
    """A browser without JavaScript, signed in as a demo user, reading in French
    (or in ``language``)."""

    def __init__(self, app, email: str, language: str = "fr"):
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        self.client.headers["Accept"] = "text/html"
        self.email = email
        self.token = ""
        self.get("/sign-in")
        r = self.post("/sign-in", {"email": email, "password": PASSWORD})
        assert r.status_code == 303, r.text
        self.get(r.headers["location"])  # signing in made a new session: its token
        assert self.post("/language", {"language": language, "next": "/"}).status_code == 303

    def get(self, path: str):
        r = self.client.get(path)
        if m := CSRF.search(r.text):
            self.token = m.group(1)
        return r

    def post(self, path: str, data: dict):
        r = self.client.post(path, data=data | {"csrf_token": self.token})
        if m := CSRF.search(r.text):
            self.token = m.group(1)
        return r

    def send(self, path: str, data: dict):
        r = self.post(path, data)
        assert r.status_code == 303, (path, r.status_code, r.text[:300])
        return r.headers["location"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    saved = os.environ.get(SECRET_KEY)
    os.environ[SECRET_KEY] = "french-pages-secret-" + "f" * 40
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('french') / 'unisupport.db'}")
    migrate(engine)
    database = Database(engine)
    with database.transaction() as session:
        load(session, now=NOW)
    # Webhook targets on the loopback are allowed: a subscription is made by a form.
    local = WebhookSettings(allow_private=("127.0.0.1/32",))
    app = create_app(database, clock=FixedClock(NOW), webhook_settings=local)
    yield app, database
    engine.dispose()
    if saved is None:
        os.environ.pop(SECRET_KEY, None)
    else:
        os.environ[SECRET_KEY] = saved


def _forms(app, database, language: str = "fr") -> list[tuple[Reader, str]]:
    """Send the forms whose answers are pages of their own: (the reader who sent
    it — an outcome is for its session only —, the page to read)."""
    marie, engineer, im, admin, csam = (
        Reader(app, e, language)
        for e in (
            "marie.dupont@contoso.example",
            "engineer@provider.example",
            "im@provider.example",
            "admin@provider.example",
            "csam@provider.example",
        )
    )
    pages = []
    marie.get("/webhooks")  # a subscription (its page tells the secret), then a refused one
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": "incident.opened", "description": "ITSM"}
    pages.append((marie, marie.send("/webhooks", hook)))
    pages.append((marie, marie.send("/webhooks", hook | {"url": "ftp://x", "event_types": "incident.nope"})))
    marie.get("/incidents/new")
    incident = {
        "site": "paris",
        "product": "exchange-online",
        "severity": "B",
        "title": "Quota",
        "business_impact": "x",
    }
    pages.append((marie, marie.send("/incidents/preview", incident)))
    pages.append((marie, marie.send("/incidents/preview", incident | {"title": "", "severity": "Z"})))
    marie.get("/bookings/new")
    workshop = {
        "order": "ESO-2026-0042",
        "site": "paris",
        "service": "workshops|per-attendee",
        "scheduled_on": "2026-12-21",
        "quantity": "2",
        "funding": "credits",
    }
    quoted = marie.send("/bookings/quote", workshop)
    pages.append((marie, quoted))
    page = marie.get(quoted).text
    shown = {
        name: re.search(rf'name="{name}" value="([^"]+)"', page).group(1) for name in ("snapshot", "expected_cost")
    }
    pages.append((marie, marie.send("/bookings", workshop | shown)))
    pages.append((marie, marie.send("/bookings/quote", workshop | {"quantity": "900"})))
    with database.reading() as session:
        sev_b = session.scalar(select(IncidentRow.id).where(IncidentRow.severity == "B").order_by(IncidentRow.id))
        outage = session.scalar(select(PlatformOutageRow.id))
    # A request for the customer's answer (R-SLA-4) and a call logged after the fact.
    engineer.get(f"/incidents/{sev_b}")
    asked = {"direction": "outbound", "medium": "email", "body": "Merci de valider", "requests_customer_action": "on"}
    engineer.send(f"/incidents/{sev_b}/communications", asked)
    late = {"direction": "outbound", "medium": "phone", "body": "Appel", "at": "2026-12-01T08:30"}
    engineer.send(f"/incidents/{sev_b}/communications", late)
    pages.append((engineer, engineer.send(f"/incidents/{sev_b}/severity", {"severity": "C", "reason": "x"})))
    im.get("/outages")
    declared = {"reference": "FR-1", "title": "Latence", "message": "Lent"}
    pages.append((im, im.send("/outages/preview", declared)))
    pages.append((im, im.send(f"/outages/{outage}/notices/preview", {"message": "Encore"})))
    admin.get("/admin/teams")
    pages.append((admin, admin.send("/admin/teams", {"code": "Pas Bon", "name": "x"})))
    admin.get("/admin/users")
    pages.append((admin, admin.send("/admin/users/active", {"email": "cloud-ops@contoso.example", "active": "0"})))
    pages.append((admin, admin.send("/admin/users", {"email": "x", "name": "", "role": "engineer"})))
    csam.get("/orders/ESO-2026-0042")
    done = {"milestone": "plus-monitors-ready", "next": "/orders/ESO-2026-0042"}
    pages.append((csam, csam.send("/orders/ESO-2026-0042/milestones", done)))
    return pages


def _routes(routes):
    """Every route, also those of included routers (FastAPI ≥ 0.165 keeps them in
    the router they came from; none of the web's has a prefix)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _paths(app, database) -> dict[str, list[str]]:
    """Every GET page of the web app (its path template), with the addresses that
    fill it in from the demo data."""
    with database.reading() as session:
        values = {
            "incident_id": [str(i) for i in session.scalars(select(IncidentRow.id))],
            "code": list(session.scalars(select(CustomerRow.code))),
            "number": list(session.scalars(select(OrderRow.number))),
            "outage_id": [str(i) for i in session.scalars(select(PlatformOutageRow.id))],
            "booking_id": [str(i) for i in session.scalars(select(BookingRow.id))],
            "subscription_id": [str(i) for i in session.scalars(select(WebhookSubscriptionRow.id))],
            # The mail's signed links (R-COM-1, R-CSAT-1): one-click unsubscribe, and a survey not answered yet.
            "token": [MailLinks.from_env().unsubscribe_token("marie.dupont@contoso.example", "announcement")]
            + [
                MailLinks.from_env().survey_token(r.id, r.expires_at)
                for r in session.scalars(select(SurveyRow).where(SurveyRow.answered_at.is_(None)))
            ],
        }
    out = {}
    for route in _routes(app.routes):
        if not isinstance(route, WebRoute) or "GET" not in route.methods:
            continue
        if route.path.endswith("/attachments/{attachment_id:int}"):  # a file as it was sent, not a page
            continue
        if route.path.startswith(
            "/sso/"
        ):  # they need an identity provider: tests/test_sso.py reads them in both languages
            continue
        if route.path.endswith(".csv"):  # a download (reports, survey results), not a page
            continue
        paths = [route.path]
        for name in re.findall(r"{(\w+)(?::\w+)?}", route.path):
            paths = [re.sub(rf"{{{name}(?::\w+)?}}", v, p) for p in paths for v in values[name]]
        out[route.path] = paths
    return out


def _english_in(body: str) -> list[str]:
    """The known English phrases of a page (marked ``lang="en"`` or not: they have
    French words now), its English words outside what is marked English, its dates
    written « 1 décembre », and « sévérité »."""
    text = visible(body)
    found = [phrase for phrase in ENGLISH if phrase in text]
    found += [m.group(0) for m in ENGLISH_WORDS.finditer(visible(body, marked_english=False))]
    found += [m.group(0) for m in FIRST_OF_THE_MONTH.finditer(text)]
    found += re.findall(r"[Ss]évérité", text)
    return found


def test_every_page_for_every_demo_account_is_in_french(demo):
    app, database = demo
    extra = _forms(app, database)
    routes = _paths(app, database)
    shown: dict[str, int] = {template: 0 for template in routes}
    problems = []
    for email, *_ in USERS:
        reader = Reader(app, email)
        for template, paths in routes.items():
            for path in paths:
                r = reader.get(path)
                if r.status_code != 200:
                    continue  # not theirs to see (403, 404), or a redirect (the home page, /confirm)
                shown[template] += 1
                assert '<html lang="fr">' in r.text, (email, path)
                problems += [(email, path, w) for w in _english_in(r.text)]
    visitor = TestClient(app, headers={"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9"})
    r = visitor.get("/sign-in")
    assert r.status_code == 200
    shown["/sign-in"] += 1
    problems += [("(visitor)", "/sign-in", w) for w in _english_in(r.text)]
    said = []
    for reader, path in extra:  # previews, quotes, audiences, refusals, confirm steps
        r = reader.get(path)
        shown["/confirm"] += path.startswith("/confirm?")
        assert r.status_code == 200 and '<html lang="fr">' in r.text, (reader.email, path)
        said.append(visible(r.text))
        problems += [(reader.email, path, w) for w in _english_in(r.text)]
    assert len(shown) >= 15 and [t for t, n in shown.items() if n == 0 and t != "/"] == []  # every page was read
    found = sorted({(path.split("?")[0], w) for _, path, w in problems})
    assert found == [], "\n".join(map(str, found))
    assert any("Ce champ est obligatoire." in text for text in said)  # validators' words too


def test_the_queue_filters_agree_with_their_nouns(demo):
    app, _ = demo
    r = Reader(app, "engineer@provider.example").get("/queue")
    for name, words in (
        ("team", "toutes les équipes"),
        ("severity", "toutes les gravités"),
        ("customer", "tous les clients"),
        ("state", "tous les états"),
    ):
        select_ = re.search(rf'<select id="f-{name}".*?</select>', r.text, re.DOTALL).group(0)
        assert re.search(r'<option value="">([^<]*)</option>', select_).group(1) == words


def test_french_says_gravite_in_the_pages_and_in_the_mails():
    catalog = Catalog.load()
    french = " ".join(catalog.messages["fr"].values())
    assert "sévérité" not in french.lower() and "Gravité" in french
    for template in TEMPLATES.glob("*.fr.txt"):
        words = template.read_text(encoding="utf-8").lower()
        assert "sévérité" not in words, template.name
        if "{{ severity }}" in words:
            assert "gravité {{ severity }}" in words, template.name


def test_every_message_has_both_languages_and_french_is_not_english_left_over():
    catalog = Catalog.load()
    assert catalog.problems() == []
    assert set(catalog.messages["en"]) == set(catalog.messages["fr"])
    copied = sorted(
        key
        for key, text in catalog.messages["en"].items()
        if catalog.messages["fr"][key] == text and key not in SAME_IN_BOTH
    )
    assert copied == []


# --------------------------------------------------------------------------- customers see words
CUSTOMERS = [email for email, _, role, *_ in USERS if role.is_customer]
RULE_ID = re.compile(r"\bR-[A-Z]+-\d+\b")
CODES = re.compile(r"\b(line|flex|fees):[\w-]+|\((paris|munich|tokyo|seattle|lyon)[,)]|\b(credits|workshops)-y\d\b")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_customers_see_words_not_internal_codes(demo, language):
    """Rule ids only on hover (title attributes), no ledger keys, no site or line
    codes, on every page a customer can see and those their forms lead to; a
    provider user's page keeps the ids."""
    app, database = demo
    pages = [(r, p) for r, p in _forms(app, database, language) if r.email in CUSTOMERS]
    routes = _paths(app, database)
    for email in CUSTOMERS:
        reader = Reader(app, email, language)
        pages += [(reader, path) for paths in routes.values() for path in paths]
    found = set()
    for reader, path in pages:
        r = reader.get(path)
        if r.status_code != 200:
            continue
        text = visible(r.text)
        found |= {(path.split("?")[0], m.group(0)) for m in RULE_ID.finditer(text)}
        found |= {(path.split("?")[0], m.group(0)) for m in CODES.finditer(text)}
    assert sorted(found) == [], "\n".join(map(str, sorted(found)))
    with database.reading() as session:
        incident = session.scalar(select(IncidentRow.id))
    engineer = visible(Reader(app, "engineer@provider.example", language).get(f"/incidents/{incident}").text)
    assert "R-SLA-1" in engineer and "R-SEV-2" in engineer  # provider users keep the ids
    marie = Reader(app, "marie.dupont@contoso.example", language).get(f"/incidents/{incident}").text
    assert 'title="R-SLA-1' in marie or "R-SLA-1" in " ".join(re.findall(r'title="([^"]*)"', marie))
