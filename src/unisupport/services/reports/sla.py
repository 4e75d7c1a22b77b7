"""SLA attainment by month × customer × severity × plan (issue 10; docs/decisions.md
D101, D102).

An incident belongs to the month (UTC) it was opened in, under the severity and plan
its current target was computed for (the incident row records them). For each group:

* first responses met (given by the due instant) and breached (the watcher recorded a
  breach, or the response came after the due instant), each in per cent of those
  decided; the median and 90th percentile time to first response in the minutes the
  target counted — business minutes on the site's calendar for a business-hours
  target, wall-clock minutes for a 24×7 one — from the instant the target started;
* the median and 90th percentile wall-clock minutes from opening to mitigation and to
  closure;
* the customer's answers asked for and missed (R-SLA-4);
* the RCAs due (R-RCA-2), delivered on time, and late (delivered after their due
  instant, or not delivered and past it);
* the update targets ("next update due", R-INC-2) of the line's incidents that were
  decided: met on time (a communication by the due instant), late (met after it, or
  breached by the watcher, met since or not), and the share met on time (docs/decisions.md
  D151). A target still pending or paused is not decided yet and is not counted; one
  ended unmet by the mitigation or closure before its due instant was never owed and
  is not counted either (it was neither met nor missed).

Counts of the customer requests, RCAs and update targets are aggregated in SQL; the minutes are read
per incident as integer epoch seconds (``storage.portable_sql.epoch``) and the
business ones counted in batches per site calendar."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.services.reports.figures import MEDIAN, P90, minutes, month_starts, next_month, percentile, share
from unisupport.services.scope import scoped
from unisupport.sla.calendar import Calendar
from unisupport.sla.matrix import Coverage
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.portable_sql import epoch
from unisupport.storage.tables import (
    CommunicationRow,
    CustomerRow,
    IncidentRow,
    RcaRequestRow,
    SiteRow,
    UpdateTargetRow,
)

Key = tuple[int, str, str]  # customer id, severity, plan
Progress = Callable[[date], None]

COLUMNS = (
    "month",
    "customer",
    "customer_name",
    "severity",
    "plan",
    "incidents",
    "first_response_met",
    "first_response_breached",
    "first_response_met_percent",
    "first_response_breached_percent",
    "first_response_minutes_median",
    "first_response_minutes_p90",
    "mitigate_minutes_median",
    "mitigate_minutes_p90",
    "close_minutes_median",
    "close_minutes_p90",
    "customer_requests",
    "customer_misses",
    "rcas_due",
    "rcas_on_time",
    "rcas_late",
    "updates_met",
    "updates_late",
    "updates_met_percent",
)


@dataclass(frozen=True)
class Period:
    """The days reported on, both included (UTC)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(f"'to' ({self.last}) is before 'from' ({self.first})", field="to")
        if (self.last - self.first).days > 366 * 6:
            raise InvalidInput("a report covers at most six years", field="to")

    def months(self) -> list[tuple[date, datetime, datetime]]:
        """Each month with the instants it covers within the period."""
        out = []
        for start in month_starts(self.first, self.last):
            lo = max(start, self.first)
            hi = min(next_month(start), date.fromordinal(self.last.toordinal() + 1))
            out.append((start, datetime.combine(lo, time(), UTC), datetime.combine(hi, time(), UTC)))
        return out


@dataclass
class _Group:
    incidents: int = 0
    met: int = 0
    breached: int = 0
    response: list[int] = field(default_factory=list)
    mitigate: list[int] = field(default_factory=list)
    close: list[int] = field(default_factory=list)
    requests: int = 0
    misses: int = 0
    rcas_due: int = 0
    rcas_on_time: int = 0
    rcas_late: int = 0
    updates_met: int = 0
    updates_late: int = 0


@dataclass(frozen=True)
class SlaLine:
    month: date
    customer: str
    customer_name: str
    severity: str
    plan: str
    incidents: int
    first_response_met: int
    first_response_breached: int
    first_response_met_percent: Decimal | None
    first_response_breached_percent: Decimal | None
    first_response_minutes_median: Decimal | None
    first_response_minutes_p90: Decimal | None
    mitigate_minutes_median: Decimal | None
    mitigate_minutes_p90: Decimal | None
    close_minutes_median: Decimal | None
    close_minutes_p90: Decimal | None
    customer_requests: int
    customer_misses: int
    rcas_due: int
    rcas_on_time: int
    rcas_late: int
    updates_met: int
    updates_late: int
    updates_met_percent: Decimal | None

    def values(self) -> list[Any]:
        """In COLUMNS order, the month as ISO 8601 ``YYYY-MM``."""
        return [self.month.isoformat()[:7], *(getattr(self, c) for c in COLUMNS[1:])]

    def to_dict(self) -> dict[str, Any]:
        """JSON: decimals as strings (exact)."""
        return {c: str(v) if isinstance(v, Decimal) else v for c, v in zip(COLUMNS, self.values(), strict=True)}


