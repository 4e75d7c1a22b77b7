"""What callers may send, checked the same way by every adapter: API bodies and
query parameters, web forms, order files, the command line.

* **Instants and days lie within the span the system works in** (docs/decisions.md
  D49): from 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z. :data:`Instant` and
  :data:`Day` are the types of every date-time and date a caller gives; outside the
  span the value is refused as malformed input naming its field, never carried to a
  calendar, a holiday table or a database column that cannot hold it.
* **Text holds no control characters** (D51): :class:`Input`, the base of every
  request model, refuses them in each of its text values, on SQLite exactly as on
  PostgreSQL (which cannot store a NUL at all). Tabs and line breaks are text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from unisupport.errors import InvalidInput

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
FIRST_DAY, LAST_DAY = EARLIEST.date(), LATEST.date()
SPAN = f"between {EARLIEST.isoformat().replace('+00:00', 'Z')} and {LATEST.isoformat().replace('+00:00', 'Z')}"

# C0 and C1 control characters but tab, line feed and carriage return; and lone
# surrogates, which no database can encode.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def within_span(moment: datetime) -> bool:
    """Whether an aware ``moment`` lies in the span. The year is compared first:
    year 1 at +14:00 or 9999 at -12:00 cannot even be moved to UTC."""
    if not EARLIEST.year - 1 <= moment.year <= LATEST.year + 1:
        return False
    return EARLIEST <= moment <= LATEST


def _instant(value: datetime) -> datetime:
    if not within_span(value):
        raise PydanticCustomError("instant_out_of_span", "must be an instant {span}", {"span": SPAN})
    return value


def _day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError(
            "day_out_of_span",
            "must be a date between {first} and {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
"""An aware date-time within the span (D49)."""
Day = Annotated[date, AfterValidator(_day)]
"""A date within the span (D49)."""

_INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
_DAY: TypeAdapter[date] = TypeAdapter(Day)


def _checked(adapter: TypeAdapter, value: Any, field: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"], field=field) from None


def checked_instant(value: datetime, *, field: str) -> datetime:
    """``value`` as an :data:`Instant`, else InvalidInput naming ``field``: for
    values not read through a model (a form's local date and time)."""
    return _checked(_INSTANT, value, field)


def checked_day(value: date, *, field: str) -> date:
    """``value`` as a :data:`Day`, else InvalidInput naming ``field``."""
    return _checked(_DAY, value, field)


def control_character(text: str) -> str | None:
    """The first control character of ``text`` (as ``U+0000 at character 3``), or None."""
    match = _CONTROL.search(text)
    if match is None:
        return None
    return f"U+{ord(match.group()):04X} at character {match.start() + 1}"


def check_text(text: str, *, field: str) -> str:
    """``text``, or InvalidInput naming ``field`` when it holds a control character."""
    found = control_character(text)
    if found is not None:
        raise InvalidInput(f"must not contain control characters ({found})", field=field)
    return text


def _first_control(value: Any) -> str | None:
    if isinstance(value, str):
        return control_character(value)
    if isinstance(value, Mapping):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((found for item in value if (found := _first_control(item)) is not None), None)
    return None  # numbers, dates, and nested models (which check their own fields)


class Input(BaseModel):
    """The base of what callers send: unknown fields and control characters in
    any text value (also inside lists and mappings) are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        found = _first_control(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character", "must not contain control characters ({found})", {"found": found}
            )
        return value
