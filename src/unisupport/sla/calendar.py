"""Business calendars of customer support sites (docs/rules.md R-SEV-4).

A calendar is a country (public holidays from the ``holidays`` package, with an
optional subdivision), an IANA time zone, weekly working windows in local wall-clock
time (several per day, minute precision; ``24:00`` ends a window at midnight), and
site-specific extra closures and extra open days.

**Semantics.** An instant is *open* when its local wall-clock time, on its local date,
lies in a window of that date (a window ``[start, end)`` is half-open). On days where
the clocks change this is exact: a window in the skipped hour has no open time, a
window over the repeated hour is open during both passes, and a 24-hour window lasts
23 or 25 hours.

**Representation.** Open time is expanded lazily, for as many years as queries touch,
into sorted, merged UTC intervals ``[starts[i], ends[i])`` in integer epoch seconds,
with the running total of open seconds ``cum_end[i]`` at the end of each interval.
Every operation is then one or two binary searches, scalar (``bisect`` on lists) or
batch (``numpy.searchsorted`` on arrays).

**Due instants** are the earliest instant at which the target is met: adding 240
business minutes to 13:30 on a 09:00–17:30 day gives 17:30 the same day, never 09:00
the next morning.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np

from unisupport.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_EPOCH_DATE = date(1970, 1, 1)
_DAY = 86_400
# Zone offsets are sampled this often to find clock changes, which are then
# located to the second by bisection. Real zones never change twice in 6 hours.
_OFFSET_SAMPLE = 6 * 3600
_MIN_YEAR, _MAX_YEAR = 1901, 9998
# Instants a calendar answers for: a year inside the expandable range on each side
# (expansion takes the years around a query). Callers never get this far with
# anything outside 1970-2199 (unisupport.inputs); this is the last line.
_FIRST_T = (date(_MIN_YEAR + 1, 1, 1) - _EPOCH_DATE).days * _DAY
_END_T = (date(_MAX_YEAR, 1, 1) - _EPOCH_DATE).days * _DAY


@dataclass(frozen=True, order=True)
class Window:
    """A working window ``[start, end)`` in minutes after local midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end <= 1440):
            raise ValueError(f"window {self} must satisfy 00:00 <= start < end <= 24:00")

    @classmethod
    def parse(cls, text: str) -> Window:
        match = _WINDOW.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a window like '09:00-17:30'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
            raise ValueError(f"{text!r} is not a valid time range (hours 00-24, minutes 00-59)")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end:
            raise ValueError(f"{text!r}: a window must end after it starts (use 24:00 for midnight)")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"

    @property
    def minutes(self) -> int:
        return self.end - self.start


DEFAULT_DAY: tuple[Window, ...] = (Window(9 * 60, 17 * 60 + 30),)
DEFAULT_WEEK: dict[str, tuple[Window, ...]] = {d: DEFAULT_DAY for d in WEEKDAYS[:5]}


def _windows(value: Iterable[Window | str], where: str) -> tuple[Window, ...]:
    try:
        windows = tuple(w if isinstance(w, Window) else Window.parse(w) for w in value)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=where) from None
    for before, after in pairwise(windows):
        if after.start < before.end:
            raise InvalidInput(f"windows must be in order and must not overlap ({before} then {after})", field=where)
    return windows


@lru_cache(maxsize=1)
def supported_countries() -> dict[str, list[str]]:
    """ISO 3166-1 alpha-2 codes the ``holidays`` package knows, with subdivisions."""
    return holidays.list_supported_countries()


def zone_named(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name``, or InvalidInput naming the field."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidInput(f"{name!r} is not an IANA time zone name", field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"unknown time zone {name!r} (expected an IANA name such as Europe/Paris)", field=field
        ) from None