def customer_id_of(session: Session, principal: Principal, code: str | None) -> int | None:
    """The id of the customer ``code`` within the caller's scope (NotFound otherwise)."""
    if code is None:
        return None
    found = session.scalar(scoped(select(CustomerRow.id).where(CustomerRow.code == code), CustomerRow.id, principal))
    if found is None:
        raise NotFound(f"no customer {code!r}", field="customer")
    return found


def _incidents_in(query: Select, lo: datetime, hi: datetime, principal: Principal, customer: int | None) -> Select:
    query = query.where(IncidentRow.opened_at >= lo, IncidentRow.opened_at < hi)
    if customer is not None:
        query = query.where(IncidentRow.customer_id == customer)
    return scoped(query, IncidentRow.customer_id, principal)


GROUP = (IncidentRow.customer_id, IncidentRow.severity, IncidentRow.plan)


def _read_incidents(
    session: Session, groups: dict[Key, _Group], lo: datetime, hi: datetime, principal: Principal, customer: int | None
) -> None:
    i = IncidentRow
    started = epoch(i.target_started_at)
    responded = epoch(i.first_response_at)
    opened = epoch(i.opened_at)
    met = case((i.first_response_at <= i.first_response_due, 1), else_=0)
    breached = case((i.breached_at.is_not(None), 1), (i.first_response_at > i.first_response_due, 1), else_=0)
    rows = session.execute(
        _incidents_in(
            select(
                *GROUP,
                i.coverage,
                i.site_id,
                met,
                breached,
                started,
                responded,
                epoch(i.mitigated_at) - opened,
                epoch(i.closed_at) - opened,
            ),
            lo,
            hi,
            principal,
            customer,
        )
    ).all()
    business: dict[int, list[tuple[_Group, int, int]]] = defaultdict(list)
    for cid, sev, plan, coverage, site, m, b, start, response, mitigate, close in rows:
        g = groups[(cid, sev, plan)]
        g.incidents += 1
        g.met += m
        g.breached += 1 if b and not m else 0
        if response is not None:
            if coverage == Coverage.BUSINESS_HOURS:
                business[site].append((g, start, response))
            else:
                g.response.append(response - start)
        if mitigate is not None:
            g.mitigate.append(mitigate)
        if close is not None:
            g.close.append(close)
    _count_business(session, business)


def _count_business(session: Session, business: dict[int, list[tuple[_Group, int, int]]]) -> None:
    """The business seconds to each first response, in one batch per calendar (sites
    with the same calendar definition share one: ``sla.site_calendar``)."""
    if not business:
        return
    by_calendar: dict[int, tuple[Calendar, list[tuple[_Group, int, int]]]] = {}
    for site in session.execute(
        select(SiteRow.id, SiteRow.country, SiteRow.timezone, SiteRow.calendar).where(SiteRow.id.in_(business))
    ):
        calendar = site_calendar(site)
        by_calendar.setdefault(id(calendar), (calendar, []))[1].extend(business[site.id])
    for calendar, pending in by_calendar.values():
        seconds = calendar.business_seconds_between_batch(
            np.fromiter((p[1] for p in pending), np.int64, len(pending)),
            np.fromiter((p[2] for p in pending), np.int64, len(pending)),
        )
        for (g, _, _), s in zip(pending, seconds.tolist(), strict=True):
            g.response.append(s)


def _read_requests(
    session: Session, groups: dict[Key, _Group], lo: datetime, hi: datetime, principal: Principal, customer: int | None
) -> None:
    c = CommunicationRow
    query = (
        select(*GROUP, func.count(), func.sum(case((c.missed_at.is_not(None), 1), else_=0)))
        .join(IncidentRow, IncidentRow.id == c.incident_id)
        .where(c.requests_customer_action.is_(True))
        .group_by(*GROUP)
    )
    for cid, sev, plan, asked, missed in session.execute(_incidents_in(query, lo, hi, principal, customer)):
        g = groups[(cid, sev, plan)]
        g.requests += asked
        g.misses += missed or 0


