"""The web pages' plumbing without a server: the message catalog is complete in
French and English, languages and formats are negotiated as documented, and the
session cookie and its secret behave (unisupport.web.i18n, unisupport.web.session)."""

from __future__ import annotations

import base64
import os
import re
import stat
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from unisupport.access import Role
from unisupport.catalog.catalog import ServiceFamily, Unit
from unisupport.catalog.product import ProductFamily
from unisupport.errors import DataFileError, InvalidInput
from unisupport.incidents.communication import Direction, Medium
from unisupport.incidents.routing import AUTOMATIC_ROLES
from unisupport.incidents.severity_change import DowngradeGrounds
from unisupport.ledger.posting import EntryKind
from unisupport.mission_critical.mcsap_onboarding import MilestoneStatus
from unisupport.mission_critical.success_plan import ItemStatus
from unisupport.orders.order_file import OrderStatus
from unisupport.services.incidents import ASSIGNABLE_ROLES
from unisupport.sla.matrix import Coverage
from unisupport.web.contracts import BOOKING_STATES, CHARTED_UNITS
from unisupport.web.contracts import STATES as ATTAINMENT_STATES
from unisupport.web.i18n import (
    LANGUAGES,
    Catalog,
    accept_language,
    default_catalog,
    formatter,
    language_from_header,
    locale_for,
)
from unisupport.web.session import SECRET_FILE, SECRET_KEY, Signer, load_secret

WEB = Path(__file__).resolve().parents[1] / "src" / "unisupport" / "web"
SERVICES = Path(__file__).resolve().parents[1] / "src" / "unisupport" / "services"
NOW = datetime(2026, 11, 27, 15, 45, tzinfo=UTC)


# --------------------------------------------------------------------------- the catalog
def test_every_message_exists_in_both_languages_with_the_same_placeholders():
    catalog = Catalog.load()
    assert catalog.problems() == []
    assert set(catalog.messages["en"]) == set(catalog.messages["fr"])
    assert len(catalog.messages["en"]) > 200


def test_every_key_the_templates_and_views_use_is_in_the_catalog():
    catalog = default_catalog()
    used = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        # t("key") in templates and views; notice("key") for what a form's outcome says (web.outcome)
        used |= set(re.findall(r"""\b(?:t|notice)\(\s*["']([a-z0-9_.-]+)["']""", path.read_text(encoding="utf-8")))
    used |= {"format.datetime_short", "format.datetime_long"}
    assert used, "no t() call found: the pattern is out of date"
    # A key ending with a dot is a prefix completed in the template ("role." ~ value).
    assert sorted(k for k in used if not catalog.has(k) and not k.endswith(".")) == []


def test_every_value_a_page_names_from_the_domain_has_its_words():
    """Keys built from domain values (``status.{x}`` …) cannot be found by reading
    the templates: list the values from the domain itself."""
    keys = (
        [f"role.{r.value}" for r in Role]
        + [f"role.{r}" for r in AUTOMATIC_ROLES.values()]
        + [f"status.{s}" for s in ("open", "mitigated", "closed")]
        + [f"state.{s}" for s in ("met", "late", "breached", "at-risk", "pending")]
        + [f"coverage.{c.value}" for c in Coverage]
        + [f"direction.{d.value}" for d in Direction]
        + [f"medium.{m.value}" for m in Medium]
        + [f"grounds.{g.value}" for g in DowngradeGrounds]
        + [f"family.{f.value}" for f in ProductFamily]
        + [f"unit.{u.value}.{form}" for u in Unit for form in ("one", "other")]
        + [f"balances.{g}" for g in ("flex", "credits", "hours", "services", "fees")]
        + [f"service_family.{f.value}" for f in ServiceFamily]
        + [f"order_status.{s.value}" for s in OrderStatus]
        + [f"entry.{k.value}" for k in EntryKind]
        + [f"milestone.{s.value}" for s in MilestoneStatus]
        + [f"plan_status.{s.value}" for s in ItemStatus]
        + [f"booking_status.{s}" for s in set(BOOKING_STATES.values())]
        + [f"chart.balances.{u}" for u in CHARTED_UNITS]
        + [f"state.{s}" for s in ATTAINMENT_STATES]
        + [f"review.{k}" for k in ("rca", "pir")]
        + [f"review_status.{s}" for s in ("requested", "delivered", "to-schedule", "held")]
        + [f"role.{r.value}" for r in ASSIGNABLE_ROLES]
    )
    # Every kind of timeline event the services record.
    kinds = set()
    for path in SERVICES.glob("*.py"):
        kinds |= set(re.findall(r'kind="([a-z-]+)"', path.read_text(encoding="utf-8")))
    keys += [f"event.{k}" for k in kinds - {"communication"}]
    catalog = default_catalog()
    assert sorted(k for k in keys if not catalog.has(k)) == []


