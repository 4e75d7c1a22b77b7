"""Success plans (R-SUC-2, Annex B): what the CSAM and the customer agree to work on,
as items in the three areas and their activities. The areas and activities are data
(``data/success-plans.yaml``, FR/EN names from the source), so an item can only name
an activity of its own area."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from unisupport.bookings.booking_rules import require_local_date
from unisupport.catalog.product import CODE_PATTERN
from unisupport.datafile import read_yaml, shipped, validate
from unisupport.errors import DataFileError, InvalidInput

RULE = "R-SUC-2"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Activity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    description_fr: str | None = None

    def name(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en


class Area(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    activities: dict[str, Activity] = Field(min_length=1)

    def name(self, lang: str = "en") -> str:
        return self.fr if lang == "fr" else self.en

    @model_validator(mode="before")
    @classmethod
    def _activity_code_from_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("activities"), dict):
            data = {**data, "activities": _codes_from_keys(data["activities"])}
        return data


class _SuccessPlansFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    source: str = Field(min_length=1)
    areas: dict[str, Area] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _area_code_from_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("areas"), dict):
            data = {**data, "areas": _codes_from_keys(data["areas"])}
        return data


def _codes_from_keys(entries: dict[str, Any]) -> dict[str, Any]:
    # Entries are keyed by code; copy the key in (a 'code' field would say it twice).
    out = {}
    for code, body in entries.items():
        if isinstance(body, dict):
            if "code" in body:
                raise ValueError(f"entry {code!r}: remove field 'code': the key is the code")
            body = {"code": code, **body}
        out[code] = body
    return out


class SuccessAreas:
    """The areas of Annex B and their activities, in file order."""

    def __init__(self, areas: dict[str, Area], *, version: str, path: str):
        self._areas = areas
        self.version = version
        self.path = path

    def __iter__(self):
        return iter(self._areas.values())

    def area(self, code: str, *, field: str = "area") -> Area:
        try:
            return self._areas[code]
        except KeyError:
            known = ", ".join(self._areas)
            raise InvalidInput(f"unknown area {code!r} (known: {known})", field=field, rule=RULE) from None

    def area_of(self, activity: str) -> Area | None:
        """The area an activity belongs to (one at most, checked at load)."""
        return next((a for a in self if activity in a.activities), None)

    @classmethod
    def load(cls, path: str | Path | None = None) -> SuccessAreas:
        file = Path(path) if path else shipped("success-plans.yaml")
        parsed = validate(file, _SuccessPlansFile, read_yaml(file))
        owner: dict[str, str] = {}
        for area in parsed.areas.values():
            for code in area.activities:
                if code in owner:
                    message = f"activity {code!r} is already an activity of area {owner[code]!r}"
                    raise DataFileError(str(file), message, entry=area.code, field=f"activities.{code}")
                owner[code] = area.code
        return cls(dict(parsed.areas), version=parsed.version, path=str(file))


@lru_cache(maxsize=1)
def default_success_areas() -> SuccessAreas:
    return SuccessAreas.load()


class ItemStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in-progress"
    DONE = "done"


@dataclass(frozen=True)
class PlanItem:
    area: str
    activity: str
    status: ItemStatus
    due: date
    notes: str = ""


@dataclass(frozen=True)
class SuccessPlan:
    """A customer's success plan, owned by its CSAM. Validated when built: every item
    names a known area, an activity of that area, a status and a due date."""

    owner: str  # the CSAM's e-mail address
    customer: str  # the customer's code
    items: tuple[PlanItem, ...] = ()
    areas: SuccessAreas = field(default_factory=default_success_areas, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.owner, str) or not _EMAIL.match(self.owner):
            raise InvalidInput(f"the owner is the CSAM's e-mail address, got {self.owner!r}", field="owner", rule=RULE)
        if not isinstance(self.customer, str) or not _SLUG.match(self.customer):
            raise InvalidInput(f"expected a customer code (lower-case slug), got {self.customer!r}", field="customer")
        items = tuple(self._item(i, item) for i, item in enumerate(self.items))
        object.__setattr__(self, "items", items)

    def _item(self, i: int, item: PlanItem | Mapping[str, Any]) -> PlanItem:
        where = f"items[{i}]"
        raw: Mapping[str, Any] = item.__dict__ if isinstance(item, PlanItem) else item
        unknown = set(raw) - {"area", "activity", "status", "due", "notes"}
        if unknown:
            name = min(unknown)
            raise InvalidInput(f"unknown field {name!r}", field=f"{where}.{name}")
        area = self.areas.area(raw.get("area", ""), field=f"{where}.area")
        activity = raw.get("activity", "")
        if activity not in area.activities:
            home = self.areas.area_of(activity)
            why = f"belongs to area {home.code!r}" if home else "is not an activity of Annex B"
            raise InvalidInput(
                f"activity {activity!r} {why}, not to {area.code!r} (its activities: {', '.join(area.activities)})",
                field=f"{where}.activity",
                rule=RULE,
            )
        try:
            status = ItemStatus(raw.get("status", ItemStatus.PLANNED))
        except ValueError:
            accepted = ", ".join(s.value for s in ItemStatus)
            raise InvalidInput(
                f"unknown status {raw.get('status')!r} (accepted: {accepted})", field=f"{where}.status"
            ) from None
        due = require_local_date(raw.get("due"), f"{where}.due")
        notes = raw.get("notes") or ""
        if not isinstance(notes, str):
            raise InvalidInput("notes are text", field=f"{where}.notes")
        return PlanItem(area.code, activity, status, due, notes)

    def by_area(self) -> dict[str, tuple[PlanItem, ...]]:
        """Items grouped by area, in the areas' order (empty areas included)."""
        return {a.code: tuple(x for x in self.items if x.area == a.code) for a in self.areas}

    def with_items(self, items: Iterable[PlanItem | Mapping[str, Any]]) -> SuccessPlan:
        """A copy with ``items`` (validated), for edits: plans are values."""
        return SuccessPlan.of(self.owner, self.customer, items, self.areas)

    @classmethod
    def of(
        cls,
        owner: str,
        customer: str,
        items: Iterable[PlanItem | Mapping[str, Any]] = (),
        areas: SuccessAreas | None = None,
    ) -> SuccessPlan:
        """A plan whose items are given as PlanItems or as mappings (a request, a
        file), each validated as the plan is built."""
        plan = cls(owner, customer, (), areas or default_success_areas())
        return replace(plan, items=tuple(plan._item(i, item) for i, item in enumerate(items)))
