"""Mission Critical Services for Azure Events: what an event may be (R-EVT-2) and the
summary owed after it (R-EVT-1).

An event covers whole local days, ``start`` to ``end`` inclusive, in the zone of the
customer's site: the coverage window is the half-open ``[start 00:00, end + 1 day
00:00)``, the form the first-response calculator takes (decisions D10). The limits
(5 days, 6 weeks' notice, one solution) are read from the catalog entry
``mcs-azure-events`` so an operator changes them in data, not code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from unisupport.bookings.booking_rules import require_local_date
from unisupport.catalog.catalog import Catalog, default_catalog
from unisupport.errors import InvalidInput
from unisupport.refusal import Refused
from unisupport.sla.calendar import zone_named

RULE = "R-EVT-2"
SUMMARY_RULE = "R-EVT-1"
PUBLIC_CLOUD = "public"  # no government or sovereign clouds


class AzureEventLike(Protocol):
    """What an event request must tell (``orders.order_file.AzureEvent`` fits)."""

    @property
    def solution(self) -> str | Sequence[str]: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...  # inclusive
    @property
    def confirmed_on(self) -> date: ...
    @property
    def provider_consent(self) -> bool: ...
    @property
    def cloud(self) -> str: ...


@dataclass(frozen=True)
class EventPlan:
    """An accepted event: its coverage window and what was agreed."""

    solution: str
    start: date
    end: date  # inclusive
    days: int
    notice_days: int  # from written confirmation to the start
    window_start: datetime  # coverage, half-open, in the site's zone
    window_end: datetime
    reduced_pre_event_assessment: bool  # late confirmation accepted by the provider
    language: str = "en"  # English only (R-EVT-2)
    rule: str = RULE


def plan_event(event: AzureEventLike, *, timezone: str = "UTC", catalog: Catalog | None = None) -> EventPlan:
    """R-EVT-2: one Azure solution, in the public cloud, at most 5 consecutive calendar
    days, confirmed in writing at least 6 calendar weeks (42 days) before the start —
    or later with the provider's consent, which reduces the pre-event assessment."""
    limits = (catalog or default_catalog()).get("mcs-azure-events").limits
    max_days = limits.max_consecutive_days or 5
    min_notice = 7 * (limits.min_notice_weeks or 6)
    max_solutions = limits.max_solutions_per_event or 1

    start = require_local_date(event.start, "start")
    end = require_local_date(event.end, "end")
    confirmed_on = require_local_date(event.confirmed_on, "confirmed_on")
    zone = zone_named(timezone)
    if end < start:
        raise InvalidInput(f"the event ends ({end}) before it starts ({start})", field="end", rule=RULE)

    solutions = [event.solution] if isinstance(event.solution, str) else list(event.solution)
    solutions = [s.strip() for s in solutions if s and s.strip()]
    if not solutions:
        raise InvalidInput("name the Azure solution the event covers", field="solution", rule=RULE)
    if len(solutions) > max_solutions:
        raise Refused(
            f"an event covers one Azure solution, {len(solutions)} were given ({', '.join(solutions)}): "
            "buy one event per solution",
            rule=RULE,
            field="solution",
        )
    if event.cloud.strip().lower() != PUBLIC_CLOUD:
        raise Refused(
            f"Azure Events cover the Azure public cloud only, not {event.cloud!r} (no government or sovereign clouds)",
            rule=RULE,
            field="cloud",
        )

    days = (end - start).days + 1
    if days > max_days:
        raise Refused(
            f"an event covers at most {max_days} consecutive calendar days; {start} to {end} is {days} "
            "(buy consecutive events)",
            rule=RULE,
            field="end",
        )

    notice = (start - confirmed_on).days
    if notice < 0:
        raise Refused(
            f"the event was confirmed on {confirmed_on}, after it started on {start}",
            rule=RULE,
            field="confirmed_on",
        )
    late = notice < min_notice
    if late and not event.provider_consent:
        raise Refused(
            f"an event is confirmed in writing at least {min_notice // 7} calendar weeks ({min_notice} days) "
            f"before it starts; confirmed on {confirmed_on}, {notice} days before {start}, "
            "without the provider's consent",
            rule=RULE,
            field="confirmed_on",
        )

    return EventPlan(
        solution=solutions[0],
        start=start,
        end=end,
        days=days,
        notice_days=notice,
        window_start=datetime.combine(start, time(), tzinfo=zone),
        window_end=datetime.combine(end + timedelta(days=1), time(), tzinfo=zone),
        reduced_pre_event_assessment=late,
    )


# --------------------------------------------------------------------------- R-EVT-1
class EventIncident(Protocol):
    """What the summary reads of an incident (the incident model fits it)."""

    @property
    def id(self) -> object: ...
    @property
    def opened_at(self) -> datetime: ...  # time-zone aware
    @property
    def status(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def resolved(self) -> bool: ...


@dataclass(frozen=True)
class EventCase:
    id: str
    opened_at: datetime
    severity: str
    status: str
    resolved: bool


@dataclass(frozen=True)
class PostEventSummary:
    """Every case opened during the event, and whether each is resolved (R-EVT-1)."""

    solution: str
    window_start: datetime
    window_end: datetime
    cases: tuple[EventCase, ...]
    rule: str = SUMMARY_RULE

    @property
    def unresolved(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.cases if not c.resolved)

    @property
    def all_resolved(self) -> bool:
        """The confirmation R-EVT-1 asks for (true, vacuously, when no case was opened)."""
        return not self.unresolved


def post_event_summary(plan: EventPlan, incidents: Iterable[EventIncident]) -> PostEventSummary:
    """R-EVT-1: the cases opened in the coverage window ``[window_start, window_end)``,
    oldest first. Every case counts, with or without the "AEM" marker: the summary is
    about the event, not about which target applied."""
    cases = []
    for i, incident in enumerate(incidents):
        opened = incident.opened_at
        if not isinstance(opened, datetime) or opened.utcoffset() is None:
            raise InvalidInput(
                f"expected a time-zone aware datetime, got {opened!r}", field=f"incidents[{i}].opened_at"
            )
        if plan.window_start <= opened < plan.window_end:
            cases.append(
                EventCase(
                    str(incident.id), opened, str(incident.severity), str(incident.status), bool(incident.resolved)
                )
            )
    cases.sort(key=lambda c: (c.opened_at, c.id))
    return PostEventSummary(plan.solution, plan.window_start, plan.window_end, tuple(cases))
