"""The day-by-day answer to "why is the first response due then?" (R-SEV-4, R-SLA-1).

For each local day between the start of a business-hours target and its due instant:
the windows counted and their minutes, or why the day was closed (a site closure, a
public holiday, not a working day). Kept as data, not sentences, so that each adapter
words it in its language: ``unisupport sla explain`` in English, the incident page in
the reader's. Whether a day is open is the calendar's own decision
(``Calendar.closed_reason``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from unisupport.sla.calendar import Calendar

MAX_DAYS = 14


@dataclass(frozen=True)
class StoryDay:
    day: date
    closed: str | None  # "closure", "holiday", "weekend" or None
    holiday: str | None  # the holiday's name
    counted: tuple[tuple[datetime, datetime], ...]  # local windows counted
    minutes: float


def business_time_days(calendar: Calendar, start: datetime, end: datetime, *, limit: int = MAX_DAYS) -> list[StoryDay]:
    days: list[StoryDay] = []
    day = calendar.localize(start).date()
    last = calendar.localize(end).date()
    zone = calendar.zone
    while day <= last and len(days) < limit:
        if calendar.closed_reason(day):
            if day in calendar.closures:
                days.append(StoryDay(day, "closure", None, (), 0))
            elif (name := calendar.holiday_name(day)) is not None:
                days.append(StoryDay(day, "holiday", name, (), 0))
            else:
                days.append(StoryDay(day, "weekend", None, (), 0))
        else:
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            counted = []
            for w in calendar.day_windows(day):
                a = max(datetime(day.year, day.month, day.day, w.start // 60, w.start % 60, tzinfo=zone), start)
                b = min((midnight + timedelta(minutes=w.end)).replace(tzinfo=zone), end)
                if a < b:
                    counted.append((calendar.localize(a), calendar.localize(b)))
            minutes = calendar.business_minutes_between(max(start, midnight), min(end, midnight + timedelta(days=1)))
            days.append(StoryDay(day, None, None, tuple(counted), minutes))
        day += timedelta(days=1)
    return days
