"""The resolver (R-SLA-1..3): every row of the matrices and every exclusion,
checked against the rules restated here from docs/rules.md §5 — not read from the
shipped matrix file, so a wrong edit of that file fails these tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from unisupport.catalog.product import default_products
from unisupport.errors import InvalidInput
from unisupport.sla import Calendar, Holding, explain

PARIS = ZoneInfo("Europe/Paris")
FR = Calendar.for_country("FR", "Europe/Paris")
# A Wednesday 10:00 in Paris: every business-hours target fits in the day.
OPENED = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)

AZURE = {
    "azure-virtual-machines",
    "azure-sql-database",
    "azure-kubernetes-service",
    "azure-app-service",
    "azure-storage",
    "azure-functions",
    "azure-cosmos-db",
    "azure-storsimple",
    "github-ae",
    "azure-communication-services",
    "billing-subscription-management",
    "azure-media-services",
    "azure-stack",
    "azure-a40",
    "test-base-m365",
    "microsoft-mesh",
    "universal-print",
    "azure-maps",
    "azure-china-cloud",
    "azure-us-government",
    "azure-billing",
    "entra-id",
}
SECURITY = {
    "entra-id",
    "intune",
    "purview",
    "defender-endpoint",
    "defender-cloud-apps",
    "defender-identity",
    "defender-office-365",
}
# R-SLA-2, restated.
BASE_EXCLUDED = {"azure-storsimple", "github-ae", "azure-communication-services", "billing-subscription-management"}
UER_EXCLUDED = {
    "azure-us-government",
    "azure-storsimple",
    "github-ae",
    "azure-a40",
    "azure-media-services",
    "azure-stack",
    "test-base-m365",
    "microsoft-mesh",
    "universal-print",
}
ARR_EXCLUDED = {
    "azure-media-services",
    "azure-stack",
    "azure-storsimple",
    "github-ae",
    "universal-print",
    "azure-communication-services",
    "billing-subscription-management",
    "test-base-m365",
    "microsoft-mesh",
}
MCSAP_EXCLUDED = {
    "azure-us-government",
    "azure-china-cloud",
    "azure-media-services",
    "azure-stack",
    "azure-billing",
    "azure-maps",
    "azure-storsimple",
    "github-ae",
    "universal-print",
    "test-base-m365",
    "microsoft-mesh",
    # identity and authentication technologies, on-premises:
    "entra-id",
}
EVENTS_EXCLUDED = {"azure-us-government", "azure-china-cloud"}  # public cloud only (R-EVT-2)
BASE_OTHER = {"1": 60, "A": 60, "B": 120, "C": 240}


def base_minutes(sev: str, product: str) -> int:
    if sev == "1" and product in AZURE and product not in BASE_EXCLUDED:
        return 15
    return BASE_OTHER[sev]


def expected_minutes(plan: str, sev: str, product: str) -> int | None:
    """The plan's own target for the incident, None when the plan does not apply."""
    azure = product in AZURE
    if plan == "base":
        return base_minutes(sev, product)
    if plan == "unified-enhanced-response":
        if sev == "1":
            return 15 if azure and product not in UER_EXCLUDED else 30
        return 30 if sev == "A" else base_minutes(sev, product)
    if plan in ("mcsap", "mcsap-plus"):
        if not azure or product in MCSAP_EXCLUDED:
            return None
        return 15 if sev == "1" else base_minutes(sev, product)
    if plan == "azure-rapid-response":
        if not azure or product in ARR_EXCLUDED:
            return None
        return 15 if sev == "1" else base_minutes(sev, product)
    if plan == "mcs-security-plus":
        if product not in SECURITY:
            return None
        return 15 if sev in ("1", "A") else base_minutes(sev, product)
    if plan == "mcs-azure-events":
        if not azure or product in EVENTS_EXCLUDED:
            return None
        return 15 if sev == "1" else base_minutes(sev, product)
    raise AssertionError(plan)


PLANS = [
    "base",
    "unified-enhanced-response",
    "mcsap",
    "mcsap-plus",
    "azure-rapid-response",
    "mcs-security-plus",
    "mcs-azure-events",
]
PRODUCTS = sorted(p.code for p in default_products())
EVENT = dict(
    description="AEM: checkout slow during launch",
    event_start=datetime(2026, 11, 24, 0, 0, tzinfo=PARIS),
    event_end=datetime(2026, 11, 28, 0, 0, tzinfo=PARIS),
)


