"""The resolver: the first-response target of an incident and why (RULES.md R-SLA-1).

Every plan the customer holds is considered; each says whether it applies to this
incident and, if so, its target. The shortest due instant wins (ties go to the plan
listed first in the matrix file, enhanced plans before the Base Package), and the
explanation keeps a one-sentence reason for every plan held.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from unisupport.catalog.product import Product, ProductRegistry, default_products
from unisupport.errors import InvalidInput
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.matrix import (
    BASE,
    Coverage,
    Covers,
    Plan,
    Scope,
    SeverityMatrix,
    default_matrix,
)
from unisupport.sla.severity import Severity

# "Event-related incidents must be submitted through the Azure portal, including
# AEM in the case description" (Annex A, Azure Events).
AEM_MARKER = re.compile(r"\bAEM\b", re.IGNORECASE)
MAX_EVENT_DAYS = 5  # R-EVT-2
LANGUAGE_NAMES = {"en": "English", "fr": "French", "ja": "Japanese", "zh": "Chinese", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese"}


@dataclass(frozen=True)
class Holding:
    """A plan the customer holds, with the scope its order names, if any.

    ``scope`` is a set of product codes (ARR's Azure components, MCSAP's enrolled
    products) or of tenant ids (Security Plus); ``None`` means the order names no
    restriction. ``event_start``/``event_end`` bound an Azure Events window.
    """

    plan: str
    scope: frozenset[str] | None = None
    event_start: datetime | None = None
    event_end: datetime | None = None

    @classmethod
    def of(cls, value: Holding | str) -> Holding:
        return value if isinstance(value, Holding) else cls(plan=str(value).strip())


@dataclass(frozen=True)
class Considered:
    plan: str
    applies: bool
    target_minutes: int | None
    reason: str
    coverage: Coverage | None = None
    due: datetime | None = None
    fallback: bool = False
    extras: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "applies": self.applies,
            "target_minutes": self.target_minutes,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Explanation:
    """The answer of :func:`explain`: the due instant and how it was reached."""

    due: datetime
    target_minutes: int
    coverage: Coverage
    plan: str
    considered: tuple[Considered, ...]
    severity: Severity
    product: Product
    opened: datetime
    calendar: Calendar
    extras: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due.isoformat(),
            "target_minutes": self.target_minutes,
            "coverage": self.coverage.value,
            "plan": self.plan,
            "considered": [c.to_dict() for c in self.considered],
            "severity": self.severity.value,
            "product": self.product.code,
            "opened": self.calendar.localize(self.opened).isoformat(),
            "site": {
                "country": self.calendar.country,
                "timezone": self.calendar.timezone,
                "subdivision": self.calendar.subdivision,
            },
            "extras": [dict(e) for e in self.extras],
        }

    @property
    def governing(self) -> Considered:
        return next(c for c in self.considered if c.plan == self.plan)


def explain(
    *,
    severity: Severity | str,
    product: str,
    opened: datetime,
    country: str | None = None,
    timezone: str | None = None,
    calendar: Calendar | None = None,
    plans: Iterable[Holding | str] = (),
    description: str | None = None,
    event_start: datetime | None = None,
    event_end: datetime | None = None,
    tenant: str | None = None,
    language: str | None = None,
    matrix: SeverityMatrix | None = None,
    products: ProductRegistry | None = None,
) -> Explanation:
    """The first-response target of an incident, with a reason for every plan held.

    ``plans`` are catalog codes or :class:`Holding` values (``base`` is always held,
    listed or not). The site is ``calendar``, or ``Calendar.for_country(country,
    timezone)``. ``event_start``/``event_end`` give the Azure Events window of a
    ``mcs-azure-events`` holding given as a bare code.
    """
    matrix = matrix or default_matrix()
    products = products or default_products()
    sev = Severity.parse(severity)
    prod = products.get(product, field="product")
    epoch_seconds(opened, field="opened")  # refuses naive or malformed instants early
    if calendar is None:
        if country is None or timezone is None:
            raise InvalidInput("give a calendar, or both country and timezone", field="country")
        calendar = Calendar.for_country(country, timezone)

    holdings = _holdings(plans, matrix, event_start, event_end, calendar)
    considered = [
        _consider(matrix.plans[h.plan], h, matrix, sev, prod, opened, calendar, description, tenant, language)
        for h in holdings
    ]
    candidates = [c for c in considered if c.applies and c.due is not None]
    # Shortest due instant wins; ties go to a plan's own figure over a fallback
    # (the figure is the Base Package's then), then to file precedence.
    best = min(
        candidates,
        key=lambda c: (epoch_seconds(c.due), c.fallback, matrix.precedence(c.plan)),  # type: ignore[arg-type]
    )
    extras = []
    seen = set()
    for c in considered:
        if not c.applies:
            continue
        for code in c.extras:
            if code in seen:
                continue
            seen.add(code)
            extra = matrix.extras[code]
            item: dict[str, Any] = {"code": code, "plan": c.plan, "en": extra.en, "fr": extra.fr}
            if extra.within_minutes is not None:
                item["within_minutes"] = extra.within_minutes
                item["due"] = elapsed(calendar, opened, extra.within_minutes).isoformat()
            extras.append(item)
    order = {h.plan: i for i, h in enumerate(holdings)}
    considered.sort(key=lambda c: (c.plan != best.plan, order[c.plan]))
    return Explanation(
        due=best.due,  # type: ignore[arg-type]
        target_minutes=best.target_minutes,  # type: ignore[arg-type]
        coverage=best.coverage,  # type: ignore[arg-type]
        plan=best.plan,
        considered=tuple(considered),
        severity=sev,
        product=prod,
        opened=calendar.localize(opened),
        calendar=calendar,
        extras=tuple(extras),
    )


def _holdings(
    plans: Iterable[Holding | str],
    matrix: SeverityMatrix,
    event_start: datetime | None,
    event_end: datetime | None,
    calendar: Calendar,
) -> list[Holding]:
    if isinstance(plans, str):
        plans = [p for p in plans.split(",") if p.strip()]
    held: dict[str, Holding] = {}
    for value in plans:
        holding = Holding.of(value)
        if not holding.plan:
            continue
        matrix.plan(holding.plan)  # unknown code → InvalidInput(field="plans")
        if holding.plan in held:
            raise InvalidInput(f"plan {holding.plan!r} is listed twice", field="plans")
        held[holding.plan] = holding
    held.setdefault(BASE, Holding(BASE))

    if (event_start is None) != (event_end is None):
        raise InvalidInput("an event window needs both a start and an end", field="event_start" if event_start is None else "event_end", rule="R-EVT-2")
    if event_start is not None:
        events = [h for h in held.values() if matrix.plans[h.plan].scope is Scope.EVENT]
        if not events:
            raise InvalidInput(
                "an event window was given but no Azure Events plan (mcs-azure-events) is held",
                field="event_start",
                rule="R-EVT-2",
            )
        for h in events:
            held[h.plan] = Holding(h.plan, h.scope, event_start, event_end)
    for h in held.values():
        if h.event_start is not None:
            _check_event_window(h, calendar)
    # Precedence order of the matrix file.
    return sorted(held.values(), key=lambda h: matrix.precedence(h.plan))


def _check_event_window(h: Holding, calendar: Calendar) -> None:
    start = epoch_seconds(h.event_start, field="event_start")  # type: ignore[arg-type]
    end = epoch_seconds(h.event_end, field="event_end")  # type: ignore[arg-type]
    if end <= start:
        raise InvalidInput("the event must end after it starts", field="event_end", rule="R-EVT-2")
    # Calendar days are counted on the site's wall clock: five days across a clock
    # change last 119 or 121 hours.
    wall = calendar.localize(h.event_end).replace(tzinfo=None) - calendar.localize(h.event_start).replace(tzinfo=None)  # type: ignore[arg-type]
    if wall > timedelta(days=MAX_EVENT_DAYS):
        raise InvalidInput(
            f"an event covers at most {MAX_EVENT_DAYS} consecutive calendar days (buy consecutive events)",
            field="event_end",
            rule="R-EVT-2",
        )


def _consider(
    plan: Plan,
    holding: Holding,
    matrix: SeverityMatrix,
    sev: Severity,
    product: Product,
    opened: datetime,
    calendar: Calendar,
    description: str | None,
    tenant: str | None,
    language: str | None,
) -> Considered:
    name = plan.en
    pname = product.en

    def refuse(reason: str) -> Considered:
        return Considered(plan.code, False, None, f"{name}: {reason}")

    # 1. Does the plan cover this product at all?
    excluded_flag = sorted(f.value for f in plan.excluded_flags if product.has(f))
    excluded = product.code in plan.azure_exclusions or bool(excluded_flag)
    why_excluded = (
        f"{pname} is excluded from its Azure target"
        if product.code in plan.azure_exclusions
        else f"{pname} is excluded ({', '.join(excluded_flag).replace('_', ' ')} technologies are out of its scope)"
    )
    if plan.covers is Covers.AZURE_COMPONENTS:
        if not product.is_azure:
            return refuse(f"covers Azure components only, and {pname} is not one.")
        if excluded:
            return refuse(f"{why_excluded}, and the plan covers Azure components only.")
    elif plan.covers is Covers.SECURITY_PRODUCTS:
        if not product.has("security_pillar"):
            return refuse(f"covers the security portfolio (Entra, Intune, Purview, Defender) only, and {pname} is not in it.")

    # 2. Does the order's scope for the plan include this incident?
    scope_note = ""
    if plan.scope is Scope.AZURE_COMPONENTS or plan.scope is Scope.ENROLLED_PRODUCTS:
        what = "Azure components named on the order" if plan.scope is Scope.AZURE_COMPONENTS else "products enrolled on the order"
        if holding.scope is not None and product.code not in holding.scope:
            listed = ", ".join(sorted(holding.scope)) or "none"
            return refuse(f"{pname} is not among the {what} ({listed}).")
        if holding.scope is None:
            scope_note = f"; no list of {what} was given, so all are assumed in scope"
    elif plan.scope is Scope.TENANTS:
        if holding.scope is not None:
            if tenant is None:
                return refuse(f"the incident names no tenant, and the plan covers only the tenants named on the order ({', '.join(sorted(holding.scope))}).")
            if tenant not in holding.scope:
                return refuse(f"tenant {tenant!r} is not among the tenants named on the order ({', '.join(sorted(holding.scope))}).")
    elif plan.scope is Scope.EVENT:
        if holding.event_start is None or holding.event_end is None:
            return refuse("no event window was given, so no event is in progress.")
        start, end = epoch_seconds(holding.event_start), epoch_seconds(holding.event_end)
        at = epoch_seconds(opened)
        if not (start <= at < end):
            return refuse(
                f"the incident was opened outside the event window "
                f"({calendar.localize(holding.event_start).isoformat()} to {calendar.localize(holding.event_end).isoformat()})."
            )
        if not description or not AEM_MARKER.search(description):
            return refuse('the case description does not carry the "AEM" marker that identifies event cases.')

    # 3. The figure: the plan's own, or the Base Package's where the row is blank.
    row = plan.severities[sev]
    fallback = row.fallback is not None
    source_row = matrix.base.severities[sev] if fallback else row
    azure_target = product.is_azure and not excluded
    if fallback:
        base_excluded = product.code in matrix.base.azure_exclusions
        minutes = source_row.minutes_for(product.is_azure and not base_excluded)
    else:
        minutes = source_row.minutes_for(azure_target)
    if minutes is None:  # a plan covering Azure only has no "other" figure
        return refuse(f"{why_excluded}, and the plan has no target for other products.")
    coverage = source_row.coverage
    assert coverage is not None
    due = _due(calendar, opened, minutes, coverage)

    if coverage is Coverage.BUSINESS_HOURS:
        figure = f"{minutes} business minutes"
    else:
        figure = f"{minutes} minutes, 24x7"
    if fallback:
        reason = (
            f"the source leaves its Severity {sev.value} row blank, "
            f"so the Base Package's target applies ({figure})"
        )
    else:
        if row.all is not None:
            kind = ""
        elif azure_target:
            kind = " on an Azure component in its scope" if plan.code != BASE else " on an Azure component"
        else:
            kind = " on a product other than an Azure component"
        reason = f"Severity {sev.value}{kind} gets a first response within {figure}"
        if excluded and product.is_azure and row.all is None:
            reason = f"{why_excluded}, so Severity {sev.value} gets its other-products target: a first response within {figure}"
    reason += scope_note
    if language and plan.languages is not None and language not in plan.languages:
        names = [LANGUAGE_NAMES.get(code, code) for code in plan.languages]
        offered = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        asked = LANGUAGE_NAMES.get(language, language)
        reason += f"; it is delivered in {offered} only, so it applies in English, not {asked} (R-SLA-3)"
    reason += "."
    return Considered(
        plan.code,
        True,
        minutes,
        f"{name}: {reason}",
        coverage=coverage,
        due=due,
        fallback=fallback,
        extras=row.extras,
    )


def _due(calendar: Calendar, opened: datetime, minutes: int, coverage: Coverage) -> datetime:
    if coverage is Coverage.H24X7:
        return elapsed(calendar, opened, minutes)
    return calendar.add_business_minutes(opened, minutes)


def elapsed(calendar: Calendar, start: datetime, minutes: int) -> datetime:
    """``minutes`` of wall-clock time after ``start``, in the site's zone. Done on
    epoch seconds: aware-datetime arithmetic in one zone is wall-clock arithmetic and
    would be an hour off across a clock change."""
    return calendar.localize(datetime.fromtimestamp(epoch_seconds(start) + minutes * 60, UTC))
