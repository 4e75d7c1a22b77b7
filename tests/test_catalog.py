"""The service catalog (docs/rules.md §1) as shipped, as loaded from a broken file, and
as the ``unisupport catalog`` command shows it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from unisupport.catalog import Catalog, Service, default_catalog
from unisupport.catalog.catalog import Marker, Requirement, ServiceFamily, SiteRule, Unit
from unisupport.errors import DataFileError, InvalidInput

# The catalog table of docs/rules.md §1, copied here (a test below keeps the two equal):
# code, FR name, EN name, family, marker — in table order.
TABLE = [
    ("technical-validation", "Validation Technique", "Technical Validation", "planning", "addon"),
    ("architecture-services", "Services d'Architecture", "Architecture Services", "planning", "addon"),
    ("integration-services", "Services d'Intégration", "Integration Services", "implementation", "addon"),
    ("on-demand-assessment", "Évaluation à la Demande", "On-Demand Assessment", "maintenance", "included"),
    ("assessment-program", "Programme d'Évaluation", "Assessment Program", "maintenance", "addon"),
    ("offline-assessment", "Évaluation Hors Connexion", "Offline Assessment", "maintenance", "addon"),
    ("proactive-monitoring", "Surveillance Proactive", "Proactive Monitoring", "maintenance", "addon"),
    (
        "proactive-operations-program",
        "Programmes d'Opérations Proactives (POP)",
        "Proactive Operations Program",
        "maintenance",
        "addon",
    ),
    ("rap-as-a-service", "RAP as a Service", "Risk and Health Assessment Program as a Service", "maintenance", "addon"),
    ("adoption-services", "Services d'Adoption", "Adoption Services", "optimization", "addon"),
    (
        "devops-capability-assessment",
        "Évaluation des capacités DevOps",
        "DevOps Capability Assessment",
        "optimization",
        "addon",
    ),
    ("development-assistance", "Assistance au Développement", "Development Assistance", "optimization", "addon"),
    (
        "developer-platform-advisory",
        "Support-conseil pour la plate-forme de développement",
        "Developer Platform Advisory",
        "optimization",
        "addon",
    ),
    ("it-service-management", "Gestion des services informatiques", "IT Service Management", "optimization", "addon"),
    ("security-services", "Services de sécurité", "Security Services", "optimization", "addon"),
    ("on-demand-education", "Formation à la Demande", "On-Demand Education", "education", "included"),
    ("webcasts", "Webcasts", "Webcasts", "education", "included"),
    ("hackathons", "Hackathons", "Hackathons", "education", "addon"),
    (
        "technical-update-briefings",
        "Exposés des Mises à Jour Techniques",
        "Technical Update Briefings",
        "education",
        "addon",
    ),
    ("chalk-talks", "Conférences interactives (Chalk Talk)", "Chalk Talks", "education", "addon"),
    ("workshops", "Ateliers", "Workshops", "education", "addon"),
    (
        "custom-proactive-services",
        "Services proactifs personnalisés",
        "Custom Proactive Services",
        "additional-proactive",
        "addon",
    ),
    ("technology-advisor", "Conseiller Technologique", "Technology Advisor", "additional-proactive", "addon"),
    ("designated-engineering", "Ingénierie Désignée (DE)", "Designated Engineering", "additional-proactive", "addon"),
    ("proactive-credits", "Avoirs proactifs", "Proactive Credits", "additional-proactive", "addon"),
    ("advisory-support", "Support Conseil", "Advisory Support", "reactive", "included"),
    (
        "problem-resolution-support",
        "Assistance à la Résolution de Problèmes (PRS)",
        "Problem Resolution Support",
        "reactive",
        "included",
    ),
    (
        "reactive-support-management",
        "Gestion du Support Réactif",
        "Reactive Support Management",
        "reactive",
        "included",
    ),
    ("root-cause-analysis", "Analyse des Causes", "Root Cause Analysis", "reactive", "addon"),
    (
        "reactive-support-management-addon",
        "Module complémentaire de gestion du support réactif",
        "Reactive Support Management add-on",
        "reactive",
        "addon",
    ),
    ("success-management", "Services de Gestion de la Réussite", "Success Management", "success", "included"),
    ("mcsap", "Mission Critical Services for Azure Platform", "MCSAP", "mission-critical", "addon"),
    ("mcsap-plus", "Mission Critical Services for Azure Platform Plus", "MCSAP Plus", "mission-critical", "addon"),
    (
        "mcs-azure-workload",
        "Mission Critical Services for Azure Workload (and Plus)",
        "MCS for Azure Workload",
        "mission-critical",
        "addon",
    ),
    (
        "mcs-azure-events",
        "Mission Critical Services for Azure Events (ex AEM)",
        "MCS for Azure Events",
        "mission-critical",
        "addon",
    ),
    (
        "mcs-security-plus",
        "Mission Critical Services for Security Plus",
        "MCS for Security Plus",
        "mission-critical",
        "addon",
    ),
    (
        "mscir",
        "Réponse aux incidents de cybersécurité (MSCIR)",
        "Cybersecurity Incident Response",
        "mission-critical",
        "addon",
    ),
    (
        "enhanced-designated-engineering",
        "Ingénierie Désignée améliorée (EDE)",
        "Enhanced Designated Engineering",
        "enhanced",
        "addon",
    ),
    (
        "reactive-enhanced-designated-engineering",
        "Ingénierie désignée améliorée réactive (REDE)",
        "Reactive EDE",
        "enhanced",
        "addon",
    ),
    ("unified-enhanced-response", "Réponse Améliorée Unifiée (UER)", "Unified Enhanced Response", "enhanced", "addon"),
    ("azure-rapid-response", "Azure Rapid Response (ARR)", "Azure Rapid Response", "enhanced", "addon"),
    ("o365-engineering-direct", "O365 Engineering Direct", "Office 365 Engineering Direct", "enhanced", "addon"),
    ("developer-support", "Support aux Développeurs", "Developer Support", "enhanced", "addon_limited"),
    ("github-engineering-direct", "GitHub Engineering Direct", "GitHub Engineering Direct", "enhanced", "addon"),
    ("multi-country-support", "Support Pays Multiples", "Multi-country Support", "structure", "addon"),
]
CODES = [row[0] for row in TABLE]
RULES_DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def codes_where(catalog: Catalog, predicate) -> set[str]:
    return {s.code for s in catalog if predicate(s)}


# --- the shipped catalog ------------------------------------------------------------


def test_catalog_holds_every_service_of_the_rules_table_in_table_order(catalog):
    """R-CAT-1: every entry of docs/rules.md §1, nothing else, in the table's order."""
    assert [s.code for s in catalog] == CODES
    assert len(catalog) == len(TABLE) == 45


