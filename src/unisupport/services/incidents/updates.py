"""An incident's update targets, stored ("next update due", R-INC-2; sla.update_clock;
docs/decisions.md D94–D97).

* A communication to the customer (a public reply, a logged call: outbound, never an
  internal note nor the automatic acknowledgement) meets the pending target — on time
  or late — and starts the next one (:func:`communicated`). The first response starts
  the first.
* Awaiting the customer pauses the pending target (:func:`pause`); the customer's
  answer resumes it (:func:`resume`), the paused time counted on the target's own
  calendar. The first-response clock never pauses.
* Mitigation and closure end the pending target (:func:`end`).
* A severity change, an order amendment, an edited site calendar recompute the pending
  target from its recorded start and pauses (:func:`recalculate`); met and breached
  targets never change.

Each step is an event on the incident's timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.errors import UnisupportError
from unisupport.incidents.settings import DEFAULT_SETTINGS, IncidentSettings
from unisupport.incidents.state import State
from unisupport.services.incidents.changes import add_event, calendar_of
from unisupport.services.incidents.targets import holdings
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.first_response_due import explain
from unisupport.sla.matrix import Coverage, default_matrix
from unisupport.sla.severity import Severity
from unisupport.sla.story import business_time_days
from unisupport.sla.update_clock import Pause, UpdateTarget, choose, due_after, paused_seconds
from unisupport.storage.tables import IncidentRow, OrderRow, UpdateTargetRow

RULE = "R-INC-2"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _pauses(row: UpdateTargetRow) -> list[Pause]:
    return [
        Pause(datetime.fromisoformat(a), None if b is None else datetime.fromisoformat(b)) for a, b in row.pauses or []
    ]


def plans_applying(session: Session, incident: IncidentRow, at: datetime, calendar: Calendar) -> list[str]:
    """The plans that apply to the incident with the order as it stands for ``at`` (an
    amendment that adds or ends a plan counts from then: R-ORD-2)."""
    order = session.get(OrderRow, incident.order_id)
    try:
        explanation = explain(
            severity=incident.severity,
            product=incident.product,
            opened=incident.opened_at,
            calendar=calendar,
            plans=holdings(session, order, at, calendar=calendar),  # type: ignore[arg-type]
            description=" ".join(x for x in (incident.title, incident.description or "") if x),
            tenant=incident.tenant,
            language=incident.language,
        )
        considered = [c.to_dict() for c in explanation.considered]
    except UnisupportError:  # the order as it stands refuses the incident: its opening's plans
        considered = incident.explanation.get("considered", [])
    return [c["plan"] for c in considered if c["applies"]]


def _explanation(target: UpdateTarget, incident: IncidentRow, calendar: Calendar, plans: list[str]) -> dict[str, Any]:
    matrix = default_matrix()
    plan = matrix.plans[target.plan]
    return {
        "plan": target.plan,
        "plan_name": {"en": plan.name("en"), "fr": plan.name("fr")},
        "severity": incident.severity,
        "target_minutes": target.minutes,
        "coverage": target.coverage.value,
        "plans_applying": plans,
        "considered": [c.to_dict() for c in target.considered],
        "site": {
            "country": calendar.country,
            "timezone": calendar.timezone,
            "subdivision": calendar.subdivision,
            "calendar": calendar.description,
        },
        "matrix": matrix.version,
        "reason": (
            f"{plan.name('en')}, severity {incident.severity}: an update every {target.minutes} minutes, "
            f"{target.coverage.describe('en')}; the earliest due instant of the plans that apply governs (R-INC-2)"
        ),
    }


def _apply(row: UpdateTargetRow, target: UpdateTarget, explanation: dict[str, Any]) -> None:
    row.plan, row.target_minutes, row.coverage = target.plan, target.minutes, target.coverage.value
    row.due_at, row.warn_at, row.explanation = target.due, target.warn_at, explanation


def open_target(session: Session, incident: IncidentRow) -> UpdateTargetRow | None:
    """The target still waiting for its update (pending, or breached and not yet met)."""
    return session.scalar(
        select(UpdateTargetRow)
        .where(
            UpdateTargetRow.incident_id == incident.id,
            UpdateTargetRow.met_at.is_(None),
            UpdateTargetRow.ended_at.is_(None),
        )
        .order_by(UpdateTargetRow.seq.desc())
        .limit(1)
    )


def targets_of(session: Session, incident_id: int) -> list[UpdateTargetRow]:
    return list(
        session.scalars(
            select(UpdateTargetRow).where(UpdateTargetRow.incident_id == incident_id).order_by(UpdateTargetRow.seq)
        )
    )


def start(
    session: Session,
    incident: IncidentRow,
    at: datetime,
    *,
    actor: str,
    reason: str,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> UpdateTargetRow | None:
    """The next update target, from ``at`` (paused at once while awaiting the customer);
    None when no plan gives one at this severity (Sev C by default)."""
    calendar = calendar_of(session, incident)
    plans = plans_applying(session, incident, at, calendar)
    paused = incident.state == State.AWAITING_CUSTOMER.value
    pauses = [Pause(at)] if paused else []
    target = choose(
        default_matrix(),
        plans,
        Severity(incident.severity),
        calendar=calendar,
        start=at,
        pauses=pauses,
        warn_share=settings.warn_share,
    )
    if target is None:
        return None
    seq = (
        session.scalar(select(func.max(UpdateTargetRow.seq)).where(UpdateTargetRow.incident_id == incident.id)) or 0
    ) + 1
    row = UpdateTargetRow(
        customer_id=incident.customer_id,
        incident_id=incident.id,
        seq=seq,
        severity=incident.severity,
        started_at=at,
        paused_since=at if paused else None,
        pauses=[[_iso(at), None]] if paused else [],
        paused_seconds=0,
    )
    _apply(row, target, _explanation(target, incident, calendar, plans))
    session.add(row)
    add_event(
        session,
        incident,
        kind="update-target-started",
        actor=actor,
        at=at,
        after={
            "target": seq,
            "due": _iso(row.due_at),
            "plan": row.plan,
            "target_minutes": row.target_minutes,
            "coverage": row.coverage,
            "paused": paused,
        },
        reason=f"{reason}: {row.explanation['reason']}",
        rule=RULE,
    )
    session.flush()
    return row


def communicated(
    session: Session,
    incident: IncidentRow,
    at: datetime,
    *,
    actor: str,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> None:
    """A communication to the customer at ``at``: it meets the open target (on time, or
    late after its due instant) and starts the next."""
    row = open_target(session, incident)
    if row is not None:
        if epoch_seconds(at) < epoch_seconds(row.started_at):
            return  # logged after the fact, before the target it would meet began
        if row.paused_since is not None:
            _close_pause(row, at, calendar_of(session, incident))
        late = row.breached_at is not None or (row.due_at is not None and epoch_seconds(at) > epoch_seconds(row.due_at))
        row.met_at, row.met_late = at, late
        add_event(
            session,
            incident,
            kind="update-given",
            actor=actor,
            at=at,
            after={"target": row.seq, "due": _iso(row.due_at), "met_at": _iso(at), "late": late},
            reason="a communication to the customer " + ("after the update was due" if late else "in time"),
            rule=RULE,
        )
    start(session, incident, at, actor=actor, reason="a communication to the customer", settings=settings)


def _close_pause(row: UpdateTargetRow, at: datetime, calendar: Calendar) -> None:
    pauses = [list(p) for p in row.pauses or []]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = _iso(at)
    row.pauses, row.paused_since = pauses, None
    row.paused_seconds = paused_seconds(calendar, Coverage(row.coverage), row.started_at, _pauses(row), at)


def _due(row: UpdateTargetRow, calendar: Calendar, settings: IncidentSettings) -> tuple[datetime | None, ...]:
    coverage, pauses = Coverage(row.coverage), _pauses(row)
    seconds = row.target_minutes * 60
    due = due_after(calendar, coverage, row.started_at, seconds, pauses)
    warn = due_after(calendar, coverage, row.started_at, round(seconds * settings.warn_share), pauses)
    return due, warn


def pause(session: Session, incident: IncidentRow, at: datetime, *, actor: str) -> None:
    """Awaiting the customer: the pending target stops counting at ``at``."""
    row = open_target(session, incident)
    if row is None or row.breached_at is not None or row.paused_since is not None:
        return
    before = _iso(row.due_at)
    row.pauses = [*[list(p) for p in row.pauses or []], [_iso(at), None]]
    row.paused_since, row.due_at, row.warn_at = at, None, None
    add_event(
        session,
        incident,
        kind="update-clock-paused",
        actor=actor,
        at=at,
        before={"due": before},
        after={"target": row.seq, "paused_since": _iso(at)},
        reason="awaiting the customer: the update clock pauses (the first-response clock never does)",
        rule=RULE,
    )


def resume(
    session: Session,
    incident: IncidentRow,
    at: datetime,
    *,
    actor: str,
    reason: str,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> None:
    """The wait for the customer is over: the paused target counts again from ``at``."""
    row = open_target(session, incident)
    if row is None or row.paused_since is None:
        return
    calendar = calendar_of(session, incident)
    since = row.paused_since
    _close_pause(row, at, calendar)
    row.due_at, row.warn_at = _due(row, calendar, settings)
    counted = paused_seconds(calendar, Coverage(row.coverage), row.started_at, [Pause(since, at)], at)
    add_event(
        session,
        incident,
        kind="update-clock-resumed",
        actor=actor,
        at=at,
        after={
            "target": row.seq,
            "paused_minutes": round(counted / 60, 2),
            "total_paused_minutes": round(row.paused_seconds / 60, 2),
            "due": _iso(row.due_at),
        },
        reason=f"{reason}: the update clock counts again",
        rule=RULE,
    )


def end(session: Session, incident: IncidentRow, at: datetime, *, actor: str, reason: str) -> None:
    """Mitigation or closure: the open target is ended, neither met nor breached (a
    breach already recorded stays)."""
    row = open_target(session, incident)
    if row is None:
        return
    if row.paused_since is not None:
        _close_pause(row, at, calendar_of(session, incident))
    row.ended_at, row.end_reason = at, reason[:200]
    add_event(
        session,
        incident,
        kind="update-target-ended",
        actor=actor,
        at=at,
        after={"target": row.seq, "due": _iso(row.due_at)},
        reason=reason,
        rule=RULE,
    )


def _figures(row: UpdateTargetRow) -> dict[str, Any]:
    return {
        "plan": row.plan,
        "target_minutes": row.target_minutes,
        "coverage": row.coverage,
        "due": _iso(row.due_at),
        "warn_at": _iso(row.warn_at),
    }


def recalculate(
    session: Session,
    incident: IncidentRow,
    at: datetime,
    *,
    actor: str,
    why: str,
    rule: str | None = None,
    settings: IncidentSettings = DEFAULT_SETTINGS,
) -> bool:
    """Recompute the pending target from its recorded start and pauses with the terms
    in force at ``at`` (severity, plans, site calendar); met and breached targets never
    change. An active incident answered already and without a target gets one when the
    new terms give a figure. True when something changed (each change an event)."""
    if incident.status != "open" or incident.first_response_at is None:
        return False
    row = open_target(session, incident)
    if row is None:
        return start(session, incident, at, actor=actor, reason=why, settings=settings) is not None
    if row.breached_at is not None:
        return False
    calendar = calendar_of(session, incident)
    plans = plans_applying(session, incident, at, calendar)
    target = choose(
        default_matrix(),
        plans,
        Severity(incident.severity),
        calendar=calendar,
        start=row.started_at,
        pauses=_pauses(row),
        warn_share=settings.warn_share,
    )
    if target is None:
        end(session, incident, at, actor=actor, reason=f"{why}: no update target at severity {incident.severity}")
        return True
    before = _figures(row)
    _apply(row, target, _explanation(target, incident, calendar, plans))
    row.severity = incident.severity
    if row.paused_since is None:
        row.paused_seconds = paused_seconds(calendar, target.coverage, row.started_at, _pauses(row), at)
    after = _figures(row)
    if after == before:
        return False
    add_event(
        session,
        incident,
        kind="update-target-recalculated",
        actor=actor,
        at=at,
        before=before,
        after={"target": row.seq, **after},
        reason=f"{why}: {row.explanation['reason']}",
        rule=rule or RULE,
    )
    return True


def after_order_amended(session: Session, order_id: int, *, now: datetime, actor: str, why: str) -> int:
    """An order amended (a plan added or ended): its open incidents' update targets are
    recalculated with the plans in force now; how many changed."""
    ids = session.scalars(
        select(IncidentRow.id).where(
            IncidentRow.order_id == order_id,
            IncidentRow.status == "open",
            IncidentRow.first_response_at.is_not(None),
        )
    ).all()
    return _recalculate_each(session, ids, now=now, why=why, actor=actor)


def recalculate_all(session: Session, *, now: datetime, why: str, actor: str = "system") -> int:
    """Every pending target of the open incidents (an edited site calendar or matrix):
    how many changed."""
    ids = session.scalars(
        select(UpdateTargetRow.incident_id)
        .where(
            UpdateTargetRow.met_at.is_(None),
            UpdateTargetRow.breached_at.is_(None),
            UpdateTargetRow.ended_at.is_(None),
        )
        .distinct()
    ).all()
    return _recalculate_each(session, ids, now=now, why=why, actor=actor)


def _recalculate_each(session: Session, ids, *, now: datetime, why: str, actor: str) -> int:
    changed = 0
    for incident_id in sorted(ids):
        incident = session.get_one(IncidentRow, incident_id, with_for_update=True)
        if recalculate(session, incident, now, actor=actor, why=why):
            incident.version += 1
            incident.updated_at = now
            changed += 1
    session.flush()
    return changed


def target_view(row: UpdateTargetRow, calendar: Calendar, *, now: datetime) -> dict[str, Any]:
    """An update target as the pages and the API show it, times in the site's zone:
    its figure, why (which plan, which calendar), its pauses and the day-by-day story
    of a business-hours target (R-SEV-4)."""

    def when(value: datetime | None) -> str | None:
        return None if value is None else calendar.localize(value).isoformat()

    if row.met_at is not None:
        outcome = "met_late" if row.met_late else "met"
    elif row.breached_at is not None:
        outcome = "breached"
    elif row.ended_at is not None:
        outcome = "ended"
    elif row.paused_since is not None:
        outcome = "paused"
    else:
        outcome = "pending"
    coverage = Coverage(row.coverage)
    pauses: list[dict[str, Any]] = []
    total = 0
    for p in _pauses(row):
        until = p.end or now
        counted = paused_seconds(calendar, coverage, row.started_at, [Pause(p.start, p.end)], until)
        total += counted
        pauses.append({"from": when(p.start), "to": when(p.end), "minutes": round(counted / 60, 2)})
    return {
        "seq": row.seq,
        "state": outcome,
        "plan": row.plan,
        "severity": row.severity,
        "target_minutes": row.target_minutes,
        "coverage": row.coverage,
        "started_at": when(row.started_at),
        "due": when(row.due_at),
        "warn_at": when(row.warn_at),
        "paused_since": when(row.paused_since),
        "pauses": pauses,
        "paused_minutes": round(total / 60, 2),
        "met_at": when(row.met_at),
        "warned_at": when(row.warned_at),
        "breached_at": when(row.breached_at),
        "ended_at": when(row.ended_at),
        "end_reason": row.end_reason,
        "explanation": row.explanation,
        "rule": RULE,
    }


def story_of(row: UpdateTargetRow, calendar: Calendar) -> list[dict[str, Any]]:
    """The day-by-day story of a business-hours target from its start to its due
    instant (none for a 24x7 one, nor while paused)."""
    if row.coverage != Coverage.BUSINESS_HOURS.value or row.due_at is None:
        return []
    return [
        {
            "day": d.day.isoformat(),
            "closed": d.closed,
            "holiday": d.holiday,
            "counted": [[a.isoformat(), b.isoformat()] for a, b in d.counted],
            "minutes": round(d.minutes, 2),
        }
        for d in business_time_days(calendar, row.started_at, row.due_at)
    ]


def targets_answer(session: Session, incident: IncidentRow, *, now: datetime) -> dict[str, Any]:
    """Every update target of the incident, oldest first, and the day-by-day story of
    the latest (``GET …/update-targets``)."""
    calendar = calendar_of(session, incident)
    rows = targets_of(session, incident.id)
    return {
        "items": [target_view(r, calendar, now=now) for r in rows],
        "story": story_of(rows[-1], calendar) if rows else [],
    }