def test_a_catalog_with_a_missing_key_or_placeholder_is_refused(tmp_path):
    (tmp_path / "en.yaml").write_text('a: "Hello {name}"\nb: "Bye"\n', encoding="utf-8")
    (tmp_path / "fr.yaml").write_text('a: "Bonjour {nom}"\n', encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        Catalog.load(tmp_path)
    assert "fr.yaml lacks 'b'" in str(caught.value) and "'a' has placeholders" in str(caught.value)
    (tmp_path / "fr.yaml").write_text("a: \nb: Au revoir\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="non-empty"):
        Catalog.load(tmp_path)


# --------------------------------------------------------------------------- languages and formats
def test_accept_language_is_read_by_quality_then_order():
    assert accept_language("de;q=0.9, fr-CA, en;q=0.8, *;q=0.1") == ["fr-CA", "de", "en"]
    assert language_from_header("de-DE, fr;q=0.5, en;q=0.4") == "fr"
    assert language_from_header("es, it") is None and language_from_header(None) is None
    assert language_from_header("en;q=0, fr;q=0.2") == "fr"


def test_formats_follow_the_browser_region_of_the_same_language():
    assert str(locale_for("en", "en-US,en;q=0.9")) == "en_US"
    assert str(locale_for("en", "fr-FR")) == "en_GB"
    assert str(locale_for("fr", "fr-CA")) == "fr_CA"
    assert str(locale_for("fr", None)) == "fr_FR"


@pytest.mark.parametrize(
    "language, long, short",
    [
        ("en", "Monday, 30 November 2026 at 10:15 (Europe/Paris)", "30/11/2026 10:15 (Europe/Paris)"),
        ("fr", "lundi 30 novembre 2026 à 10:15 (Europe/Paris)", "30/11/2026 10:15 (Europe/Paris)"),
    ],
)
def test_instants_are_shown_in_the_zone_asked_with_the_zone(language, long, short):
    fmt = formatter(language)
    due = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert fmt.datetime(due, "Europe/Paris", long=True) == long
    assert fmt.datetime(due, "Europe/Paris") == short
    assert fmt.datetime(due, "Asia/Tokyo").startswith("30/11/2026 18:15")


def test_numbers_money_and_units_in_the_languages_format():
    en, fr = formatter("en"), formatter("fr")
    assert en.money(Decimal(200000), "EUR") == "€200,000.00"
    assert fr.money(Decimal(200000), "EUR").replace("\u202f", " ").replace("\xa0", " ") == "200 000,00 €"
    assert en.amount(Decimal(1), "hours") == "1 hour" and en.amount(Decimal("1.5"), "hours") == "1.5 hours"
    assert fr.amount(Decimal("1.5"), "hours") == "1,5 heure" and fr.amount(Decimal(48), "credits") == "48 avoirs"
    assert en.percent(50) == "50%" and fr.percent(50).replace("\xa0", " ") == "50 %"
    assert en.minutes(135) == "2 h 15 min" and fr.minutes(45) == "45 min"
    assert en.date(date(2026, 12, 31), long=True) == "Thursday, 31 December 2026"


def test_chart_months_never_read_as_days():
    en, fr = formatter("en"), formatter("fr")
    assert (
        fr.month(date(2026, 6, 1), short=True) == "juin 2026"
        and fr.month(date(2026, 9, 1), short=True, year=False) == "sept."
    )
    assert en.month(date(2026, 11, 1)) == "November 2026" and fr.month(date(2026, 11, 1)) == "novembre 2026"


def test_both_languages_are_offered():
    assert LANGUAGES == ("en", "fr")


# --------------------------------------------------------------------------- the session
def test_a_session_round_trips_and_any_change_to_it_is_refused():
    signer = Signer(b"k" * 40)
    data = signer.new(NOW, user_id=7)
    cookie = signer.dumps(data)
    assert signer.loads(cookie, NOW) == data
    body, signature = cookie.split(".")
    assert signer.loads(body + "." + signature[:-2] + "AA", NOW) is None
    forged = (
        base64.urlsafe_b64encode(base64.urlsafe_b64decode(body + "==").replace(b'"u":7', b'"u":1')).decode().rstrip("=")
    )
    assert forged != body and signer.loads(forged + "." + signature, NOW) is None  # another user, same signature
    assert Signer(b"o" * 40).loads(cookie, NOW) is None  # another secret
    assert signer.loads("garbage", NOW) is None and signer.loads(None, NOW) is None


def test_a_session_expires_after_twelve_hours():
    signer = Signer(b"k" * 40)
    cookie = signer.dumps(signer.new(NOW, user_id=7))
    assert signer.loads(cookie, NOW + timedelta(hours=11, minutes=59)) is not None
    assert signer.loads(cookie, NOW + timedelta(hours=12)) is None


def test_the_csrf_token_belongs_to_one_session():
    signer = Signer(b"k" * 40)
    a, b = signer.new(NOW), signer.new(NOW)
    assert signer.csrf_ok(a, signer.csrf_token(a))
    assert not signer.csrf_ok(a, signer.csrf_token(b))
    assert not signer.csrf_ok(a, "") and not signer.csrf_ok(None, signer.csrf_token(a))
    assert signer.csrf_token(a) != a.nonce  # derived, not the cookie's own value


def test_the_secret_comes_from_the_environment_or_a_private_file_made_once(tmp_path):
    assert load_secret({SECRET_KEY: "e" * 40}) == b"e" * 40
    with pytest.raises(InvalidInput, match="at least 32"):
        load_secret({SECRET_KEY: "short"})
    env = {"UNISUPPORT_DATA_DIR": str(tmp_path / "data")}
    first = load_secret(env)
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and len(first) >= 32
    assert load_secret(env) == first  # another process reads the same secret
