"""Exchanging an ordered service for another of equal value (R-FLEX-5, R-BOOK-4).

The service delivery manager must agree, and the agreement is recorded (who, when,
why). The value given up is the line's unit price times the quantity exchanged; the
new service must be worth exactly that. Both moves are ``exchange`` entries of one
correlation: the line gives up units, a new account receives the new service, which
expires when the line would have (so an exchange never extends a forfeiture date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.catalog import default_catalog
from unisupport.errors import InvalidInput, NotFound
from unisupport.ledger.entitlement import line_key
from unisupport.ledger.posting import AccountSpec, EntryKind, Posting
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.audit import record_event
from unisupport.storage.tables import LedgerAccountRow, OrderLineRow, OrderRow


@dataclass(frozen=True)
class Exchange:
    account: str
    given_up: Decimal
    value: Decimal

    def to_dict(self) -> dict:
        return {"account": self.account, "given_up": str(self.given_up), "value": str(self.value)}


def exchange(
    session: Session,
    order: OrderRow,
    *,
    from_line: str,
    quantity: Decimal,
    to_service: str,
    to_unit: str,
    to_quantity: Decimal,
    to_value: Decimal,
    approver: str | None,
    reason: str | None,
    actor: str,
    now: datetime,
) -> Exchange:
    if order.status != OrderStatus.ACTIVE.value:
        raise Refused(f"order {order.number} is {order.status}", rule="R-ORD-2", field="order")
    if not approver or "@" not in approver:
        raise Refused(
            "an exchange needs the service delivery manager's agreement: give the approver's e-mail",
            rule="R-FLEX-5",
            field="approver",
        )
    if not reason or not reason.strip():
        raise InvalidInput("say why the service is exchanged", field="reason", rule="R-FLEX-5")
    if quantity <= 0 or to_quantity <= 0:
        raise InvalidInput("quantities are positive", field="quantity")
    service = default_catalog().get(to_service, field="to_service")
    if to_unit not in service.units:
        raise InvalidInput(
            f"{to_service} is not sold per {to_unit!r} (its units: {', '.join(service.units)})",
            field="to_unit",
            rule="R-CAT-1",
        )
    line = session.scalar(
        select(OrderLineRow).where(
            OrderLineRow.order_id == order.id, OrderLineRow.code == from_line, OrderLineRow.active.is_(True)
        )
    )
    if line is None:
        raise NotFound(f"order {order.number} has no line {from_line!r}", field="from_line")
    value = (line.price / line.quantity * quantity).quantize(Decimal("0.01"))
    if to_value.quantize(Decimal("0.01")) != value:
        raise Refused(
            f"{quantity.normalize():f} of line {from_line} are worth {value:,.2f} {order.currency}; "
            f"the new service is worth {to_value:,.2f}: an exchange is of equal value",
            rule="R-FLEX-5",
            field="to_value",
            details={"given_up_value": str(value), "offered_value": str(to_value)},
        )
    source = session.scalar(
        select(LedgerAccountRow).where(
            LedgerAccountRow.order_id == order.id, LedgerAccountRow.key == line_key(from_line)
        )
    )
    if source is None:
        raise Refused(
            f"line {from_line} has no ledger account: is the order active?", rule="R-ORD-1", field="from_line"
        )
    number = (
        session.scalar(
            select(func.count())
            .select_from(LedgerAccountRow)
            .where(LedgerAccountRow.order_id == order.id, LedgerAccountRow.key.like("exchange:%"))
        )
        or 0
    ) + 1
    key = f"exchange:{number}"
    ledger.open_accounts(
        session,
        order,
        [
            AccountSpec(
                key,
                to_unit,
                f"{service.en} (exchanged from {from_line})",
                service=to_service,
                contract_year=source.contract_year,
                expires_on=source.expires_on,
                expiry_rule=source.expiry_rule,
            )
        ],
        site_ids={},
        line_ids={},
    )
    why = f"exchanged with the agreement of {approver}: {reason.strip()}"
    ledger.post(
        session,
        order,
        [
            Posting(
                source.key,
                EntryKind.EXCHANGE,
                -quantity,
                f"{quantity.normalize():f} given up for {to_service}; {why}",
                "R-FLEX-5",
                now.date(),
            ),
            Posting(
                key,
                EntryKind.EXCHANGE,
                to_quantity,
                f"received for {quantity.normalize():f} of line {from_line}; {why}",
                "R-FLEX-5",
                now.date(),
            ),
        ],
        actor=actor,
        at=now,
        correlation=f"exchange:{order.id}:{number}",
    )
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="order",
        subject_id=order.id,
        tag="order:exchange",
        actor=actor,
        at=now,
        before={"line": from_line, "quantity": str(quantity)},
        after={
            "service": to_service,
            "unit": to_unit,
            "quantity": str(to_quantity),
            "value": str(value),
            "approver": approver,
        },
        reason=reason,
        rule="R-FLEX-5",
    )
    return Exchange(key, quantity, value)
