"""Mission-critical and success services as pure rules: Azure Events (R-EVT-1,
R-EVT-2), MCSAP onboarding and monitoring (R-MCSAP-2, R-MCSAP-3), Service
Improvement Plans (R-MCSAP-4) and success plans (R-SUC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from unisupport.datafile import shipped
from unisupport.errors import DataFileError, InvalidInput
from unisupport.mission_critical.azure_event import plan_event, post_event_summary
from unisupport.mission_critical.mcsap_onboarding import (
    MilestoneStatus,
    check_monitoring_scenarios,
    onboarding_milestones,
)
from unisupport.mission_critical.service_improvement_plan import check_new_plan, twelve_months_after
from unisupport.mission_critical.success_plan import (
    ItemStatus,
    SuccessAreas,
    SuccessPlan,
    default_success_areas,
)
from unisupport.orders.order_file import AzureEvent
from unisupport.refusal import Refused

PARIS = ZoneInfo("Europe/Paris")


# --- R-EVT-2: Azure Events -------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    solution: str | tuple[str, ...] = "checkout"
    start: date = date(2026, 11, 23)
    end: date = date(2026, 11, 27)
    confirmed_on: date = date(2026, 10, 12)  # 42 days before the start
    provider_consent: bool = False
    cloud: str = "public"


def test_event_of_five_days_confirmed_six_weeks_ahead_is_planned():
    plan = plan_event(Event(), timezone="Europe/Paris")
    assert (plan.days, plan.notice_days, plan.reduced_pre_event_assessment, plan.language, plan.rule) == (
        5,
        42,
        False,
        "en",
        "R-EVT-2",
    )
    assert plan.window_start == datetime(2026, 11, 23, tzinfo=PARIS)
    assert plan.window_end == datetime(2026, 11, 28, tzinfo=PARIS)  # half-open: the end day is covered


def test_event_of_six_days_is_refused():
    with pytest.raises(Refused) as caught:
        plan_event(Event(end=date(2026, 11, 28)))
    assert (caught.value.rule, caught.value.field) == ("R-EVT-2", "end")
    assert "at most 5 consecutive calendar days" in str(caught.value) and "is 6" in str(caught.value)


def test_event_of_one_day_is_planned():
    assert plan_event(Event(end=date(2026, 11, 23))).days == 1


def test_event_confirmed_forty_one_days_ahead_is_refused_without_consent():
    with pytest.raises(Refused) as caught:
        plan_event(Event(confirmed_on=date(2026, 10, 13)))
    assert (caught.value.rule, caught.value.field) == ("R-EVT-2", "confirmed_on")
    assert "6 calendar weeks (42 days)" in str(caught.value) and "41 days" in str(caught.value)


def test_event_confirmed_late_with_provider_consent_gets_a_reduced_pre_event_assessment():
    plan = plan_event(Event(confirmed_on=date(2026, 11, 20), provider_consent=True))
    assert (plan.notice_days, plan.reduced_pre_event_assessment) == (3, True)


def test_event_confirmed_after_it_started_is_refused_even_with_consent():
    with pytest.raises(Refused) as caught:
        plan_event(Event(confirmed_on=date(2026, 11, 24), provider_consent=True))
    assert caught.value.field == "confirmed_on"


@pytest.mark.parametrize("cloud", ["us-government", "china", "sovereign"])
def test_event_outside_the_public_cloud_is_refused(cloud):
    with pytest.raises(Refused) as caught:
        plan_event(Event(cloud=cloud))
    assert (caught.value.rule, caught.value.field) == ("R-EVT-2", "cloud")


def test_event_covers_one_solution():
    assert plan_event(Event(solution=("checkout",))).solution == "checkout"
    with pytest.raises(Refused) as caught:
        plan_event(Event(solution=("checkout", "search")))
    assert (caught.value.rule, caught.value.field) == ("R-EVT-2", "solution")
    with pytest.raises(InvalidInput):
        plan_event(Event(solution="  "))


def test_event_ending_before_it_starts_is_invalid():
    with pytest.raises(InvalidInput) as caught:
        plan_event(Event(end=date(2026, 11, 22)))
    assert caught.value.field == "end"


def test_event_from_an_order_file_is_planned():
    event = AzureEvent(
        id="black-friday",
        line="events",
        solution="checkout",
        start=date(2026, 11, 23),
        end=date(2026, 11, 27),
        confirmed_on=date(2026, 10, 1),
    )
    assert plan_event(event).notice_days == 53


# --- R-EVT-1: the post-event summary ---------------------------------------------------


@dataclass(frozen=True)
class Incident:
    id: str
    opened_at: datetime
    status: str = "closed"
    severity: str = "B"
    resolved: bool = True


def test_post_event_summary_lists_every_case_opened_during_the_event():
    plan = plan_event(Event(), timezone="Europe/Paris")
    incidents = [
        Incident("before", datetime(2026, 11, 22, 23, 59, tzinfo=PARIS)),
        Incident("late", datetime(2026, 11, 27, 22, 0, tzinfo=PARIS), status="open", severity="1", resolved=False),
        Incident("first", datetime(2026, 11, 23, 0, 0, tzinfo=PARIS)),
        Incident("utc", datetime(2026, 11, 27, 22, 59, tzinfo=UTC)),  # 23:59 in Paris
        Incident("after", datetime(2026, 11, 27, 23, 0, tzinfo=UTC)),  # 00:00 on the 28th in Paris
    ]
    summary = post_event_summary(plan, incidents)
    assert [c.id for c in summary.cases] == ["first", "late", "utc"]
    assert summary.unresolved == ("late",)
    assert not summary.all_resolved and summary.rule == "R-EVT-1"


def test_post_event_summary_confirms_when_every_case_is_resolved():
    plan = plan_event(Event())
    summary = post_event_summary(plan, [Incident("a", datetime(2026, 11, 24, 10, tzinfo=UTC))])
    assert summary.all_resolved
    assert post_event_summary(plan, []).all_resolved


def test_post_event_summary_needs_aware_opening_times():
    with pytest.raises(InvalidInput) as caught:
        post_event_summary(plan_event(Event()), [Incident("a", datetime(2026, 11, 24, 10))])
    assert caught.value.field == "incidents[0].opened_at"


# --- R-MCSAP-2 / R-MCSAP-3: onboarding milestones --------------------------------------

EXECUTED = date(2026, 1, 10)


def test_mcsap_plus_milestones_are_computed_from_the_execution_date():
    milestones = {m.code: m for m in onboarding_milestones(EXECUTED, plus=True)}
    assert {code: m.due for code, m in milestones.items()} == {
        "initial-documentation": date(2026, 1, 24),  # day 14
        "plus-customer-documents": date(2026, 2, 9),  # day 30
        "onboarding-end": date(2026, 3, 11),  # day 60
        "plus-monitors-ready": date(2026, 4, 10),  # day 90: 30 days after onboarding
    }
    assert {code: m.rule for code, m in milestones.items()} == {
        "initial-documentation": "R-MCSAP-2",
        "plus-customer-documents": "R-MCSAP-3",
        "onboarding-end": "R-MCSAP-2",
        "plus-monitors-ready": "R-MCSAP-3",
    }
    assert all(m.en and m.fr and m.label("fr") == m.fr for m in milestones.values())


def test_mcsap_without_plus_has_no_monitoring_milestones():
    assert [m.code for m in onboarding_milestones(EXECUTED, plus=False)] == ["initial-documentation", "onboarding-end"]


@pytest.mark.parametrize(
    ("as_of", "completed_on", "status"),
    [
        (date(2026, 1, 16), None, MilestoneStatus.PENDING),  # 8 days before
        (date(2026, 1, 17), None, MilestoneStatus.DUE_SOON),  # 7 days before
        (date(2026, 1, 24), None, MilestoneStatus.DUE_SOON),  # due today
        (date(2026, 1, 25), None, MilestoneStatus.LATE),
        (date(2026, 1, 25), date(2026, 1, 20), MilestoneStatus.DONE),
        (date(2026, 2, 1), date(2026, 1, 30), MilestoneStatus.DONE),  # done, late: read the dates
    ],
)
def test_mcsap_milestone_status(as_of, completed_on, status):
    documentation = onboarding_milestones(EXECUTED, plus=False)[0]
    assert documentation.status(as_of, completed_on) is status


def test_mcsap_milestone_cannot_be_completed_in_the_future():
    with pytest.raises(InvalidInput) as caught:
        onboarding_milestones(EXECUTED, plus=False)[0].status(date(2026, 1, 20), date(2026, 1, 21))
    assert caught.value.field == "completed_on"


def test_mcsap_plus_allows_seven_monitoring_scenarios():
    names = [f"scenario {i}" for i in range(7)]
    assert len(check_monitoring_scenarios(names, plus=True)) == 7


def test_mcsap_plus_refuses_an_eighth_monitoring_scenario():
    with pytest.raises(Refused) as caught:
        check_monitoring_scenarios([f"scenario {i}" for i in range(8)], plus=True)
    assert (caught.value.rule, caught.value.field) == ("R-MCSAP-3", "scenarios")
    assert caught.value.details == {"limit": 7, "given": 8}


def test_monitoring_scenarios_are_a_plus_feature_and_named_once():
    assert check_monitoring_scenarios([], plus=False) == ()
    with pytest.raises(Refused):
        check_monitoring_scenarios(["checkout latency"], plus=False)
    with pytest.raises(InvalidInput) as caught:
        check_monitoring_scenarios(["a", "b", "a"], plus=True)
    assert caught.value.field == "scenarios[2]"


# --- R-MCSAP-4: Service Improvement Plans ----------------------------------------------


def test_two_service_improvement_plans_within_twelve_months_are_allowed():
    check_new_plan([date(2025, 1, 10)], date(2025, 6, 1))


def test_a_third_service_improvement_plan_within_twelve_months_is_refused_naming_the_dates():
    with pytest.raises(Refused) as caught:
        check_new_plan([date(2025, 1, 10), date(2025, 6, 1)], date(2026, 1, 9))
    assert (caught.value.rule, caught.value.field) == ("R-MCSAP-4", "new_start")
    assert caught.value.details["in_conflict"] == ["2025-01-10", "2025-06-01", "2026-01-09"]
    assert "2025-01-10, 2025-06-01, 2026-01-09" in str(caught.value)


def test_a_third_service_improvement_plan_twelve_months_and_a_day_later_is_allowed():
    check_new_plan([date(2025, 1, 10), date(2025, 6, 1)], date(2026, 1, 11))


def test_a_third_service_improvement_plan_exactly_twelve_months_later_starts_a_new_period():
    check_new_plan([date(2025, 1, 10), date(2025, 6, 1)], date(2026, 1, 10))


def test_a_backdated_service_improvement_plan_is_judged_against_later_ones():
    with pytest.raises(Refused) as caught:
        check_new_plan([date(2025, 6, 1), date(2025, 9, 1)], date(2025, 3, 1))
    assert caught.value.details["in_conflict"] == ["2025-03-01", "2025-06-01", "2025-09-01"]


def test_twelve_months_after_the_29th_of_february_is_the_28th():
    assert twelve_months_after(date(2024, 2, 29)) == date(2025, 2, 28)
    check_new_plan([date(2024, 2, 29), date(2024, 6, 1)], date(2025, 2, 28))
    with pytest.raises(Refused):
        check_new_plan([date(2024, 2, 29), date(2024, 6, 1)], date(2025, 2, 27))


@given(
    existing=st.lists(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)), max_size=5),
    new=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
)
def test_service_improvement_plans_match_a_day_by_day_oracle(existing, new):
    """Oracle: try every period [d, d + 12 months) that contains the new plan."""
    plans = [*existing, new]
    refused_by_oracle = any(
        sum(d <= p < twelve_months_after(d) for p in plans) > 2
        for d in (new - timedelta(days=k) for k in range(366))
        if new < twelve_months_after(d)
    )
    try:
        check_new_plan(existing, new)
    except Refused:
        assert refused_by_oracle
    else:
        assert not refused_by_oracle


# --- R-SUC-2: success plans ------------------------------------------------------------


def test_success_areas_hold_annex_b_with_french_names():
    areas = {a.code: a for a in default_success_areas()}
    assert [(a.en, a.fr) for a in areas.values()] == [
        ("Solution Integrity", "Intégrité de la solution"),
        ("Adoption and Planning", "Adoption et Planification"),
        ("Executive Partnership", "Partenariat exécutif"),
    ]
    assert [a.en for a in areas["solution-integrity"].activities.values()] == [
        "Customer Health Program",
        "Problem Management",
        "Proactive Resilience",
        "Proactive Security",
        "Emergency Preparedness",
    ]
    assert [a.en for a in areas["adoption-and-planning"].activities.values()] == [
        "Success Program Management",
        "Technology Optimisation",
        "Technology and Security Updates",
    ]
    assert [a.fr for a in areas["executive-partnership"].activities.values()] == [
        "Gestion des Relations Clients",
        "Plan de gestion du cycle de vie",
    ]
    assert (
        areas["solution-integrity"].activities["customer-health-program"].fr
        == "Programme de Gestion de l'Intégrité des Clients"
    )


def item(**changes):
    return {
        "area": "solution-integrity",
        "activity": "problem-management",
        "status": "planned",
        "due": date(2026, 3, 31),
        "notes": "",
        **changes,
    }


def test_success_plan_holds_items_of_each_area():
    plan = SuccessPlan(
        owner="csam@example.com",
        customer="contoso",
        items=(item(), item(area="executive-partnership", activity="lifecycle-management-plan", status="in-progress")),
    )
    assert plan.items[1].status is ItemStatus.IN_PROGRESS
    assert {k: len(v) for k, v in plan.by_area().items()} == {
        "solution-integrity": 1,
        "adoption-and-planning": 0,
        "executive-partnership": 1,
    }
    assert plan.with_items([]).items == ()


def test_success_plan_activity_must_belong_to_its_area():
    with pytest.raises(InvalidInput) as caught:
        SuccessPlan(
            owner="csam@example.com",
            customer="contoso",
            items=(item(), item(area="adoption-and-planning", activity="problem-management")),
        )
    assert (caught.value.field, caught.value.rule) == ("items[1].activity", "R-SUC-2")
    assert "belongs to area 'solution-integrity'" in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"area": "growth"}, "items[0].area"),
        ({"activity": "golf"}, "items[0].activity"),
        ({"status": "abandoned"}, "items[0].status"),
        ({"due": "soon"}, "items[0].due"),
        ({"owner_email": "x"}, "items[0].owner_email"),
    ],
)
def test_success_plan_item_errors_name_the_field(changes, field):
    with pytest.raises(InvalidInput) as caught:
        SuccessPlan(owner="csam@example.com", customer="contoso", items=(item(**changes),))
    assert caught.value.field == field


def test_success_plan_owner_is_the_csam_email():
    with pytest.raises(InvalidInput) as caught:
        SuccessPlan(owner="the CSAM", customer="contoso")
    assert caught.value.field == "owner"


# --- success-plans.yaml: broken files name file, entry and field -----------------------


def write_areas(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(shipped("success-plans.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "success-plans.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_success_plans_file_loads_from_a_copy(tmp_path):
    assert len(list(SuccessAreas.load(write_areas(tmp_path, lambda d: None)))) == 3


def test_success_plans_file_with_an_activity_in_two_areas_is_refused(tmp_path):
    def move(data):
        data["areas"]["executive-partnership"]["activities"]["problem-management"] = {"en": "PM", "fr": "GP"}

    path = write_areas(tmp_path, move)
    with pytest.raises(DataFileError) as caught:
        SuccessAreas.load(path)
    assert str(caught.value) == (
        f"{path}: entry 'executive-partnership': field 'activities.problem-management': "
        "activity 'problem-management' is already an activity of area 'solution-integrity'"
    )


def test_success_plans_file_with_an_activity_missing_its_french_name_is_refused(tmp_path):
    path = write_areas(
        tmp_path, lambda d: d["areas"]["adoption-and-planning"]["activities"]["technology-optimisation"].pop("fr")
    )
    with pytest.raises(DataFileError) as caught:
        SuccessAreas.load(path)
    assert str(caught.value).startswith(
        f"{path}: entry 'adoption-and-planning': field 'activities.technology-optimisation.fr': Field required"
    )


def test_success_plans_file_with_an_area_without_activities_is_refused(tmp_path):
    path = write_areas(tmp_path, lambda d: d["areas"]["executive-partnership"].update(activities={}))
    with pytest.raises(DataFileError) as caught:
        SuccessAreas.load(path)
    assert f"{path}: entry 'executive-partnership': field 'activities'" in str(caught.value)
