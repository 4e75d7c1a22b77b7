"""Azure Events, MCSAP onboarding milestones and monitoring scenarios, Service
Improvement Plans and success plans, stored (R-EVT-1/2, R-MCSAP-2..4, R-SUC-1/2).
The rules themselves live in ``mission_critical``; this module records and reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from unisupport.errors import InvalidInput, NotFound
from unisupport.ledger.entitlement import line_key
from unisupport.ledger.posting import EntryKind, Posting
from unisupport.mission_critical.azure_event import EventPlan, plan_event
from unisupport.mission_critical.mcsap_onboarding import check_monitoring_scenarios, onboarding_milestones
from unisupport.mission_critical.service_improvement_plan import check_new_plan
from unisupport.mission_critical.success_plan import SuccessPlan
from unisupport.orders.order_file import AzureEvent, OrderStatus
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.audit import record_event
from unisupport.storage.tables import (
    AzureEventRow,
    CustomerRow,
    MilestoneCompletionRow,
    MonitoringScenarioRow,
    OrderLineRow,
    OrderRow,
    ServiceImprovementPlanRow,
    SiteRow,
    SuccessPlanItemRow,
    SuccessPlanRow,
)


def _lines(session: Session, order: OrderRow, service: str) -> list[OrderLineRow]:
    return list(
        session.scalars(
            select(OrderLineRow)
            .where(
                OrderLineRow.order_id == order.id,
                OrderLineRow.customer_id == order.customer_id,
                OrderLineRow.service == service,
                OrderLineRow.active.is_(True),
            )
            .order_by(OrderLineRow.id)
        )
    )


# ------------------------------------------------------------------ Azure Events
def create_event(session: Session, order: OrderRow, event: AzureEvent, *, actor: str, now: datetime) -> AzureEventRow:
    """Record an Azure Events engagement paid by one unit of its line (R-EVT-2)."""
    if order.status != OrderStatus.ACTIVE.value:
        raise Refused(f"order {order.number} is {order.status}", rule="R-ORD-2", field="order")
    line = session.scalar(
        select(OrderLineRow).where(OrderLineRow.order_id == order.id, OrderLineRow.code == event.line)
    )
    if line is None or line.service != "mcs-azure-events":
        raise InvalidInput(
            f"line {event.line!r} is not an mcs-azure-events line of order {order.number}", field="line", rule="R-EVT-2"
        )
    existing = session.scalar(
        select(AzureEventRow).where(AzureEventRow.order_id == order.id, AzureEventRow.code == event.id)
    )
    if existing is not None:
        return existing
    site = session.get(SiteRow, line.site_id)
    plan = plan_event(event, timezone=site.timezone if site else "UTC")
    if not (order.term_start <= event.start and event.end <= order.term_end):
        raise Refused(
            f"the event ({event.start} to {event.end}) falls outside the order's term", rule="R-ORD-1", field="start"
        )
    row = AzureEventRow(
        customer_id=order.customer_id,
        order_id=order.id,
        line_id=line.id,
        code=event.id,
        solution=plan.solution,
        starts_on=plan.start,
        ends_on=plan.end,
        confirmed_on=event.confirmed_on,
        provider_consent=event.provider_consent,
        reduced_assessment=plan.reduced_pre_event_assessment,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    ledger.post(
        session,
        order,
        [
            Posting(
                line_key(line.code),
                EntryKind.CONSUME,
                Decimal(-1),
                f"Azure event {event.id}: {plan.solution}, {plan.start} to {plan.end}",
                "R-EVT-2",
                now.date(),
                f"event:{order.id}:{event.id}",
            )
        ],
        actor=actor,
        at=now,
    )
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="azure_event",
        subject_id=row.id,
        tag="event:create",
        actor=actor,
        at=now,
        after=event_dict(row, plan),
        rule="R-EVT-2",
        reason="late confirmation accepted by the provider: reduced pre-event assessment"
        if plan.reduced_pre_event_assessment
        else None,
    )
    return row


def event_plan(session: Session, row: AzureEventRow) -> EventPlan:
    line = session.get(OrderLineRow, row.line_id)
    site = session.get(SiteRow, line.site_id) if line else None
    return _plan(row, line.code if line else None, site.timezone if site else None)


# Opening an incident runs this query: built once, with bound parameters (building it
# and its cache key cost more than running it).
_EVENTS = (
    select(AzureEventRow, OrderLineRow.code, SiteRow.timezone)
    .outerjoin(OrderLineRow, OrderLineRow.id == AzureEventRow.line_id)
    .outerjoin(SiteRow, SiteRow.id == OrderLineRow.site_id)
    .where(AzureEventRow.order_id == bindparam("order_id"), AzureEventRow.customer_id == bindparam("customer_id"))
    .order_by(AzureEventRow.starts_on)
)
_EVENTS_AROUND = _EVENTS.where(
    AzureEventRow.starts_on <= bindparam("last_start"), AzureEventRow.ends_on >= bindparam("first_end")
)


def event_plans(session: Session, order: OrderRow, *, around: datetime | None = None) -> list[EventPlan]:
    """The plans of the events of ``order``, by start, in one query; with ``around``,
    only those whose dates are within a day of it (the ones whose window, local days
    in the site's zone, may contain that instant)."""
    parameters: dict[str, Any] = {"order_id": order.id, "customer_id": order.customer_id}
    query = _EVENTS
    if around is not None:
        day = around.astimezone(UTC).date()
        query, parameters = (
            _EVENTS_AROUND,
            parameters | {"last_start": day + timedelta(days=1), "first_end": day - timedelta(days=1)},
        )
    return [_plan(row, line_code, timezone) for row, line_code, timezone in session.execute(query, parameters)]


def _plan(row: AzureEventRow, line_code: str | None, timezone: str | None) -> EventPlan:
    event = AzureEvent(
        id=row.code,
        line=line_code or "",
        solution=row.solution,
        start=row.starts_on,
        end=row.ends_on,
        confirmed_on=row.confirmed_on,
        provider_consent=row.provider_consent,
    )
    return plan_event(event, timezone=timezone or "UTC")


def events(session: Session, order: OrderRow) -> list[AzureEventRow]:
    return list(
        session.scalars(
            select(AzureEventRow)
            .where(AzureEventRow.order_id == order.id, AzureEventRow.customer_id == order.customer_id)
            .order_by(AzureEventRow.starts_on)
        )
    )


def event_dict(row: AzureEventRow, plan: EventPlan | None = None) -> dict[str, Any]:
    out = {
        "id": row.code,
        "solution": row.solution,
        "start": row.starts_on.isoformat(),
        "end": row.ends_on.isoformat(),
        "confirmed_on": row.confirmed_on.isoformat(),
        "provider_consent": row.provider_consent,
        "reduced_pre_event_assessment": row.reduced_assessment,
    }
    if plan is not None:
        out.update(
            {
                "window_start": plan.window_start.isoformat(),
                "window_end": plan.window_end.isoformat(),
                "days": plan.days,
                "notice_days": plan.notice_days,
                "language": plan.language,
            }
        )
    return out


# ------------------------------------------------------------------ MCSAP
def _mcsap(session: Session, order: OrderRow) -> bool:
    """Whether the order holds MCSAP Plus (True), MCSAP (False); refuse otherwise."""
    if _lines(session, order, "mcsap-plus"):
        return True
    if _lines(session, order, "mcsap"):
        return False
    raise Refused(f"order {order.number} holds no MCSAP", rule="R-MCSAP-2", field="order")


@dataclass(frozen=True)
class MilestoneView:
    code: str
    en: str
    fr: str
    due: date
    rule: str
    status: str
    completed_on: date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "en": self.en,
            "fr": self.fr,
            "due": self.due.isoformat(),
            "rule": self.rule,
            "status": self.status,
            "completed_on": self.completed_on.isoformat() if self.completed_on else None,
        }


