"""Service Improvement Plans: at most 2 in any 12-month period (R-MCSAP-4).

"Any 12-month period" is read as any window of twelve calendar months, ``[d, d + 12
months)`` for every date d: two plans share a period exactly when the later starts
less than twelve calendar months after the earlier. A third plan is therefore
allowed on the day twelve months after the first of the two before it (10 January
2025 and 10 January 2026 are not in one period). Twelve months after 29 February is
28 February, as for contract years. Plans are counted by their start date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from unisupport.bookings.booking_rules import require_local_date
from unisupport.catalog.catalog import Catalog, default_catalog
from unisupport.refusal import Refused

RULE = "R-MCSAP-4"


def twelve_months_after(day: date) -> date:
    """The first day outside the 12-month period starting on ``day``."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def check_new_plan(existing_start_dates: Iterable[date], new_start: date, *, catalog: Catalog | None = None) -> None:
    """R-MCSAP-4: refuse ``new_start`` when some 12-month period containing it would
    then hold more plans than allowed (2, the catalog's ``mcsap`` limit). Only periods
    containing the new plan are judged: the existing plans were accepted already."""
    require_local_date(new_start, "new_start")
    existing = [require_local_date(d, f"existing_start_dates[{i}]") for i, d in enumerate(existing_start_dates)]
    limit = (catalog or default_catalog()).get("mcsap").limits.max_service_improvement_plans_per_12_months or 2

    # The busiest period containing the new plan starts on some plan's date, so
    # trying every plan that starts on or before it, within 12 months, is enough.
    dates = sorted([*existing, new_start])
    for first in dates:
        end = twelve_months_after(first)
        if not first <= new_start < end:
            continue
        in_period = [d for d in dates if first <= d < end]
        if len(in_period) > limit:
            in_conflict = [d.isoformat() for d in in_period]
            raise Refused(
                f"a Service Improvement Plan starting {new_start.isoformat()} would make {len(in_period)} "
                f"in the 12 months from {first.isoformat()} ({', '.join(in_conflict)}); "
                f"at most {limit} are allowed in any 12-month period",
                rule=RULE,
                field="new_start",
                details={"in_conflict": in_conflict, "limit": limit},
            )