@pytest.mark.parametrize(("code", "fr", "en", "family", "marker"), TABLE, ids=CODES)
def test_each_service_carries_its_exact_names_family_and_marker(catalog, code, fr, en, family, marker):
    """R-CAT-1: FR and EN names, family and marker exactly as in the table."""
    service = catalog.get(code)
    assert (service.fr, service.en, service.family, service.marker) == (fr, en, family, marker)
    assert service.name("fr") == fr and service.name("en") == en


def test_embedded_table_and_cited_rules_match_docs_rules(catalog):
    """Guards the copy above against drift from the rule book (docs/rules.md, which
    tests/test_rules_doc.py holds to the specification), and every rule id the
    catalog cites against typos."""
    text = RULES_DOC.read_text(encoding="utf-8")
    table = text[text.index("\n| code |") :].split("\n\n", 1)[0]
    rows = [tuple(cell.strip() for cell in line.strip("|").split("|"))[:5] for line in table.splitlines()[3:]]
    assert rows == TABLE
    known = set(re.findall(r"^\| (R-[A-Z0-9]+-\d+) \|", text, flags=re.MULTILINE))
    cited = {rule for s in catalog for rule in s.rules}
    assert cited and cited - known == set()


def test_every_addon_requires_an_active_base_package(catalog):
    """R-ORD-2: add-ons (limited or not) need a Base Package on the same order."""
    addons = codes_where(catalog, lambda s: s.marker != Marker.INCLUDED)
    assert addons == {row[0] for row in TABLE if row[4] != "included"}
    assert all(catalog.get(code).requires(Requirement.BASE) for code in addons)


