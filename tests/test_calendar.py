"""Business calendars (R-SEV-4) checked against an independent oracle.

The oracle below knows nothing of the Calendar's interval arrays: it walks time
minute boundary by minute boundary and asks, for each instant, "is the local
wall-clock time inside a window of its local date?", with holidays taken straight
from the ``holidays`` package. Every zone used has whole-minute offsets, so the
open/closed state is constant between two UTC minute boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unisupport.errors import InvalidInput
from unisupport.sla import Calendar
from unisupport.sla.calendar_file import calendar_from_spec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STANDARD = {d: ["09:00-17:30"] for d in WEEKDAYS[:5]}

# name -> plain spec; the oracle reads the spec, the Calendar is built from it.
SPECS = {
    "FR": {"country": "FR", "timezone": "Europe/Paris", "week": STANDARD},
    "DE": {"country": "DE", "timezone": "Europe/Berlin", "week": STANDARD},
    "US": {"country": "US", "timezone": "America/New_York", "week": STANDARD},
    "JP": {"country": "JP", "timezone": "Asia/Tokyo", "week": STANDARD},
    "IN": {"country": "IN", "timezone": "Asia/Kolkata", "week": STANDARD},
    "AU": {"country": "AU", "timezone": "Australia/Sydney", "week": STANDARD},
    # Two windows a day and a 24-hour Sunday shift that runs through both DST changes,
    # with a site closure and an extra open Saturday.
    "custom": {
        "country": "FR",
        "timezone": "Europe/Paris",
        "week": {
            **{d: ["08:00-12:00", "13:00-17:45"] for d in WEEKDAYS[:5]},
            "sun": ["00:00-24:00"],
        },
        "closures": [date(2026, 12, 24), date(2027, 8, 13)],
        "open_days": [{"date": date(2026, 11, 28), "windows": ["10:00-14:00"]}],
    },
}


class Oracle:
    def __init__(self, spec: dict):
        self.zone = ZoneInfo(spec["timezone"])
        self.week = {WEEKDAYS.index(d): [self._parse(w) for w in ws] for d, ws in spec["week"].items()}
        self.closures = set(spec.get("closures", ()))
        self.open_days = {o["date"]: [self._parse(w) for w in o["windows"]] for o in spec.get("open_days", ())}
        self.holidays = holidays.country_holidays(spec["country"], years=range(2023, 2031))

    @staticmethod
    def _parse(window: str) -> tuple[int, int]:
        a, b = window.split("-")
        return tuple(int(x[:2]) * 3600 + int(x[3:]) * 60 for x in (a, b))  # type: ignore[return-value]

    def is_open(self, t: int) -> bool:
        local = datetime.fromtimestamp(t, self.zone)
        day = local.date()
        if day in self.closures:
            return False
        if day in self.open_days:
            windows = self.open_days[day]
        elif day in self.holidays:
            return False
        else:
            windows = self.week.get(day.weekday(), [])
        s = local.hour * 3600 + local.minute * 60 + local.second
        return any(a <= s < b for a, b in windows)

    def add(self, t: int, seconds: int) -> int:
        if seconds == 0:
            return t
        remaining = seconds
        while True:
            boundary = t - t % 60 + 60
            if self.is_open(t):
                if boundary - t >= remaining:
                    return t + remaining
                remaining -= boundary - t
            t = boundary

    def between(self, a: int, b: int) -> int:
        total, t = 0, a
        while t < b:
            boundary = min(t - t % 60 + 60, b)
            if self.is_open(t):
                total += boundary - t
            t = boundary
        return total


CALENDARS = {name: calendar_from_spec(spec) for name, spec in SPECS.items()}
ORACLES = {name: Oracle(spec) for name, spec in SPECS.items()}

# Clock changes of the zones above (Paris/Berlin, New York, Sydney) in 2026-2027,
# so that examples often start right before, on or after one.
CLOCK_CHANGES = [
    int(datetime(*args, tzinfo=UTC).timestamp())
    for args in [
        (2026, 3, 29, 1),
        (2026, 10, 25, 1),
        (2027, 3, 28, 1),
        (2027, 10, 31, 1),
        (2026, 3, 8, 7),
        (2026, 11, 1, 6),
        (2027, 3, 14, 7),
        (2026, 4, 4, 16),
        (2026, 10, 3, 16),
        (2027, 4, 3, 16),
    ]
]
instants = st.one_of(
    st.integers(
        min_value=int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()),
        max_value=int(datetime(2028, 12, 1, tzinfo=UTC).timestamp()),
    ),
    st.builds(lambda t, d: t + d, st.sampled_from(CLOCK_CHANGES), st.integers(-3 * 86400, 3 * 86400)),
)
# Bias towards the edges: exact minutes, exact window boundaries.
business_seconds = st.one_of(
    st.integers(min_value=0, max_value=3000 * 60),
    st.sampled_from([60, 15 * 60, 120 * 60, 240 * 60, 510 * 60, 1020 * 60]),
)


def aware(t: int, zone: str = "UTC") -> datetime:
    return datetime.fromtimestamp(t, ZoneInfo(zone))


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=instants, seconds=business_seconds, offset_hours=st.integers(-12, 14))
def test_add_business_time_matches_the_oracle(name, start, seconds, offset_hours):
    """R-SEV-4: due = the earliest instant at which the target is met, to the second,
    whatever the offset of the input datetime."""
    cal, oracle = CALENDARS[name], ORACLES[name]
    from datetime import timezone

    start_dt = datetime.fromtimestamp(start, timezone(timedelta(hours=offset_hours)))
    due = cal.add_business_seconds(start_dt, seconds)
    assert int(due.timestamp()) == oracle.add(start, seconds)
    assert due.tzinfo is cal.zone or str(due.tzinfo) == SPECS[name]["timezone"]


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=instants, span=st.integers(min_value=-5 * 86400, max_value=9 * 86400))
def test_business_time_between_matches_the_oracle(name, a, span):
    cal, oracle = CALENDARS[name], ORACLES[name]
    b = a + span
    expected = oracle.between(a, b) if b >= a else -oracle.between(b, a)
    assert cal.business_seconds_between(aware(a), aware(b)) == expected


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=150, deadline=None)
@given(t=instants)
def test_is_open_and_next_opening_match_the_oracle(name, t):
    cal, oracle = CALENDARS[name], ORACLES[name]
    assert cal.is_open(aware(t)) == oracle.is_open(t)
    nxt = int(cal.next_opening(aware(t)).timestamp())
    assert oracle.is_open(nxt)
    # Nothing open between t and the next opening (checked at minute boundaries).
    assert oracle.between(t, nxt) == 0


@pytest.mark.parametrize("name", SPECS)
@settings(max_examples=40, deadline=None)
@given(starts=st.lists(instants, min_size=1, max_size=60), seconds=business_seconds)
def test_batch_equals_scalar(name, starts, seconds):
    cal = CALENDARS[name]
    batch = cal.add_business_seconds_batch(np.array(starts, dtype=np.int64), seconds)
    scalar = [int(cal.add_business_seconds(aware(t), seconds).timestamp()) for t in starts]
    assert batch.tolist() == scalar
    between = cal.business_seconds_between_batch(np.array(starts), np.array(scalar))
    assert between.tolist() == [seconds] * len(starts)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))


FR = CALENDARS["FR"]


def test_target_ending_exactly_at_closing_time_is_due_at_closing_not_next_morning():
    assert FR.add_business_minutes(paris(2026, 11, 26, 13, 30), 240) == paris(2026, 11, 26, 17, 30)


def test_one_minute_past_closing_is_due_next_business_morning():
    assert FR.add_business_minutes(paris(2026, 11, 26, 13, 30), 241) == paris(2026, 11, 27, 9, 1)


def test_ticket_opened_after_closing_starts_counting_at_next_opening():
    # Thursday 19:00 → Friday 09:00 + 2 h.
    assert FR.add_business_minutes(paris(2026, 11, 26, 19, 0), 120) == paris(2026, 11, 27, 11, 0)
    # Friday 16:45 + 2 h → 45 min on Friday, 75 on Monday.
    assert FR.add_business_minutes(paris(2026, 11, 27, 16, 45), 120) == paris(2026, 11, 30, 10, 15)


def test_closing_instant_itself_is_closed_and_opening_instant_open():
    assert not FR.is_open(paris(2026, 11, 26, 17, 30))
    assert FR.is_open(paris(2026, 11, 26, 9, 0))
    assert FR.next_opening(paris(2026, 11, 26, 17, 30)) == paris(2026, 11, 27, 9, 0)


def test_public_holiday_is_skipped_and_named():
    # 2026-12-25 is a Friday: Thursday 24th 16:45 + 120 min → Monday 28th 10:15.
    assert FR.add_business_minutes(paris(2026, 12, 24, 16, 45), 120) == paris(2026, 12, 28, 10, 15)
    assert FR.closed_reason(date(2026, 12, 25)) == "public holiday (Noël)" or "holiday" in FR.closed_reason(
        date(2026, 12, 25)
    )


def test_holiday_on_a_weekend_changes_nothing_in_france():
    # 1 May 2027 is a Saturday: Friday 30 April 16:00 + 240 → Monday 3 May 11:30.
    assert FR.add_business_minutes(paris(2027, 4, 30, 16, 0), 240) == paris(2027, 5, 3, 11, 30)


def test_us_holiday_on_a_sunday_is_observed_on_monday():
    ny = ZoneInfo("America/New_York")
    us = CALENDARS["US"]
    # 4 July 2027 is a Sunday; the holidays package marks Monday 5 July as observed.
    assert not us.is_open(datetime(2027, 7, 5, 10, 0, tzinfo=ny))
    assert us.add_business_minutes(datetime(2027, 7, 2, 17, 0, tzinfo=ny), 60) == datetime(2027, 7, 6, 9, 30, tzinfo=ny)


def test_whole_minute_offsets_of_india_are_exact():
    kolkata = ZoneInfo("Asia/Kolkata")
    india = CALENDARS["IN"]
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 17:30 in Kolkata: closing
    assert india.add_business_minutes(start, 1) == datetime(2026, 11, 27, 9, 1, tzinfo=kolkata)


def test_a_24_hour_sunday_window_lasts_23_hours_on_spring_forward_and_25_on_fall_back():
    custom = CALENDARS["custom"]
    assert custom.business_seconds_between(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == 23 * 3600
    assert custom.business_seconds_between(paris(2026, 10, 25, 0, 0), paris(2026, 10, 26, 0, 0)) == 25 * 3600
    # The due instant lands in the right offset after the change.
    due = custom.add_business_minutes(paris(2026, 3, 29, 1, 0), 120)
    assert due == datetime(2026, 3, 29, 4, 0, tzinfo=ZoneInfo("Europe/Paris")) and due.utcoffset() == timedelta(hours=2)


def test_two_windows_a_day_skip_the_lunch_break():
    custom = CALENDARS["custom"]
    assert custom.add_business_minutes(paris(2026, 11, 26, 11, 30), 60) == paris(2026, 11, 26, 13, 30)


def test_site_closure_and_extra_open_day():
    custom = CALENDARS["custom"]
    assert not custom.is_open(paris(2026, 12, 24, 10, 0))
    assert custom.closed_reason(date(2026, 12, 24)) == "site closure"
    assert custom.is_open(paris(2026, 11, 28, 10, 0))  # an extra open Saturday
    assert not custom.is_open(paris(2026, 11, 28, 14, 0))


def test_far_years_expand_lazily():
    cal = calendar_from_spec(SPECS["FR"])
    cal.add_business_minutes(paris(2026, 6, 1, 10, 0), 60)
    assert cal.expanded_years == (2025, 2027)
    # 2087-05-01 is a Thursday and a public holiday.
    assert not cal.is_open(paris(2087, 5, 1, 10, 0))
    assert cal.expanded_years[1] >= 2087


def test_huge_targets_grow_the_calendar_forward():
    cal = calendar_from_spec(SPECS["FR"])
    due = cal.add_business_minutes(paris(2026, 1, 5, 9, 0), 510 * 250 * 3)  # about three working years
    assert paris(2028, 6, 1) < due < paris(2029, 6, 1)
    assert cal.business_minutes_between(paris(2026, 1, 5, 9, 0), due) == 510 * 250 * 3


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"country": "XX", "timezone": "Europe/Paris"}, "country"),
        ({"country": "fr", "timezone": "Europe/Paris"}, "country"),
        ({"country": "FR", "timezone": "Mars/Olympus"}, "timezone"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {"mon": ["12:00-13:00", "09:00-10:00"]}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {"mon": ["17:30-09:00"]}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {"mon": ["09:00-24:30"]}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "week": {"funday": ["09:00-17:00"]}}, "week"),
        ({"country": "FR", "timezone": "Europe/Paris", "subdivision": "ZZ"}, "subdivision"),
        (
            {
                "country": "FR",
                "timezone": "Europe/Paris",
                "closures": [date(2026, 11, 28)],
                "open_days": [{"date": date(2026, 11, 28)}],
            },
            "closures",
        ),
    ],
)
def test_invalid_calendars_are_refused_naming_the_field(spec, field):
    with pytest.raises(InvalidInput) as info:
        calendar_from_spec(spec)
    assert info.value.field.startswith(f"calendar.{field}"), info.value.field


def test_naive_datetimes_are_refused():
    with pytest.raises(InvalidInput, match="no UTC offset"):
        FR.add_business_minutes(datetime(2026, 11, 26, 10, 0), 60)


def test_negative_business_time_is_refused():
    with pytest.raises(InvalidInput):
        FR.add_business_minutes(paris(2026, 11, 26, 10, 0), -1)


def test_for_country_uses_the_operator_default_week():
    israel = Calendar.for_country("IL", "Asia/Jerusalem")
    jerusalem = ZoneInfo("Asia/Jerusalem")
    assert israel.is_open(datetime(2026, 11, 29, 10, 0, tzinfo=jerusalem))  # a Sunday
    assert not israel.is_open(datetime(2026, 11, 27, 10, 0, tzinfo=jerusalem))  # a Friday