def _read_rcas(
    session: Session,
    groups: dict[Key, _Group],
    lo: datetime,
    hi: datetime,
    principal: Principal,
    customer: int | None,
    now: datetime,
) -> None:
    r = RcaRequestRow
    on_time = and_(r.delivered_at.is_not(None), r.delivered_at <= r.due_at)
    late = case(
        (on_time, 0),
        (r.delivered_at.is_not(None), 1),
        (r.due_at < literal(now, IncidentRow.opened_at.type), 1),
        else_=0,
    )
    query = (
        select(*GROUP, func.count(), func.sum(case((on_time, 1), else_=0)), func.sum(late))
        .join(IncidentRow, IncidentRow.id == r.incident_id)
        .where(r.due_at.is_not(None))
        .group_by(*GROUP)
    )
    for cid, sev, plan, due, in_time, overdue in session.execute(_incidents_in(query, lo, hi, principal, customer)):
        g = groups[(cid, sev, plan)]
        g.rcas_due += due
        g.rcas_on_time += in_time or 0
        g.rcas_late += overdue or 0


def _read_updates(
    session: Session, groups: dict[Key, _Group], lo: datetime, hi: datetime, principal: Principal, customer: int | None
) -> None:
    """The decided update targets of the groups' incidents (see the module): late when
    breached or met after the due instant (``met_late``), met on time otherwise."""
    u = UpdateTargetRow
    late = or_(u.breached_at.is_not(None), and_(u.met_at.is_not(None), u.met_late.is_(True)))
    on_time = and_(u.met_at.is_not(None), u.breached_at.is_(None), u.met_late.is_not(True))
    query = (
        select(*GROUP, func.sum(case((on_time, 1), else_=0)), func.sum(case((late, 1), else_=0)))
        .join(IncidentRow, IncidentRow.id == u.incident_id)
        .where(or_(u.met_at.is_not(None), u.breached_at.is_not(None)))
        .group_by(*GROUP)
    )
    for cid, sev, plan, met, overdue in session.execute(_incidents_in(query, lo, hi, principal, customer)):
        g = groups[(cid, sev, plan)]
        g.updates_met += met or 0
        g.updates_late += overdue or 0


def _line(month: date, customer: CustomerRow, sev: str, plan: str, g: _Group) -> SlaLine:
    def stat(values: list[int], q: Fraction) -> Decimal | None:
        return minutes(percentile(values, q))

    decided = g.met + g.breached
    return SlaLine(
        month=month,
        customer=customer.code,
        customer_name=customer.name,
        severity=sev,
        plan=plan,
        incidents=g.incidents,
        first_response_met=g.met,
        first_response_breached=g.breached,
        first_response_met_percent=share(g.met, decided),
        first_response_breached_percent=share(g.breached, decided),
        first_response_minutes_median=stat(g.response, MEDIAN),
        first_response_minutes_p90=stat(g.response, P90),
        mitigate_minutes_median=stat(g.mitigate, MEDIAN),
        mitigate_minutes_p90=stat(g.mitigate, P90),
        close_minutes_median=stat(g.close, MEDIAN),
        close_minutes_p90=stat(g.close, P90),
        customer_requests=g.requests,
        customer_misses=g.misses,
        rcas_due=g.rcas_due,
        rcas_on_time=g.rcas_on_time,
        rcas_late=g.rcas_late,
        updates_met=g.updates_met,
        updates_late=g.updates_late,
        updates_met_percent=share(g.updates_met, g.updates_met + g.updates_late),
    )


SEVERITY_ORDER = {"1": 0, "A": 1, "B": 2, "C": 3}


def sla_report(
    session: Session,
    principal: Principal,
    period: Period,
    *,
    now: datetime,
    customer: str | None = None,
    progress: Progress | None = None,
) -> list[SlaLine]:
    """The report's lines, month by month, then by customer code, severity and plan;
    ``progress`` is told each month once it is read (the CLI's progress bar)."""
    cid = customer_id_of(session, principal, customer)
    lines: list[SlaLine] = []
    for month, lo, hi in period.months():
        groups: dict[Key, _Group] = defaultdict(_Group)
        _read_incidents(session, groups, lo, hi, principal, cid)
        if groups:
            _read_requests(session, groups, lo, hi, principal, cid)
            _read_rcas(session, groups, lo, hi, principal, cid, now)
            _read_updates(session, groups, lo, hi, principal, cid)
        lines.extend(_lines(session, month, groups))
        if progress is not None:
            progress(month)
    return lines


def _lines(session: Session, month: date, groups: dict[Key, _Group]) -> Iterable[SlaLine]:
    if not groups:
        return []
    customers = {
        c.id: c for c in session.scalars(select(CustomerRow).where(CustomerRow.id.in_({k[0] for k in groups})))
    }
    made = [_line(month, customers[cid], sev, plan, g) for (cid, sev, plan), g in groups.items()]
    return sorted(made, key=lambda x: (x.customer, SEVERITY_ORDER.get(x.severity, 9), x.severity, x.plan))
