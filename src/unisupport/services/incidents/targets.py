"""What first-response target an incident gets (R-SLA-1..3): the plans its order holds,
with their scopes, and the instants the clocks warn and run out."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from unisupport.services.mission_critical import event_plans
from unisupport.services.orders import current_document
from unisupport.sla.calendar import Calendar, epoch_seconds
from unisupport.sla.first_response_due import Holding
from unisupport.sla.matrix import Coverage, Scope, default_matrix
from unisupport.storage.tables import OrderLineRow, OrderRow


def term_covers(order: OrderRow, day: date) -> bool:
    """Whether ``day`` lies within the order's term, both days included (R-ORD-2)."""
    return order.term_start <= day <= order.term_end


def _in_force(day: date, start: str | None, end: str | None, *, order: OrderRow) -> bool:
    first = date.fromisoformat(str(start)) if start else order.term_start
    last = date.fromisoformat(str(end)) if end else order.term_end
    return term_covers(order, day) and first <= day <= last


def minutes_after(at: datetime, minutes: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds(at) + round(minutes * 60), UTC)


def warn_at(calendar: Calendar, start: datetime, minutes: int, coverage: Coverage, share: float) -> datetime:
    if coverage is Coverage.BUSINESS_HOURS:
        return calendar.add_business_seconds(start, round(minutes * 60 * share))
    return minutes_after(start, minutes * share)


# The lines an order holds among the given plans; built once, like _OPENING.
_LINES = select(OrderLineRow.code, OrderLineRow.service).where(
    OrderLineRow.order_id == bindparam("order_id"),
    OrderLineRow.active.is_(True),
    OrderLineRow.service.in_(bindparam("plans", expanding=True)),
)


def holdings(
    session: Session, order: OrderRow, opened_at: datetime, *, calendar: Calendar, document: dict | None = None
) -> list[Holding]:
    """The plans an order holds for an incident opened at ``opened_at``: those of its
    lines in force on that day in the site's ``calendar`` (a line's ``start`` and
    ``end``, both days included, else the order's term: R-ORD-2), with the scopes its
    current version names (ARR components, MCSAP enrolled products, Security Plus
    tenants) and the Azure event in progress, if any. ``document``: the order's current
    version, when the caller read it already."""
    matrix = default_matrix()
    if document is None:
        document = current_document(session, order)
    day = calendar.localize(opened_at).date()
    dates = {line.get("id"): (line.get("start"), line.get("end")) for line in document.get("lines") or ()}
    services = {
        service
        for code, service in session.execute(_LINES, {"order_id": order.id, "plans": list(matrix.plans)})
        if _in_force(day, *dates.get(code, (None, None)), order=order)
    }
    scopes = document.get("scopes") or {}
    out = []
    for code in sorted(services):
        plan = matrix.plans[code]
        if plan.scope is Scope.AZURE_COMPONENTS:
            out.append(Holding(code, frozenset(scopes.get("arr_components") or ()) or None))
        elif plan.scope is Scope.ENROLLED_PRODUCTS:
            out.append(Holding(code, frozenset((scopes.get("mcsap") or {}).get("enrolled_products") or ()) or None))
        elif plan.scope is Scope.TENANTS:
            out.append(Holding(code, frozenset(scopes.get("security_plus_tenants") or ()) or None))
        elif plan.scope is Scope.EVENT:
            window = None
            for p in event_plans(session, order, around=opened_at):
                if epoch_seconds(p.window_start) <= epoch_seconds(opened_at) < epoch_seconds(p.window_end):
                    window = p
            out.append(Holding(code, None, window.window_start, window.window_end) if window else Holding(code))
        else:
            out.append(Holding(code))
    return out
