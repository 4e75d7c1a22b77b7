"""The update clock: when the next status update to the customer is due ("next update
due", R-INC-2 in docs/rules.md; docs/decisions.md D94–D96).

A target starts at a communication to the customer (the first response, then each
update), counts ``minutes`` on its own calendar — wall-clock minutes for a 24x7
figure, the site's business minutes for a business-hours one, like the first
response (R-SEV-4) — and does not count while the incident awaits the customer
(the pauses). Each plan that applies to the incident may give a figure per severity
in the severity matrix (``updates``); the earliest due instant wins, ties to the plan
listed first, as for the first response (R-SLA-1). Pure: the calendar is given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.matrix import BASE, Coverage, SeverityMatrix, UpdateRow
from unisupport.sla.severity import Severity


@dataclass(frozen=True)
class Pause:
    """A span the clock did not count: ``end`` None while it lasts."""

    start: datetime
    end: datetime | None = None


def _utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def counted_seconds(calendar: Calendar, coverage: Coverage, a: datetime, b: datetime) -> int:
    """The seconds the clock counts from ``a`` to ``b`` (0 when ``b`` is not after ``a``)."""
    ta, tb = epoch_seconds(a), epoch_seconds(b)
    if tb <= ta:
        return 0
    if coverage is Coverage.BUSINESS_HOURS:
        return calendar.business_seconds_between(_utc(ta), _utc(tb))
    return tb - ta


def _add(calendar: Calendar, coverage: Coverage, start: datetime, seconds: int) -> datetime:
    if coverage is Coverage.BUSINESS_HOURS:
        return calendar.add_business_seconds(start, seconds).astimezone(UTC)
    return _utc(epoch_seconds(start) + seconds)


def _spans(start: datetime, pauses: Iterable[Pause]) -> list[tuple[int, int | None]]:
    """The pauses after ``start``, sorted and merged, as epoch seconds."""
    t0 = epoch_seconds(start)
    spans: list[tuple[int, int | None]] = []
    for p in sorted(pauses, key=lambda p: epoch_seconds(p.start)):
        a = max(epoch_seconds(p.start), t0)
        b = None if p.end is None else epoch_seconds(p.end)
        if b is not None and b <= a:
            continue
        if spans and (spans[-1][1] is None or spans[-1][1] >= a):
            last_a, last_b = spans[-1]
            spans[-1] = (last_a, None if b is None or last_b is None else max(last_b, b))
        else:
            spans.append((a, b))
    return spans


def due_after(
    calendar: Calendar, coverage: Coverage, start: datetime, seconds: int, pauses: Iterable[Pause] = ()
) -> datetime | None:
    """The instant ``seconds`` of counted time have run since ``start``, the pauses not
    counted; None while a pause that began before then still lasts."""
    remaining, t = seconds, start
    for a, b in _spans(start, pauses):
        run = counted_seconds(calendar, coverage, t, _utc(a))
        if run >= remaining:
            break
        remaining -= run
        if b is None:
            return None
        t = _utc(max(b, epoch_seconds(t)))
    return _add(calendar, coverage, t, remaining)


def paused_seconds(
    calendar: Calendar, coverage: Coverage, start: datetime, pauses: Iterable[Pause], until: datetime
) -> int:
    """The counted seconds the pauses took out between ``start`` and ``until``."""
    end = epoch_seconds(until)
    total = 0
    for a, b in _spans(start, pauses):
        stop = end if b is None else min(b, end)
        total += counted_seconds(calendar, coverage, _utc(a), _utc(stop))
    return total


@dataclass(frozen=True)
class Candidate:
    plan: str
    row: UpdateRow | None  # None: the plan gives no update target at this severity
    own: bool  # the plan's own figure (False: it names none, the Base Package's applies)
    due: datetime | None

    def to_dict(self) -> dict[str, Any]:
        if self.row is None:
            reason = "no update target at this severity" if self.own else "names no update target: not considered"
            reason_fr = (
                "pas d'objectif de mise à jour à cette gravité"
                if self.own
                else "ne fixe pas d'objectif de mise à jour : non retenu"
            )
            return {"plan": self.plan, "minutes": None, "coverage": None, "reason": reason, "reason_fr": reason_fr}
        return {
            "plan": self.plan,
            "minutes": self.row.minutes,
            "coverage": self.row.coverage.value,
            "due": None if self.due is None else self.due.isoformat(),
            "reason": f"an update every {self.row.minutes} minutes, {self.row.coverage.describe('en')}",
            "reason_fr": f"une mise à jour toutes les {self.row.minutes} minutes, {self.row.coverage.describe('fr')}",
        }


@dataclass(frozen=True)
class UpdateTarget:
    """The governing figure, its due and warning instants, and every plan considered."""

    plan: str
    minutes: int
    coverage: Coverage
    due: datetime | None
    warn_at: datetime | None
    considered: tuple[Candidate, ...]


def candidates(matrix: SeverityMatrix, plans: Sequence[str], severity: Severity) -> list[Candidate]:
    """Each applicable plan's update figure at ``severity`` (due not worked out yet)."""
    out = []
    for code in sorted(set(plans) | {BASE}, key=matrix.precedence):
        plan = matrix.plans[code]
        if severity in plan.updates:
            row = plan.updates[severity]
            out.append(Candidate(code, row, True, None))
        else:
            out.append(Candidate(code, None, False, None))
    return out


def choose(
    matrix: SeverityMatrix,
    plans: Sequence[str],
    severity: Severity,
    *,
    calendar: Calendar,
    start: datetime,
    pauses: Sequence[Pause] = (),
    warn_share: float = 0.75,
) -> UpdateTarget | None:
    """The update target of an incident held under ``plans`` (those that apply to it),
    started at ``start``: the earliest due wins, ties to file precedence; None when no
    plan gives a figure at this severity. While a pause lasts, ``due`` is None."""
    considered = []
    for c in candidates(matrix, plans, severity):
        if c.row is None:
            considered.append(c)
            continue
        due = due_after(calendar, c.row.coverage, start, c.row.minutes * 60, pauses)
        considered.append(Candidate(c.plan, c.row, c.own, due))
    figures = [c for c in considered if c.row is not None]
    if not figures:
        return None
    # Shortest due; while paused (due None) the shortest counted figure. Ties: precedence.
    best = min(
        figures,
        key=lambda c: (
            epoch_seconds(c.due) if c.due is not None else 0,
            c.row.minutes if c.row else 0,
            matrix.precedence(c.plan),
        ),
    )
    row = best.row
    assert row is not None
    warn = due_after(calendar, row.coverage, start, round(row.minutes * 60 * warn_share), pauses)
    return UpdateTarget(best.plan, row.minutes, row.coverage, best.due, warn, tuple(considered))