def milestones(session: Session, order: OrderRow, *, as_of: date) -> list[MilestoneView]:
    """MCSAP onboarding milestones from the execution date, with their status (R-MCSAP-2/3)."""
    plus = _mcsap(session, order)
    if order.executed_on is None:
        raise Refused(f"order {order.number} is not executed yet", rule="R-MCSAP-2", field="order")
    done = {
        m.milestone: m.completed_on
        for m in session.scalars(select(MilestoneCompletionRow).where(MilestoneCompletionRow.order_id == order.id))
    }
    return [
        MilestoneView(m.code, m.en, m.fr, m.due, m.rule, m.status(as_of, done.get(m.code)).value, done.get(m.code))
        for m in onboarding_milestones(order.executed_on, plus=plus)
    ]


def complete_milestone(
    session: Session, order: OrderRow, code: str, *, completed_on: date, actor: str, now: datetime
) -> None:
    plus = _mcsap(session, order)
    known = {m.code for m in onboarding_milestones(order.executed_on or order.term_start, plus=plus)}
    if code not in known:
        raise InvalidInput(f"unknown milestone {code!r} (known: {', '.join(sorted(known))})", field="milestone")
    if completed_on > now.date():
        raise InvalidInput("a milestone cannot be completed in the future", field="completed_on")
    done = session.scalar(
        select(MilestoneCompletionRow).where(
            MilestoneCompletionRow.order_id == order.id, MilestoneCompletionRow.milestone == code
        )
    )
    if done is not None:
        raise Refused(
            f"milestone {code} was completed on {done.completed_on.isoformat()} already",
            rule="R-MCSAP-2",
            field="milestone",
        )
    session.add(
        MilestoneCompletionRow(
            customer_id=order.customer_id,
            order_id=order.id,
            milestone=code,
            completed_on=completed_on,
            actor=actor,
            at=now,
        )
    )
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="order",
        subject_id=order.id,
        tag="mcsap:milestone",
        actor=actor,
        at=now,
        after={"milestone": code, "completed_on": completed_on.isoformat()},
        rule="R-MCSAP-2",
    )
    session.flush()