def run(plans, sev="B", product="azure-virtual-machines", opened=OPENED, **kw):
    if any((p if isinstance(p, str) else p.plan) == "mcs-azure-events" for p in plans):
        kw = {**EVENT, **kw}
    return explain(severity=sev, product=product, opened=opened, calendar=FR, plans=plans, **kw)


def test_the_matrix_registry_holds_the_products_the_rules_name():
    for code in AZURE | SECURITY | BASE_EXCLUDED | UER_EXCLUDED | ARR_EXCLUDED | MCSAP_EXCLUDED:
        assert code in default_products()


@pytest.mark.parametrize("plan", PLANS)
@pytest.mark.parametrize("sev", ["1", "A", "B", "C"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_every_row_and_every_exclusion(plan, sev, product):
    """R-SLA-1/R-SLA-2: each plan's own figure, and the effective target is the
    shortest of the plan's and the Base Package's."""
    result = run([plan], sev=sev, product=product)
    entry = next(c for c in result.considered if c.plan == plan)
    want = expected_minutes(plan, sev, product)
    assert entry.applies == (want is not None), entry.reason
    assert entry.target_minutes == want, entry.reason
    assert entry.reason.strip() and entry.reason.endswith(".")
    assert entry.reason_fr.endswith(".") and entry.reason_fr != entry.reason
    effective = min(m for m in (want, base_minutes(sev, product)) if m is not None)
    assert result.target_minutes == effective
    if sev in ("1", "A"):
        assert result.coverage.value == "24x7"
        assert result.due == OPENED + timedelta(minutes=effective)
    else:
        assert result.coverage.value == "business_hours"
        assert result.due == FR.add_business_minutes(OPENED, effective)


def test_uer_sev1_on_azure_media_services_gets_the_other_products_figure():
    result = run(["unified-enhanced-response"], sev="1", product="azure-media-services")
    uer = next(c for c in result.considered if c.plan == "unified-enhanced-response")
    assert uer.target_minutes == 30
    assert "excluded from its Azure target" in uer.reason and "other-products" in uer.reason
    # The Base Package does not exclude Media Services: 15 minutes win.
    assert (result.plan, result.target_minutes) == ("base", 15)


def test_azure_only_plan_gives_no_figure_for_an_excluded_component():
    result = run(["azure-rapid-response"], sev="1", product="azure-stack")
    arr = next(c for c in result.considered if c.plan == "azure-rapid-response")
    assert (arr.applies, arr.target_minutes) == (False, None)
    assert "Azure Stack is excluded" in arr.reason


def test_base_is_always_held_whether_listed_or_not():
    listed = run(["base", "unified-enhanced-response"], sev="A").to_dict()
    implied = run(["unified-enhanced-response"], sev="A").to_dict()
    assert listed == implied
    assert [c["plan"] for c in run([], sev="C").to_dict()["considered"]] == ["base"]


def test_enhanced_plan_governs_a_tie_with_the_base_package():
    result = run(["mcsap"], sev="1", product="azure-sql-database")
    assert result.plan == "mcsap" and result.target_minutes == 15


def test_fallback_rows_never_govern_and_say_so():
    result = run(["mcsap"], sev="B", product="azure-sql-database")
    assert result.plan == "base"
    mcsap = next(c for c in result.considered if c.plan == "mcsap")
    assert mcsap.applies and mcsap.target_minutes == 120 and mcsap.fallback
    assert "leaves its Severity B row blank" in mcsap.reason


def test_no_plan_ever_makes_the_target_longer():
    alone = run([], sev="1", product="azure-storage").target_minutes
    with_all = run(PLANS, sev="1", product="azure-storage").target_minutes
    assert with_all <= alone


def test_arr_covers_only_the_azure_components_named_on_the_order():
    held = [Holding("azure-rapid-response", frozenset({"azure-kubernetes-service"}))]
    out = run(held, sev="1", product="azure-sql-database")
    arr = next(c for c in out.considered if c.plan == "azure-rapid-response")
    assert not arr.applies and "not among the Azure components named on the order" in arr.reason
    assert run(held, sev="1", product="azure-kubernetes-service").plan == "azure-rapid-response"


def test_mcsap_covers_only_enrolled_products():
    held = [Holding("mcsap", frozenset({"azure-storage"}))]
    assert run(held, sev="1", product="azure-storage").plan == "mcsap"
    out = run(held, sev="1", product="azure-app-service")
    assert not next(c for c in out.considered if c.plan == "mcsap").applies


def test_security_plus_covers_only_the_tenants_named_on_the_order():
    held = [Holding("mcs-security-plus", frozenset({"contoso.onmicrosoft.com"}))]
    inside = run(held, sev="A", product="intune", tenant="contoso.onmicrosoft.com")
    assert (inside.plan, inside.target_minutes) == ("mcs-security-plus", 15)
    outside = run(held, sev="A", product="intune", tenant="fabrikam.onmicrosoft.com")
    assert outside.plan == "base" and outside.target_minutes == 60
    unnamed = run(held, sev="A", product="intune")
    assert "names no tenant" in next(c for c in unnamed.considered if c.plan == "mcs-security-plus").reason


def test_azure_events_needs_the_window_and_the_aem_marker():
    inside = run(["mcs-azure-events"], sev="1", product="azure-app-service")
    assert inside.plan == "mcs-azure-events"
    assert inside.extras[0]["code"] == "critical-situation-resource"
    assert inside.extras[0]["due"] == (OPENED + timedelta(minutes=30)).isoformat()
    unmarked = run(["mcs-azure-events"], sev="1", product="azure-app-service", description="checkout slow")
    assert unmarked.plan == "base" and "AEM" in unmarked.considered[-1].reason + unmarked.considered[0].reason
    later = run(
        ["mcs-azure-events"], sev="1", product="azure-app-service", opened=datetime(2026, 11, 28, 0, 0, tzinfo=PARIS)
    )
    assert later.plan == "base"


def test_event_window_without_the_plan_is_refused():
    with pytest.raises(InvalidInput) as info:
        run([], **EVENT)
    assert info.value.field == "event_start" and info.value.rule == "R-EVT-2"


def test_event_longer_than_five_days_is_refused():
    with pytest.raises(InvalidInput, match="5 consecutive") as info:
        run(["mcs-azure-events"], event_end=EVENT["event_start"] + timedelta(days=5, seconds=1))
    assert info.value.rule == "R-EVT-2"


def test_language_not_offered_is_noted_and_the_plan_still_applies():
    out = run(["mcsap"], sev="1", product="azure-storage", language="fr")
    mcsap = out.governing
    assert mcsap.applies and "applies in English, not French (R-SLA-3)" in mcsap.reason
    assert "R-SLA-3" not in run(["mcsap"], sev="1", product="azure-storage", language="en").governing.reason


def test_sev_b_friday_evening_in_france_is_due_monday_with_the_reason():
    out = run(["unified-enhanced-response"], sev="B", opened=datetime(2026, 11, 27, 16, 45, tzinfo=PARIS))
    data = out.to_dict()
    assert data["due"] == "2026-11-30T10:15:00+01:00"
    assert data["target_minutes"] == 120 and data["coverage"] == "business_hours" and data["plan"] == "base"
    assert set(data["considered"][0]) == {"plan", "applies", "target_minutes", "reason", "reason_fr"}
    assert (
        data["considered"][0]["reason_fr"] == "Package de Base : Gravité B : première réponse sous 120 minutes ouvrées."
    )


def test_24x7_targets_count_wall_clock_time_across_a_clock_change():
    # 01:50 CET on the night Paris springs forward; 15 minutes later is 03:05 CEST.
    out = run([], sev="1", product="azure-storage", opened=datetime(2026, 3, 29, 1, 50, tzinfo=PARIS))
    assert out.due.isoformat() == "2026-03-29T03:05:00+02:00"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"severity": "X"}, "severity"),
        ({"product": "azure-unicorns"}, "product"),
        ({"plans": ["premier-gold"]}, "plans"),
        ({"plans": ["mcsap", "mcsap"]}, "plans"),
        ({"opened": datetime(2026, 11, 25, 10, 0)}, "opened"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    args = dict(severity="B", product="azure-storage", opened=OPENED, calendar=FR, plans=[])
    args.update(kwargs)
    with pytest.raises(InvalidInput) as info:
        explain(**args)
    assert info.value.field == field


def test_a_five_day_event_across_a_clock_change_is_allowed():
    start = datetime(2026, 10, 23, 0, 0, tzinfo=PARIS)
    out = run(
        ["mcs-azure-events"],
        sev="1",
        product="azure-app-service",
        opened=datetime(2026, 10, 26, 10, 0, tzinfo=PARIS),
        event_start=start,
        event_end=datetime(2026, 10, 28, 0, 0, tzinfo=PARIS),
    )  # 121 hours
    assert out.plan == "mcs-azure-events"