def test_included_services_do_not_require_the_package_they_belong_to(catalog):
    included = [s for s in catalog if s.marker == Marker.INCLUDED]
    assert {s.code for s in included} == {
        "on-demand-assessment",
        "on-demand-education",
        "webcasts",
        "advisory-support",
        "problem-resolution-support",
        "reactive-support-management",
        "success-management",
    }
    assert not any(s.requires(Requirement.BASE) for s in included)


def test_success_management_cannot_use_flexible_allocation(catalog):
    """R-FLEX-4."""
    assert catalog.get("success-management").flex_eligible is False


def test_flexible_allocation_pays_for_proactive_mission_critical_and_enhanced_addons(catalog):
    """R-FLEX-1: proactive services, mission-critical services, enhanced solutions,
    credits and custom proactive services; nothing that is already included."""
    paid_families = {
        ServiceFamily.PLANNING,
        ServiceFamily.IMPLEMENTATION,
        ServiceFamily.MAINTENANCE,
        ServiceFamily.OPTIMIZATION,
        ServiceFamily.EDUCATION,
        ServiceFamily.ADDITIONAL_PROACTIVE,
        ServiceFamily.MISSION_CRITICAL,
        ServiceFamily.ENHANCED,
    }
    expected = codes_where(catalog, lambda s: s.family in paid_families and s.marker != Marker.INCLUDED)
    assert codes_where(catalog, lambda s: s.flex_eligible) == expected
    assert {"proactive-credits", "custom-proactive-services", "mcsap", "unified-enhanced-response"} <= expected


def test_only_proactive_credits_and_custom_proactive_services_count_toward_the_flex_cap(catalog):
    """R-FLEX-2: the 20 % / USD 50,000 cap covers these two together."""
    assert codes_where(catalog, lambda s: s.counts_toward_flex_cap) == {
        "proactive-credits",
        "custom-proactive-services",
    }


def test_developer_support_is_bought_within_a_price_list_quantity_limit(catalog):
    """R-DEV-1: the only addon_limited entry; its limit is a price-list setting."""
    assert codes_where(catalog, lambda s: s.marker == Marker.ADDON_LIMITED) == {"developer-support"}
    service = catalog.get("developer-support")
    assert service.limits.max_quantity == "price-list"
    assert service.unit == Unit.QUANTITY


def test_azure_events_cover_five_days_one_solution_with_six_weeks_notice_in_english(catalog):
    """R-EVT-2, R-SLA-3."""
    events = catalog.get("mcs-azure-events")
    assert events.limits.max_consecutive_days == 5
    assert events.limits.min_notice_weeks == 6
    assert events.limits.max_solutions_per_event == 1
    assert events.requires(Requirement.AZURE_PUBLIC_CLOUD)
    assert events.unit == Unit.PER_EVENT and events.languages == ("en",)


def test_mcsap_plus_needs_eligibility_and_monitors_at_most_seven_scenarios(catalog):
    """R-MCSAP-1, R-MCSAP-3."""
    plus = catalog.get("mcsap-plus")
    assert plus.requires(Requirement.MCSAP_PLUS_ELIGIBILITY)
    assert plus.limits.max_monitoring_scenarios == 7
    assert not catalog.get("mcsap").requires(Requirement.MCSAP_PLUS_ELIGIBILITY)
    assert catalog.get("mcsap").limits.max_monitoring_scenarios is None


def test_mcsap_allows_two_service_improvement_plans_per_twelve_months(catalog):
    """R-MCSAP-4 (MCSAP Plus has every MCSAP feature)."""
    for code in ("mcsap", "mcsap-plus"):
        assert catalog.get(code).limits.max_service_improvement_plans_per_12_months == 2


def test_on_demand_assessment_needs_azure_and_caps_paid_help(catalog):
    """Needs an active Azure subscription; paid help ≤ 2 days on site or ≤ 1 day remote."""
    assessment = catalog.get("on-demand-assessment")
    assert assessment.requires(Requirement.AZURE_SUBSCRIPTION)
    assert (assessment.limits.paid_onsite_help_max_days, assessment.limits.paid_remote_help_max_days) == (2, 1)