def add_monitoring_scenario(
    session: Session, order: OrderRow, name: str, *, defined_on: date, actor: str, now: datetime
) -> MonitoringScenarioRow:
    plus = _mcsap(session, order)
    names = [
        s.name for s in session.scalars(select(MonitoringScenarioRow).where(MonitoringScenarioRow.order_id == order.id))
    ]
    check_monitoring_scenarios([*names, name], plus=plus)  # R-MCSAP-3: Plus only, at most 7
    row = MonitoringScenarioRow(
        customer_id=order.customer_id, order_id=order.id, name=name.strip(), defined_on=defined_on, actor=actor
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="order",
        subject_id=order.id,
        tag="mcsap:scenario",
        actor=actor,
        at=now,
        after={"scenario": row.name},
        rule="R-MCSAP-3",
    )
    return row


def add_service_improvement_plan(
    session: Session, order: OrderRow, title: str, *, starts_on: date, actor: str, now: datetime
) -> ServiceImprovementPlanRow:
    _mcsap(session, order)
    existing = [
        p.starts_on
        for p in session.scalars(
            select(ServiceImprovementPlanRow).where(ServiceImprovementPlanRow.order_id == order.id)
        )
    ]
    check_new_plan(existing, starts_on)  # R-MCSAP-4
    row = ServiceImprovementPlanRow(
        customer_id=order.customer_id, order_id=order.id, title=title, starts_on=starts_on, actor=actor
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="order",
        subject_id=order.id,
        tag="mcsap:sip",
        actor=actor,
        at=now,
        after={"title": title, "starts_on": starts_on.isoformat()},
        rule="R-MCSAP-4",
    )
    return row


# ------------------------------------------------------------------ success plans
def create_success_plan(
    session: Session,
    *,
    customer_code: str,
    owner: str,
    title: str,
    items: list[dict[str, Any]],
    actor: str,
    now: datetime,
    order_number: str | None = None,
) -> SuccessPlanRow:
    """A CSAM's success plan for a customer, by area and activity (R-SUC-2)."""
    customer = session.scalar(select(CustomerRow).where(CustomerRow.code == customer_code))
    if customer is None:
        raise NotFound(f"no customer {customer_code!r}", field="customer")
    plan = SuccessPlan.of(owner=owner, customer=customer_code, items=items)
    order_id = None
    if order_number:
        order_id = session.scalar(
            select(OrderRow.id).where(OrderRow.number == order_number, OrderRow.customer_id == customer.id)
        )
        if order_id is None:
            raise NotFound(f"no order {order_number!r} for customer {customer_code!r}", field="order")
    row = SuccessPlanRow(customer_id=customer.id, order_id=order_id, owner=owner, title=title, created_at=now)
    session.add(row)
    session.flush()
    for item in plan.items:
        session.add(
            SuccessPlanItemRow(
                customer_id=customer.id,
                plan_id=row.id,
                area=item.area,
                activity=item.activity,
                status=item.status.value,
                due_on=item.due,
                notes=item.notes or None,
            )
        )
    record_event(
        session,
        customer_id=customer.id,
        subject_type="success_plan",
        subject_id=row.id,
        tag="success:create",
        actor=actor,
        at=now,
        after={"owner": owner, "title": title, "items": len(plan.items)},
        rule="R-SUC-2",
    )
    session.flush()
    return row


def success_plans(session: Session, *, customer_id: int) -> list[tuple[SuccessPlanRow, list[SuccessPlanItemRow]]]:
    plans = session.scalars(
        select(SuccessPlanRow).where(SuccessPlanRow.customer_id == customer_id).order_by(SuccessPlanRow.id)
    ).all()
    return [
        (
            p,
            list(
                session.scalars(
                    select(SuccessPlanItemRow)
                    .where(SuccessPlanItemRow.plan_id == p.id, SuccessPlanItemRow.customer_id == customer_id)
                    .order_by(SuccessPlanItemRow.id)
                )
            ),
        )
        for p in plans
    ]
