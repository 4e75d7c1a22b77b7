"""The statistics of the reports, exact and independent of the database: medians
and 90th percentiles by linear interpolation between the closest ranks (what
PostgreSQL's ``percentile_cont``, a spreadsheet's ``PERCENTILE.INC`` and Python's
``statistics.quantiles(method="inclusive")`` give), and shares in per cent
(docs/decisions.md D102)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

TENTH = Decimal("0.1")


def percentile(values: Sequence[int], q: Fraction) -> Fraction | None:
    """The ``q``-quantile (0 ≤ q ≤ 1) of integer ``values``, exactly; None when there
    are none. Integer arithmetic until the one fraction returned (the reports compute
    thousands of them)."""
    if not values:
        return None
    ordered = sorted(values)
    low, rest = divmod((len(ordered) - 1) * q.numerator, q.denominator)
    if rest == 0:
        return Fraction(ordered[low])
    return Fraction(ordered[low] * q.denominator + rest * (ordered[low + 1] - ordered[low]), q.denominator)


MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)


def minutes(seconds: Fraction | None) -> Decimal | None:
    """Seconds as minutes to the tenth (half to even), or None."""
    if seconds is None:
        return None
    return (Decimal(seconds.numerator) / Decimal(seconds.denominator * 60)).quantize(TENTH, ROUND_HALF_EVEN)


def share(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in per cent to the tenth; None when ``whole`` is zero."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(TENTH, ROUND_HALF_EVEN)


def month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from ``first``'s to ``last``'s, both included."""
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day)
        day = next_month(day)
    return out


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def plain(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros nor an exponent: 12.5000 → 12.5, 100.00 → 100."""
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()