def test_hour_based_services_are_deducted_from_purchased_hours(catalog):
    """R-HRS-1: exactly DE, EDE, REDE, Development Assistance, Developer Platform
    Advisory and the Reactive Support Management add-on; all sold in hours."""
    hour_based = codes_where(catalog, lambda s: s.hour_based)
    assert hour_based == {
        "designated-engineering",
        "enhanced-designated-engineering",
        "reactive-enhanced-designated-engineering",
        "development-assistance",
        "developer-platform-advisory",
        "reactive-support-management-addon",
    }
    assert all(Unit.HOURS in catalog.get(code).units for code in hour_based)


def test_designated_engineering_family_is_delivered_in_business_hours_only(catalog):
    """R-HRS-2."""
    assert codes_where(catalog, lambda s: s.business_hours_only) == {
        "designated-engineering",
        "enhanced-designated-engineering",
        "reactive-enhanced-designated-engineering",
    }


def test_uer_is_bought_for_the_host_site_and_de_ede_for_a_single_site(catalog):
    """R-MC-2, R-MC-3."""
    assert catalog.get("unified-enhanced-response").site_rule == SiteRule.HOST_SITE_ONLY
    assert codes_where(catalog, lambda s: s.site_rule == SiteRule.SINGLE_SITE) == {
        "designated-engineering",
        "enhanced-designated-engineering",
    }
    assert catalog.get("reactive-enhanced-designated-engineering").site_rule == SiteRule.PER_SITE


def test_english_only_mission_critical_services(catalog):
    """R-SLA-3: MCSAP, Azure Events and Security Plus are English only."""
    for code in ("mcsap", "mcsap-plus", "mcs-azure-events", "mcs-security-plus"):
        assert catalog.get(code).languages == ("en",)
    assert catalog.get("azure-rapid-response").languages == ("en", "ja")


def test_workshops_are_bought_per_attendee_or_as_a_dedicated_delivery(catalog):
    """R-BOOK-3."""
    assert catalog.get("workshops").units == (Unit.PER_ATTENDEE, Unit.DEDICATED_DELIVERY)
    assert catalog.get("workshops").unit == Unit.PER_ATTENDEE


def test_onsite_delivery_needs_a_written_agreement_and_reactive_support_is_remote(catalog):
    """R-CAT-1: remote by default; on site only when agreed in writing, travel billable
    unless prepaid. All reactive support is delivered remotely (§2.3 table 9)."""
    designated = catalog.get("designated-engineering")
    assert designated.delivery_modes == ("remote", "onsite")
    assert designated.onsite_requires_written_agreement and designated.onsite_travel_billable_unless_prepaid
    assert all(s.delivery_modes == ("remote",) for s in catalog if s.family == ServiceFamily.REACTIVE)
    assert all("remote" in s.delivery_modes for s in catalog)


def test_shipped_services_are_sold_in_every_country(catalog):
    """R-CAT-3: no shipped entry lists countries, so each is sold everywhere."""
    assert all(s.countries is None for s in catalog)
    assert catalog.is_sold_in("workshops", "JP")


def test_get_unknown_service_names_the_field_and_suggests_close_codes(catalog):
    with pytest.raises(InvalidInput) as caught:
        catalog.get("workshop", field="lines[0].service")
    assert caught.value.field == "lines[0].service"
    assert "did you mean workshops" in caught.value.message


def test_families_follow_file_order_and_filter(catalog):
    assert catalog.families() == list(ServiceFamily)
    assert [s.code for s in catalog.by_family("education")] == CODES[15:21]
    with pytest.raises(InvalidInput, match="unknown family 'nope'"):
        catalog.by_family("nope")


# --- broken files -------------------------------------------------------------------

VALID_ENTRY = {
    "en": "Workshops",
    "fr": "Ateliers",
    "family": "education",
    "marker": "addon",
    "units": ["per-attendee"],
    "prerequisites": [{"requires": "base"}],
    "flex_eligible": True,
}


