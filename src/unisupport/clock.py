"""Time is injected: code that needs "now" takes a clock, so tests pin time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that shows a set instant until moved (tests, replays)."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("a clock shows aware datetimes")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
