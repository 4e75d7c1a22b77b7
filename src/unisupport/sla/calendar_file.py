"""Calendars as data: the operator's default working weeks by country
(``data/calendars.yaml``) and site calendars described by plain mappings (order
files, API payloads)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from unisupport.datafile import as_data_file_error, read_yaml, shipped, validate
from unisupport.errors import InvalidInput
from unisupport.inputs import Day
from unisupport.sla.calendar import WEEKDAYS, Calendar, Window

Week = dict[str, list[str]]


def _check_week(week: Week) -> Week:
    for day, windows in week.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r} (expected {', '.join(WEEKDAYS)})")
        parsed = [Window.parse(w) for w in windows]
        for before, after in pairwise(parsed):
            if after.start < before.end:
                raise ValueError(f"{day}: windows must be in order and must not overlap ({before} then {after})")
    if not any(week.values()):
        raise ValueError("the working week has no window at all")
    return week


class _CalendarDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    default: Week
    countries: dict[str, Week] = {}

    _default = field_validator("default")(classmethod(lambda cls, w: _check_week(w)))

    @field_validator("countries")
    @classmethod
    def _countries(cls, countries: dict[str, Week]) -> dict[str, Week]:
        from unisupport.sla.calendar import supported_countries

        for code, week in countries.items():
            if code not in supported_countries():
                raise ValueError(f"unknown country {code!r}")
            _check_week(week)
        return countries


@lru_cache(maxsize=4)
def calendar_defaults(path: str | None = None) -> _CalendarDefaults:
    file = Path(path) if path else shipped("calendars.yaml")
    return validate(file, _CalendarDefaults, read_yaml(file))


def default_week_for(country: str) -> Week:
    defaults = calendar_defaults()
    return defaults.countries.get(country, defaults.default)


class OpenDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: Day
    windows: list[str] = Field(default_factory=lambda: ["09:00-17:30"])


class CalendarSpec(BaseModel):
    """A site calendar as written in order files: the country's default week unless
    ``week`` is given, plus site closures and extra open days."""

    model_config = ConfigDict(extra="forbid")
    country: str
    timezone: str
    subdivision: str | None = None
    week: Week | None = None
    closures: list[Day] = []
    open_days: list[OpenDay] = []

    @field_validator("week")
    @classmethod
    def _week(cls, week: Week | None) -> Week | None:
        return None if week is None else _check_week(week)

    def build(self) -> Calendar:
        return Calendar(
            country=self.country,
            timezone=self.timezone,
            subdivision=self.subdivision,
            week=self.week if self.week is not None else default_week_for(self.country),
            closures=self.closures,
            open_days={d.date: d.windows for d in self.open_days},
        )


def calendar_from_spec(spec: Mapping[str, Any], *, field: str = "calendar") -> Calendar:
    try:
        parsed = CalendarSpec.model_validate(spec)
    except ValidationError as exc:
        err = as_data_file_error(field, exc, entry_key=lambda loc: None)
        raise InvalidInput(
            err.message.split(": ", 1)[-1], field=f"{field}.{err.field}" if err.field else field
        ) from None
    try:
        return parsed.build()
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field=f"{field}.{exc.field}" if exc.field else field) from None