def write_catalog(tmp_path: Path, **changes) -> Path:
    """A one-entry catalog ('workshops') with ``changes`` applied (None deletes a key)."""
    entry = {**VALID_ENTRY, **changes}
    entry = {k: v for k, v in entry.items() if v is not None}
    path = tmp_path / "catalog.yaml"
    path.write_text(
        yaml.safe_dump(
            {"version": "test", "source": "tests", "services": {"workshops": entry}},
            allow_unicode=True,
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return path


def load_error(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        Catalog.load(path)
    return caught.value


def test_a_valid_minimal_file_loads(tmp_path):
    loaded = Catalog.load(write_catalog(tmp_path))
    assert [s.code for s in loaded] == ["workshops"] and loaded.version == "test"


def test_unknown_family_is_refused_naming_file_entry_and_field(tmp_path):
    error = load_error(write_catalog(tmp_path, family="trainings"))
    assert error.entry == "workshops" and error.field == "family"
    assert str(error).startswith(
        f"{tmp_path / 'catalog.yaml'}: entry 'workshops': field 'family': Input should be 'planning'"
    )


def test_missing_english_name_is_refused(tmp_path):
    error = load_error(write_catalog(tmp_path, en=None))
    assert (error.entry, error.field) == ("workshops", "en")
    assert "Field required" in str(error)


def test_unknown_key_is_refused(tmp_path):
    error = load_error(write_catalog(tmp_path, colour="blue"))
    assert (error.entry, error.field) == ("workshops", "colour")
    assert "Extra inputs are not permitted" in str(error)


def test_unknown_limit_key_is_refused(tmp_path):
    error = load_error(write_catalog(tmp_path, limits={"max_days": 3}))
    assert (error.entry, error.field) == ("workshops", "limits.max_days")


def test_duplicate_entry_is_refused_with_both_lines(tmp_path):
    """PyYAML would silently keep the second one."""
    path = tmp_path / "catalog.yaml"
    body = "\n".join(f"    {k}: {json.dumps(v)}" for k, v in VALID_ENTRY.items())
    path.write_text(f"version: x\nsource: y\nservices:\n  workshops:\n{body}\n  workshops:\n{body}\n", encoding="utf-8")
    error = load_error(path)
    assert error.entry == "workshops" and error.field is None
    assert "is given twice (lines 4 and 12)" in str(error)


def test_duplicate_field_in_an_entry_is_refused(tmp_path):
    path = tmp_path / "catalog.yaml"
    body = "\n".join(f"    {k}: {json.dumps(v)}" for k, v in VALID_ENTRY.items())
    path.write_text(f"version: x\nsource: y\nservices:\n  workshops:\n{body}\n    family: planning\n", encoding="utf-8")
    error = load_error(path)
    assert (error.entry, error.field) == ("workshops", "family")


@pytest.mark.parametrize("country", ["fr", "FRA", "ZZ"])
def test_country_must_be_an_upper_case_alpha_2_code(tmp_path, country):
    """R-CAT-3 lists ISO 3166-1 alpha-2 codes."""
    error = load_error(write_catalog(tmp_path, countries=["BE", country]))
    assert (error.entry, error.field) == ("workshops", "countries[1]")
    assert repr(country) in str(error)


def test_a_listed_country_restricts_where_the_service_is_sold(tmp_path):
    """R-CAT-3: ordering for a site elsewhere is refused."""
    restricted = Catalog.load(write_catalog(tmp_path, countries=["FR", "BE"]))
    assert restricted.is_sold_in("workshops", "FR")
    assert not restricted.is_sold_in("workshops", "DE")
    with pytest.raises(InvalidInput) as caught:
        restricted.is_sold_in("workshops", "france")
    assert caught.value.field == "country"


def test_addon_limited_without_max_quantity_is_refused(tmp_path):
    """R-DEV-1: +¹ services are bought within fixed quantity limits."""
    error = load_error(write_catalog(tmp_path, marker="addon_limited"))
    assert (error.entry, error.field) == ("workshops", "limits")
    assert "max_quantity" in str(error)


def test_addon_without_base_prerequisite_is_refused(tmp_path):
    """R-ORD-2."""
    error = load_error(write_catalog(tmp_path, prerequisites=None))
    assert (error.entry, error.field) == ("workshops", "prerequisites")
    assert "R-ORD-2" in str(error)


def test_included_service_requiring_base_is_refused(tmp_path):
    error = load_error(write_catalog(tmp_path, marker="included"))
    assert (error.entry, error.field) == ("workshops", "prerequisites")


def test_success_management_made_flex_eligible_is_refused(tmp_path):
    """R-FLEX-4 holds even against an operator's edit."""
    error = load_error(write_catalog(tmp_path, family="success", marker="included", prerequisites=None))
    assert (error.entry, error.field) == ("workshops", "flex_eligible")
    assert "R-FLEX-4" in str(error)


def test_flex_cap_item_must_be_flex_eligible(tmp_path):
    """R-FLEX-2: the cap is a part of the flexible allocation."""
    error = load_error(write_catalog(tmp_path, flex_eligible=False, counts_toward_flex_cap=True))
    assert (error.entry, error.field) == ("workshops", "counts_toward_flex_cap")


def test_hour_based_service_must_be_sold_in_hours(tmp_path):
    """R-HRS-1."""
    error = load_error(write_catalog(tmp_path, hour_based=True))
    assert (error.entry, error.field) == ("workshops", "hour_based")


def test_code_is_the_entry_key_not_a_field(tmp_path):
    error = load_error(write_catalog(tmp_path, code="workshops"))
    assert "entry 'workshops'" in str(error) and "'code'" in str(error)


def test_malformed_yaml_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("version: x\nsource: y\nservices:\n  workshops: {en: Workshops\n  webcasts: {}\n", encoding="utf-8")
    error = load_error(path)
    assert str(error).startswith(f"{path}: is not valid YAML at line ")
    assert re.search(r"at line [45]\b", str(error))


def test_missing_file_is_a_data_file_error(tmp_path):
    error = load_error(tmp_path / "absent.yaml")
    assert "cannot be read" in str(error)


def test_service_is_immutable(catalog):
    with pytest.raises(ValidationError, match="frozen"):
        catalog.get("workshops").family = "planning"  # type: ignore[misc]
    assert isinstance(catalog.get("workshops"), Service)


# --- the command line ---------------------------------------------------------------


def run_cli(*args: str):
    from unisupport.cli.main import app

    # Wide enough that Rich does not wrap names inside table cells.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_lists_education_in_french_as_json():
    result = run_cli("catalog", "list", "--family", "education", "--lang", "fr", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["code"] for r in rows] == CODES[15:21]
    assert [r["name"] for r in rows] == [row[1] for row in TABLE[15:21]]
    workshops = rows[-1]
    assert workshops["en"] == "Workshops" and workshops["fr"] == "Ateliers"
    assert workshops["units"] == ["per-attendee", "dedicated-delivery"] and workshops["unit"] == "per-attendee"
    assert workshops["prerequisites"] == [{"requires": "base"}]


def test_cli_json_lists_every_service_with_all_fields():
    rows = json.loads(run_cli("catalog", "list", "--json").output)
    assert [r["code"] for r in rows] == CODES
    assert rows[CODES.index("mcs-azure-events")]["limits"] == {
        "max_consecutive_days": 5,
        "min_notice_weeks": 6,
        "max_solutions_per_event": 1,
    }
    assert {"marker", "family", "delivery_modes", "flex_eligible", "rules", "site_rule"} <= set(rows[0])


def test_cli_table_shows_codes_and_names_in_the_chosen_language():
    result = run_cli("catalog", "list", "--family", "reactive", "--lang", "fr")
    assert result.exit_code == 0, result.output
    assert "root-cause-analysis" in result.output and "Analyse des Causes" in result.output
    assert "Root Cause Analysis" not in result.output and "workshops" not in result.output


def test_cli_lists_products_of_a_family():
    result = run_cli("catalog", "products", "--family", "security", "--lang", "fr", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and {r["family"] for r in rows} == {"security"}
    entra = next(r for r in rows if r["code"] == "entra-id")
    assert entra["flags"] == sorted(entra["flags"]) and "security_pillar" in entra["flags"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["list", "--family", "nope"], "--family"),
        (["list", "--lang", "de"], "--lang"),
        (["products", "--family", "nope"], "--family"),
    ],
)
def test_cli_bad_options_raise_invalid_input_naming_the_option(args, field):
    result = run_cli("catalog", *args)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == field


def test_unknown_family_exits_2_with_one_line_and_no_traceback():
    """The real console entry point, as a user runs it."""
    run = subprocess.run(
        [sys.executable, "-m", "unisupport.cli.main", "catalog", "list", "--family", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "error: --family: unknown family 'nope' (accepted: planning, implementation, maintenance, "
        "optimization, education, additional-proactive, reactive, success, mission-critical, enhanced, structure)"
    ]
