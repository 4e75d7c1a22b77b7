"""The update clock's pauses (sla/update_clock.py, R-INC-2, docs/decisions.md D95)
checked against an independent oracle: it walks time minute by minute (and pause edge
by pause edge), counting a second when the calendar of the target counts it — always
for a 24x7 target, when the site is open for a business-hours one (the oracle of
tests/test_calendar.py, which reads the calendar's plain spec) — and the incident is not
awaiting the customer. On the calendars FR, US, JP, IN, AU and a two-windows-a-day
calendar with a 24-hour Sunday across both DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_calendar import CALENDARS, CLOCK_CHANGES, ORACLES, Oracle

from unisupport.sla.matrix import Coverage, SeverityMatrix, default_matrix
from unisupport.sla.severity import Severity
from unisupport.sla.update_clock import Pause, choose, due_after, paused_seconds

NAMES = ["FR", "US", "JP", "IN", "AU", "custom"]


def utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def oracle_due(oracle: Oracle, business: bool, start: int, seconds: int, pauses: list[tuple[int, int]]) -> int:
    """The first instant at which ``seconds`` were counted since ``start``."""
    edges = sorted({e for a, b in pauses for e in (a, b)})
    remaining, t = seconds, start
    if remaining == 0:
        return t
    while True:
        boundary = t - t % 60 + 60
        boundary = min([boundary, *[e for e in edges if e > t]])
        paused = any(a <= t < b for a, b in pauses)
        if not paused and (not business or oracle.is_open(t)):
            if boundary - t >= remaining:
                return t + remaining
            remaining -= boundary - t
        t = boundary


def oracle_paused(oracle: Oracle, business: bool, pauses: list[tuple[int, int]]) -> int:
    """The seconds the pauses took out (overlaps counted once)."""
    total = 0
    lo, hi = min(a for a, _ in pauses), max(b for _, b in pauses)
    edges = sorted({e for a, b in pauses for e in (a, b)})
    t = lo
    while t < hi:
        boundary = min([t - t % 60 + 60, *[e for e in edges if e > t]])
        if any(a <= t < b for a, b in pauses) and (not business or oracle.is_open(t)):
            total += boundary - t
        t = boundary
    return total


starts = st.one_of(
    st.integers(
        min_value=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
        max_value=int(datetime(2027, 12, 1, tzinfo=UTC).timestamp()),
    ),
    st.builds(lambda t, d: t + d, st.sampled_from(CLOCK_CHANGES), st.integers(-2 * 86400, 2 * 86400)),
)
# Pauses as (offset after the start, length), seconds: some inside a window, some
# across nights and weekends, some touching or overlapping each other.
pause_spans = st.lists(
    st.tuples(st.integers(0, 4 * 86400), st.integers(1, 2 * 86400)),
    max_size=3,
)
figures = st.sampled_from([30, 60, 120, 480])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("coverage", [Coverage.BUSINESS_HOURS, Coverage.H24X7])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=starts, minutes=figures, spans=pause_spans)
def test_the_due_instant_with_pauses_matches_the_oracle(name, coverage, start, minutes, spans):
    calendar, oracle = CALENDARS[name], ORACLES[name]
    business = coverage is Coverage.BUSINESS_HOURS
    pauses = [(start + offset, start + offset + length) for offset, length in spans]
    due = due_after(calendar, coverage, utc(start), minutes * 60, [Pause(utc(a), utc(b)) for a, b in pauses])
    assert due is not None
    assert int(due.timestamp()) == oracle_due(oracle, business, start, minutes * 60, pauses)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("coverage", [Coverage.BUSINESS_HOURS, Coverage.H24X7])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=starts, spans=pause_spans.filter(bool))
def test_paused_time_is_counted_on_the_targets_own_calendar(name, coverage, start, spans):
    calendar, oracle = CALENDARS[name], ORACLES[name]
    business = coverage is Coverage.BUSINESS_HOURS
    pauses = [(start + offset, start + offset + length) for offset, length in spans]
    until = max(b for _, b in pauses)
    counted = paused_seconds(calendar, coverage, utc(start), [Pause(utc(a), utc(b)) for a, b in pauses], utc(until))
    assert counted == oracle_paused(oracle, business, pauses)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20, deadline=None)
@given(start=starts, offset=st.integers(0, 3 * 86400), minutes=figures)
def test_a_pause_that_lasts_leaves_no_due_instant_unless_the_target_ran_out_before_it(name, start, offset, minutes):
    calendar, oracle = CALENDARS[name], ORACLES[name]
    unpaused = oracle_due(oracle, True, start, minutes * 60, [])
    due = due_after(calendar, Coverage.BUSINESS_HOURS, utc(start), minutes * 60, [Pause(utc(start + offset))])
    if unpaused <= start + offset:
        assert due is not None and int(due.timestamp()) == unpaused  # it ran out before the pause began
    else:
        assert due is None


def test_an_hour_of_pause_on_a_friday_evening_costs_nothing_on_business_hours_but_an_hour_on_24x7():
    fr = CALENDARS["FR"]
    start = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # Friday 17:00 in Paris
    pause = [Pause(datetime(2026, 11, 27, 17, 0, tzinfo=UTC), datetime(2026, 11, 27, 18, 0, tzinfo=UTC))]
    # 30 business minutes on Friday (17:00–17:30), the rest from Monday 09:00: the pause is after hours.
    assert due_after(fr, Coverage.BUSINESS_HOURS, start, 480 * 60, pause) == due_after(
        fr, Coverage.BUSINESS_HOURS, start, 480 * 60
    )
    assert due_after(fr, Coverage.H24X7, start, 120 * 60, pause) == datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    assert paused_seconds(fr, Coverage.BUSINESS_HOURS, start, pause, pause[0].end) == 0  # type: ignore[arg-type]


def test_the_shortest_due_wins_and_a_plan_that_names_no_figure_is_not_considered():
    matrix = default_matrix()
    fr = CALENDARS["FR"]
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    target = choose(matrix, ["unified-enhanced-response", "base"], Severity.SEV_1, calendar=fr, start=start)
    assert target is not None and (target.plan, target.minutes) == ("unified-enhanced-response", 30)
    assert target.due == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    assert target.warn_at == datetime(2026, 11, 25, 9, 22, 30, tzinfo=UTC)  # 75 %
    reasons = {c.plan: c.to_dict()["reason"] for c in target.considered}
    assert reasons["base"] == "an update every 60 minutes, 24x7"
    held = choose(matrix, ["azure-rapid-response"], Severity.SEV_A, calendar=fr, start=start)
    assert held is not None and (held.plan, held.minutes) == ("base", 120)
    assert {c.plan: c.to_dict()["minutes"] for c in held.considered} == {"azure-rapid-response": None, "base": 120}
    assert choose(matrix, ["base"], Severity.SEV_C, calendar=fr, start=start) is None  # Sev C: none


def test_the_matrix_refuses_an_update_row_without_coverage_and_a_base_without_every_severity(tmp_path):
    from unisupport.datafile import shipped
    from unisupport.errors import DataFileError

    text = shipped("severity-matrix.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "m.yaml"
    broken.write_text(text.replace("B: {minutes: 480, coverage: business_hours}", "B: {minutes: 480}"), "utf-8")
    with pytest.raises(DataFileError) as info:
        SeverityMatrix.load(broken)
    assert "coverage" in str(info.value)
    broken.write_text(text.replace("      C: none\n", ""), "utf-8")
    with pytest.raises(DataFileError) as info:
        SeverityMatrix.load(broken)
    assert "updates" in str(info.value) and "C" in str(info.value)