def epoch_seconds(moment: datetime, *, field: str = "datetime") -> int:
    """Whole epoch seconds of an aware datetime (sub-second parts are dropped)."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{moment!r} is not a datetime", field=field)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"{moment.isoformat()} has no UTC offset; give an aware datetime such as 2026-11-27T16:45:00+01:00",
            field=field,
        )
    return math.floor(moment.timestamp())


def _check_range(lo: int, hi: int, field: str) -> None:
    if lo < _FIRST_T or hi >= _END_T:
        raise InvalidInput(
            f"a calendar covers instants from {_MIN_YEAR + 1} to {_MAX_YEAR - 1}; this one is outside", field=field
        )


def _merged(pieces: list[tuple[int, int]]) -> tuple[list[int], list[int], list[int]]:
    """Open intervals ``[a, b)`` as sorted disjoint runs (overlapping or touching ones
    joined): their starts, their ends, and the open seconds up to each end."""
    pieces.sort()
    starts: list[int] = []
    ends: list[int] = []
    for a, b in pieces:
        if ends and a <= ends[-1]:
            if b > ends[-1]:
                ends[-1] = b
        else:
            starts.append(a)
            ends.append(b)
    cum: list[int] = []
    total = 0
    for a, b in zip(starts, ends, strict=True):
        total += b - a
        cum.append(total)
    return starts, ends, cum


class Calendar:
    """Working time of one support site. Immutable once built; expansion is a cache."""

    def __init__(
        self,
        *,
        country: str,
        timezone: str,
        subdivision: str | None = None,
        week: Mapping[str, Iterable[Window | str]] | None = None,
        closures: Iterable[date] = (),
        open_days: Mapping[date, Iterable[Window | str]] | Iterable[date] = (),
        name: str | None = None,
    ):
        countries = supported_countries()
        if not isinstance(country, str) or country.upper() != country or country not in countries:
            raise InvalidInput(
                f"unknown country {country!r} "
                "(expected an ISO 3166-1 alpha-2 code the holidays package supports, such as FR)",
                field="country",
            )
        if subdivision is not None and subdivision not in countries[country]:
            raise InvalidInput(f"unknown subdivision {subdivision!r} of {country}", field="subdivision")
        self.country = country
        self.subdivision = subdivision
        self.timezone = timezone
        self.zone = zone_named(timezone)
        self.name = name or f"{country}/{timezone}"

        week = DEFAULT_WEEK if week is None else week
        unknown = set(week) - set(WEEKDAYS)
        if unknown:
            raise InvalidInput(f"unknown weekday {sorted(unknown)[0]!r} (expected {', '.join(WEEKDAYS)})", field="week")
        self.week: tuple[tuple[Window, ...], ...] = tuple(
            _windows(week.get(day, ()), f"week.{day}") for day in WEEKDAYS
        )
        if not any(self.week):
            raise InvalidInput("the working week has no window at all", field="week")

        self.closures: frozenset[date] = frozenset(closures)
        if isinstance(open_days, Mapping):
            self.open_days = {
                d: _windows(ws, f"open_days.{d.isoformat()}") or DEFAULT_DAY for d, ws in open_days.items()
            }
        else:
            self.open_days = {d: DEFAULT_DAY for d in open_days}
        both = self.closures & set(self.open_days)
        if both:
            raise InvalidInput(f"{min(both).isoformat()} is both a closure and an open day", field="closures")

        self._y0: int | None = None
        self._y1: int | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum_end: list[int] = []
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def for_country(cls, country: str, timezone: str, subdivision: str | None = None) -> Calendar:
        """The site calendar of ``country`` with the operator's default working week
        for it (``data/calendars.yaml``; Mon–Fri 09:00–17:30 unless it says otherwise)."""
        from unisupport.sla.calendar_file import default_week_for

        return cls(country=country, timezone=timezone, subdivision=subdivision, week=default_week_for(country))

    def holiday_name(self, day: date) -> str | None:
        """The public holiday of the site's country on ``day``, if any."""
        return self._holidays_for(day.year, day.year).get(day)

    def day_windows(self, day: date) -> tuple[Window, ...]:
        """The windows worked on local date ``day`` (empty when closed)."""
        if day in self.closures:
            return ()
        if day in self.open_days:
            return self.open_days[day]
        if self.holiday_name(day) is not None:
            return ()
        return self.week[day.weekday()]

    def closed_reason(self, day: date) -> str | None:
        """Why ``day`` has no working time, in words, or None when it has some."""
        if day in self.closures:
            return "site closure"
        if day in self.open_days:
            return None
        name = self.holiday_name(day)
        if name is not None:
            return f"public holiday ({name})"
        if not self.week[day.weekday()]:
            return f"not a working day ({WEEKDAYS[day.weekday()]})"
        return None

    def _holidays_for(self, y0: int, y1: int) -> dict[date, str]:
        cache = self.__dict__.setdefault("_holiday_cache", {})
        missing = [y for y in range(y0, y1 + 1) if y not in cache]
        if missing:
            table = holidays.country_holidays(self.country, subdiv=self.subdivision, years=missing)
            for y in missing:
                cache[y] = {}
            for d, n in table.items():
                cache.setdefault(d.year, {})[d] = n
        merged: dict[date, str] = {}
        for y in range(y0, y1 + 1):
            merged.update(cache[y])
        return merged

    def _offset_segments(self, lo: int, hi: int) -> tuple[list[int], list[int]]:
        """UTC instants where the zone's offset changes in ``[lo, hi]`` and the offset
        (seconds east of UTC) from each of them: segment k covers
        ``[starts[k], starts[k + 1])`` with ``offsets[k]``."""

        def offset(t: int) -> int:
            return int(datetime.fromtimestamp(t, self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]  # aware: never None

        starts, offsets = [lo], [offset(lo)]
        t = lo
        while t < hi:
            nxt = min(t + _OFFSET_SAMPLE, hi)
            off = offset(nxt)
            if off != offsets[-1]:
                a, b = t, nxt  # offset(a) == offsets[-1], offset(b) differs
                while b - a > 1:
                    mid = (a + b) // 2
                    if offset(mid) == offsets[-1]:
                        a = mid
                    else:
                        b = mid
                starts.append(b)
                offsets.append(off)
            t = nxt
        return starts, offsets

    def _build(self, y0: int, y1: int) -> None:
        if y0 < _MIN_YEAR or y1 > _MAX_YEAR:
            raise InvalidInput(f"dates must fall between {_MIN_YEAR} and {_MAX_YEAR}", field="datetime")
        first, last = date(y0, 1, 1), date(y1, 12, 31)
        lo = (first - _EPOCH_DATE).days * _DAY - 2 * _DAY
        hi = (last - _EPOCH_DATE).days * _DAY + 3 * _DAY
        seg_starts, seg_offsets = self._offset_segments(lo, hi)
        max_off, min_off = max(seg_offsets), min(seg_offsets)
        n_seg = len(seg_starts)
        holiday_dates = self._holidays_for(y0, y1)
        closures, open_days, week = self.closures, self.open_days, self.week

        pieces: list[tuple[int, int]] = []
        day = first
        ordinal = (first - _EPOCH_DATE).days
        weekday = first.weekday()
        one = timedelta(days=1)
        while day <= last:
            if day in closures:
                windows: tuple[Window, ...] = ()
            elif day in open_days:
                windows = open_days[day]
            elif day in holiday_dates:
                windows = ()
            else:
                windows = week[weekday]
            base = ordinal * _DAY  # local midnight read as if it were UTC
            for w in windows:
                l0, l1 = base + w.start * 60, base + w.end * 60
                if n_seg == 1:
                    off = seg_offsets[0]
                    pieces.append((l0 - off, l1 - off))
                    continue
                # Instants whose local time is in [l0, l1): in each offset segment,
                # [l0 - off, l1 - off) clipped to the segment.
                k = max(bisect_right(seg_starts, l0 - max_off) - 1, 0)
                while k < n_seg and seg_starts[k] < l1 - min_off:
                    off = seg_offsets[k]
                    a = max(l0 - off, seg_starts[k])
                    b = l1 - off if k + 1 == n_seg else min(l1 - off, seg_starts[k + 1])
                    if a < b:
                        pieces.append((a, b))
                    k += 1
            day += one
            ordinal += 1
            weekday = (weekday + 1) % 7

        starts, ends, cum = _merged(pieces)
        self._y0, self._y1 = y0, y1
        self._starts, self._ends, self._cum_end = starts, ends, cum
        # The covered UTC range: instants whose local date lies in [first, last].
        self._lo = (first - _EPOCH_DATE).days * _DAY - max_off
        self._hi = (last - _EPOCH_DATE).days * _DAY + _DAY - min_off
        self._arrays = None

    def _cover(self, lo: int, hi: int | None = None) -> None:
        """Make sure instants ``lo``..``hi`` lie inside the expanded range."""
        hi = lo if hi is None else hi
        if self._y0 is not None and self._lo <= lo and hi < self._hi:
            return
        _check_range(lo, hi, "datetime")
        y_lo = datetime.fromtimestamp(lo, UTC).year - 1
        y_hi = datetime.fromtimestamp(hi, UTC).year + 1
        if self._y0 is not None and self._y1 is not None:
            y_lo, y_hi = min(y_lo, self._y0), max(y_hi, self._y1)
        self._build(max(y_lo, _MIN_YEAR), min(y_hi, _MAX_YEAR))

    def _grow_forward(self) -> None:
        assert self._y0 is not None and self._y1 is not None
        span = self._y1 - self._y0 + 1
        if self._y1 >= _MAX_YEAR:
            raise InvalidInput(f"the due instant would fall after {_MAX_YEAR}", field="minutes")
        self._build(self._y0, min(self._y1 + span, _MAX_YEAR))

    def _cum_at(self, t: int) -> int:
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0
        end = self._ends[i]
        return self._cum_end[i] if t >= end else self._cum_end[i] - (end - t)

    def _local(self, t: int) -> datetime:
        return datetime.fromtimestamp(t, self.zone)

    # ------------------------------------------------------------------ scalar API
    def add_business_seconds(self, start: datetime, seconds: int) -> datetime:
        """The earliest instant at which ``seconds`` of working time have elapsed
        since ``start``, in the site's zone."""
        # The hot path of every recomputation: checks and lookups inlined.
        if getattr(start, "tzinfo", None) is None:
            t = epoch_seconds(start, field="start")  # raises: naive or not a datetime
        else:
            stamp = start.timestamp()
            t = int(stamp)
            if t > stamp:  # before 1970: int() truncates towards zero
                t -= 1
        if seconds <= 0:
            if seconds < 0:
                raise InvalidInput("business time to add must not be negative", field="seconds")
            return datetime.fromtimestamp(t, self.zone)
        if self._y0 is None or not (self._lo <= t < self._hi):
            self._cover(t)
        starts, ends, cum = self._starts, self._ends, self._cum_end
        i = bisect_right(starts, t) - 1
        if i < 0:
            target = seconds
        elif t >= ends[i]:
            target = cum[i] + seconds
        else:
            target = cum[i] - (ends[i] - t) + seconds
        if target > cum[-1]:
            while target > self._cum_end[-1]:
                self._grow_forward()
            ends, cum = self._ends, self._cum_end
        j = bisect_left(cum, target)
        return datetime.fromtimestamp(ends[j] - (cum[j] - target), self.zone)

    def add_business_minutes(self, start: datetime, minutes: int | float) -> datetime:
        """``add_business_seconds`` for a number of minutes (rounded to the second)."""
        return self.add_business_seconds(start, minutes * 60 if minutes.__class__ is int else round(minutes * 60))

    def business_seconds_between(self, a: datetime, b: datetime) -> int:
        """Working seconds from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        ta, tb = epoch_seconds(a, field="a"), epoch_seconds(b, field="b")
        self._cover(min(ta, tb), max(ta, tb))
        return self._cum_at(tb) - self._cum_at(ta)

    def business_minutes_between(self, a: datetime, b: datetime) -> float:
        return self.business_seconds_between(a, b) / 60

    def is_open(self, moment: datetime) -> bool:
        t = epoch_seconds(moment, field="moment")
        self._cover(t)
        i = bisect_right(self._starts, t) - 1
        return i >= 0 and t < self._ends[i]

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when the site is open then, else the next opening."""
        t = epoch_seconds(moment, field="moment")
        self._cover(t)
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t < self._ends[i]:
            return self._local(t)
        while i + 1 >= len(self._starts):
            self._grow_forward()
            i = bisect_right(self._starts, t) - 1
        return self._local(self._starts[i + 1])

    def localize(self, moment: datetime) -> datetime:
        """``moment`` in the site's zone."""
        t = epoch_seconds(moment, field="moment")
        _check_range(t, t, "moment")
        return self._local(t)

    # ------------------------------------------------------------------ batch API
    def _np(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = (
                np.asarray(self._starts, dtype=np.int64),
                np.asarray(self._ends, dtype=np.int64),
                np.asarray(self._cum_end, dtype=np.int64),
            )
        return self._arrays

    def _cum_at_batch(self, t: np.ndarray) -> np.ndarray:
        starts, ends, cum = self._np()
        i = np.searchsorted(starts, t, side="right") - 1
        ic = np.maximum(i, 0)
        end = ends[ic]
        at = np.where(t >= end, cum[ic], cum[ic] - (end - t))
        return np.where(i < 0, 0, at)

    def add_business_seconds_batch(
        self, starts: Sequence[int] | np.ndarray, seconds: int | Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Vectorised ``add_business_seconds`` over epoch seconds (int64) or
        ``datetime64`` values; returns due instants as int64 epoch seconds."""
        t = _as_epoch_array(starts)
        secs = np.broadcast_to(np.asarray(seconds, dtype=np.int64), t.shape)
        if t.size == 0:
            return t.copy()
        if (secs < 0).any():
            raise InvalidInput("business time to add must not be negative", field="seconds")
        self._cover(int(t.min()), int(t.max()))
        target = self._cum_at_batch(t) + secs
        while int(target.max()) > self._cum_end[-1]:
            self._grow_forward()
            target = self._cum_at_batch(t) + secs
        _, ends, cum = self._np()
        j = np.searchsorted(cum, target, side="left")
        jc = np.minimum(j, len(cum) - 1)
        due = ends[jc] - (cum[jc] - target)
        return np.where(secs == 0, t, due)

    def business_seconds_between_batch(
        self, a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        ta, tb = _as_epoch_array(a), _as_epoch_array(b)
        if ta.size == 0:
            return np.zeros(np.broadcast(ta, tb).shape, dtype=np.int64)
        self._cover(int(min(ta.min(), tb.min())), int(max(ta.max(), tb.max())))
        return self._cum_at_batch(tb) - self._cum_at_batch(ta)

    # ------------------------------------------------------------------ introspection
    @property
    def expanded_years(self) -> tuple[int, int] | None:
        return None if self._y0 is None or self._y1 is None else (self._y0, self._y1)

    def expand(self, first_year: int, last_year: int) -> None:
        """Expand eagerly (benchmarks, warm caches); queries do it lazily anyway."""
        self._build(first_year, last_year)

    @cached_property
    def description(self) -> str:
        days = []
        for name, windows in zip(WEEKDAYS, self.week, strict=True):
            if windows:
                days.append(f"{name} {' '.join(str(w) for w in windows)}")
        sub = f"-{self.subdivision}" if self.subdivision else ""
        return f"{self.country}{sub} {self.timezone}: {'; '.join(days)}; public holidays of {self.country}{sub}"

    def __repr__(self) -> str:
        return f"Calendar({self.description})"


def _as_epoch_array(values: Sequence[int] | np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    if np.issubdtype(array.dtype, np.datetime64):
        return array.astype("datetime64[s]").astype(np.int64)
    if not np.issubdtype(array.dtype, np.integer):
        raise InvalidInput("batch instants must be integer epoch seconds or datetime64 values", field="starts")
    return array.astype(np.int64, copy=False)
