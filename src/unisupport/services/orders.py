"""Importing, amending, activating and closing orders (R-ORD-1..3, R-FLEX-3, R-FLEX-6).

Importing an order file is idempotent: the same file twice changes nothing. A file
that differs adds a new version (the document, what changed, who, when); an order
never loses a past version. Executing an order (status ``active``) opens its ledger
accounts and posts its grants, allocations and the forfeiture of what is left
unallocated; later amendments post only the differences."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.catalog import default_catalog
from unisupport.errors import NotFound, OrderInvalid
from unisupport.ledger.charge import Charge, confirm
from unisupport.ledger.entitlement import activation, line_account
from unisupport.ledger.forfeiture import due_forfeitures
from unisupport.ledger.posting import EntryKind, Posting
from unisupport.orders.order_file import OrderFile, OrderStatus
from unisupport.orders.validation import validate_order
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.audit import record_event
from unisupport.services.customers import sync_contacts, upsert_customer, upsert_sites
from unisupport.services.mission_critical import create_event
from unisupport.services.scope import scoped
from unisupport.storage.base import amount_from_sum
from unisupport.storage.tables import (
    LedgerAccountRow,
    LedgerEntryRow,
    OrderLineRow,
    OrderRow,
    OrderVersionRow,
    SiteRow,
)

# draft → active (execution) → expired or terminated (R-ORD-1, R-ORD-2).
TRANSITIONS = {
    OrderStatus.DRAFT: {OrderStatus.DRAFT, OrderStatus.ACTIVE, OrderStatus.TERMINATED},
    OrderStatus.ACTIVE: {OrderStatus.ACTIVE, OrderStatus.EXPIRED, OrderStatus.TERMINATED},
    OrderStatus.EXPIRED: {OrderStatus.EXPIRED},
    OrderStatus.TERMINATED: {OrderStatus.TERMINATED},
}


@dataclass(frozen=True)
class ImportResult:
    order_id: int
    customer_id: int
    number: str
    outcome: str  # created, amended, unchanged
    version: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    ledger_entries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "number": self.number,
            "outcome": self.outcome,
            "version": self.version,
            "changes": self.changes,
            "ledger_entries": self.ledger_entries,
        }


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"lines[2].quantity": "12", …}``: paths for a readable amendment history.
    Lists of objects with an ``id`` are keyed by it (``lines[L3].quantity``) so that
    reordering lines is not a change."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        for v in value:
            out.update(flatten(v, f"{prefix}[{v['id']}]"))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    a, b = flatten(before), flatten(after)
    return [
        {"path": path, "before": a.get(path), "after": b.get(path)}
        for path in sorted(set(a) | set(b))
        if a.get(path) != b.get(path)
    ]


def import_order(
    session: Session,
    document: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    expected_forfeit: Decimal | str | None = None,
) -> ImportResult:
    """Create or amend the order a document describes (see module docstring). An
    amendment that takes back or forfeits part of what the customer holds is made
    only when ``expected_forfeit`` confirms what it takes (D45)."""
    violations = [v for v in validate_order(document) if v.severity == "error"]
    if violations:
        raise OrderInvalid(violations)
    order = OrderFile.model_validate(document)
    canonical = order.canonical()
    hashed = digest(canonical)
    customer = upsert_customer(session, order, actor=actor, now=now)
    row = session.scalar(select(OrderRow).where(OrderRow.number == order.number).with_for_update())
    if row is not None and row.customer_id != customer.id:
        raise Refused(f"order {order.number} belongs to another customer", rule="R-ORD-1", field="number")
    if row is not None and row.document_hash == hashed:
        return ImportResult(row.id, row.customer_id, row.number, "unchanged", row.version)

    site_ids = upsert_sites(session, customer, order, actor=actor, now=now)
    sync_contacts(session, customer, order, site_ids, actor=actor, now=now)

    if row is None:
        outcome, previous_status, changes = "created", None, []
        row = OrderRow(
            customer_id=customer.id,
            number=order.number,
            version=1,
            created_at=now,
            updated_at=now,
            **_order_fields(order, site_ids, hashed),
        )
        session.add(row)
        session.flush()
    else:
        previous_status = OrderStatus(row.status)
        if order.status not in TRANSITIONS[previous_status]:
            raise Refused(
                f"an order cannot go from {previous_status.value} to {order.status.value} "
                "(draft → active → expired or terminated)",
                rule="R-ORD-1",
                field="status",
            )
        changes = changes_between(current_document(session, row), canonical)
        outcome = "amended"
        row.version += 1
        row.updated_at = now
        for k, v in _order_fields(order, site_ids, hashed).items():
            setattr(row, k, v)
    session.add(
        OrderVersionRow(
            customer_id=customer.id,
            order_id=row.id,
            version=row.version,
            document=canonical,
            document_hash=hashed,
            changes=changes,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    line_ids = _sync_lines(session, row, order, site_ids)
    record_event(
        session,
        customer_id=customer.id,
        subject_type="order",
        subject_id=row.id,
        tag=f"order:{'create' if outcome == 'created' else 'amend'}",
        actor=actor,
        at=now,
        before={"status": previous_status.value} if previous_status else None,
        after={"version": row.version, "status": order.status.value, "changes": len(changes)},
        reason=reason,
        rule="R-ORD-1",
    )
    written = _post_entitlements(
        session, row, order, site_ids, line_ids, previous_status, actor=actor, now=now, expected=expected_forfeit
    )
    if outcome == "amended":
        # A plan added or ended: the open incidents' pending update targets follow (D98).
        # Imported here: services.incidents reads orders through this module.
        from unisupport.services.incidents.updates import after_order_amended

        after_order_amended(session, row.id, now=now, actor=actor, why=f"order {row.number} amended (v{row.version})")
    return ImportResult(row.id, customer.id, row.number, outcome, row.version, changes, written)


def _order_fields(order: OrderFile, site_ids: dict[str, int], hashed: str) -> dict[str, Any]:
    return {
        "status": order.status.value,
        "currency": order.currency,
        "price_list": order.price_list,
        "term_start": order.term.start,
        "term_end": order.term.end,
        "executed_on": order.executed_on,
        "host_site_id": site_ids[order.host_site],
        "document_hash": hashed,
    }


def _sync_lines(session: Session, row: OrderRow, order: OrderFile, site_ids: dict[str, int]) -> dict[str, int]:
    existing = {
        line.code: line for line in session.scalars(select(OrderLineRow).where(OrderLineRow.order_id == row.id))
    }
    ids = {}
    for line in order.lines:
        fields = {
            "service": line.service,
            "quantity": line.quantity,
            "unit": line.unit,
            "site_id": site_ids[line.site or order.host_site],
            "price": line.price,
            "funding": line.funding.value,
            "credits": line.credits,
            "contract_year": line.contract_year,
            "active": True,
        }
        current = existing.get(line.id)
        if current is None:
            current = OrderLineRow(customer_id=row.customer_id, order_id=row.id, code=line.id, **fields)
            session.add(current)
        else:
            for k, v in fields.items():
                setattr(current, k, v)
        session.flush()
        ids[line.id] = current.id
    for code, current in existing.items():
        if code not in ids:
            current.active = False  # kept for history; its ledger account stays readable
    return ids


def _post_entitlements(
    session: Session,
    row: OrderRow,
    order: OrderFile,
    site_ids: dict[str, int],
    line_ids: dict[str, int],
    previous: OrderStatus | None,
    *,
    actor: str,
    now: datetime,
    expected: Decimal | str | None,
) -> int:
    catalog = default_catalog()
    if order.status is OrderStatus.DRAFT:
        return 0
    if order.status is OrderStatus.ACTIVE:
        on = order.executed_on or order.term.start
        plan = activation(order, catalog, on=on)
        held = ledger.accounts(session, customer_id=row.customer_id, order_id=row.id)
        ledger.open_accounts(session, row, plan.accounts, site_ids=site_ids, line_ids=line_ids)
        postings = list(plan.postings)
        if previous is OrderStatus.ACTIVE:
            postings += _quantity_changes(session, row, order, catalog, on=now.date())
        _confirm_takes(session, row, held, postings, expected)
        written = len(
            ledger.post(session, row, postings, actor=actor, at=now, correlation=f"order:{order.number}:v{row.version}")
        )
        for event in order.events:  # each consumes one unit of its line (R-EVT-2)
            create_event(session, row, event, actor=actor, now=now)
        return written
    # Expired or terminated: the add-ons end with the Base Package (R-ORD-2); what is
    # unused is forfeited (R-ORD-3).
    rule = "R-ORD-2" if order.status is OrderStatus.TERMINATED else "R-ORD-3"
    postings = [
        Posting(
            s.key,
            EntryKind.FORFEIT,
            -s.balance,
            f"unused when the order was {order.status.value}",
            rule,
            now.date(),
            f"order:{order.number}:{order.status.value}:{s.key}",
        )
        for s in ledger.account_states(session, customer_id=row.customer_id, order_id=row.id)
        if s.balance > 0 and not s.may_go_negative
    ]
    _confirm_takes(
        session, row, ledger.accounts(session, customer_id=row.customer_id, order_id=row.id), postings, expected
    )
    return len(
        ledger.post(session, row, postings, actor=actor, at=now, correlation=f"order:{order.number}:v{row.version}")
    )


def _confirm_takes(
    session: Session,
    row: OrderRow,
    held: list[LedgerAccountRow],
    postings: list[Posting],
    expected: Decimal | str | None,
) -> None:
    """D45: what an amendment would take from the balances the customer already held
    (a quantity taken back, a termination's forfeits, credits a new line spends) is
    shown and must be confirmed; an amendment that only adds needs nothing."""
    accounts = {a.key: a for a in held if not a.may_go_negative}
    takes = [p for p in ledger.unwritten(session, postings) if p.amount < 0 and p.account in accounts]
    if not takes:
        return
    amounts: dict[str, Decimal] = {}
    for p in takes:
        unit = accounts[p.account].unit
        amounts[unit] = amounts.get(unit, Decimal(0)) - p.amount
    rules = {p.rule for p in takes if p.rule}
    charge = Charge(
        f"what this amendment of order {row.number} takes back or forfeits",
        amounts,
        rules.pop() if len(rules) == 1 else "R-ORD-1",
        "expected_forfeit",
        details={
            "accounts": [
                {
                    "account": p.account,
                    "amount": str(-p.amount),
                    "unit": accounts[p.account].unit,
                    "rule": p.rule,
                    "reason": p.reason,
                }
                for p in takes
            ]
        },
    )
    confirm(charge, expected)


def _quantity_changes(session: Session, row: OrderRow, order: OrderFile, catalog, *, on: date) -> list[Posting]:
    """An amended quantity grants (or takes back) the difference."""
    granted = dict(
        session.execute(
            select(LedgerAccountRow.key, func.sum(LedgerEntryRow.amount))
            .join(LedgerEntryRow, LedgerEntryRow.account_id == LedgerAccountRow.id)
            .where(LedgerAccountRow.order_id == row.id, LedgerEntryRow.kind == EntryKind.GRANT.value)
            .group_by(LedgerAccountRow.key)
        ).all()
    )
    postings = []
    for line in order.lines:
        spec = line_account(order, line, catalog)
        if spec.key not in granted:
            continue  # a new line: its activation grant is posted with the others
        delta = line.quantity - amount_from_sum(granted[spec.key])
        if delta:
            postings.append(
                Posting(
                    spec.key,
                    EntryKind.GRANT,
                    delta,
                    f"quantity amended to {line.quantity.normalize():f} in version {row.version}",
                    "R-ORD-1",
                    on,
                    f"order:{order.number}:regrant:{spec.key}:v{row.version}",
                )
            )
    return postings


@dataclass(frozen=True)
class PeriodClose:
    order: str
    forfeited: list[dict[str, Any]]
    expired: bool

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order, "forfeited": self.forfeited, "expired": self.expired}


def close_period(
    session: Session, *, as_of: date, actor: str, now: datetime, number: str | None = None
) -> list[PeriodClose]:
    """Forfeit what expired before ``as_of`` (R-FLEX-3 per contract year, R-ORD-3 at
    the end of the term) and expire orders whose term is over. Idempotent."""
    query = select(OrderRow).where(OrderRow.status == OrderStatus.ACTIVE.value).order_by(OrderRow.id)
    if number:
        query = query.where(OrderRow.number == number)
    results = []
    for row in session.scalars(query).all():
        states = ledger.account_states(session, customer_id=row.customer_id, order_id=row.id)
        postings = due_forfeitures(states, term_end=row.term_end, as_of=as_of, order_number=row.number)
        written = ledger.post(
            session, row, postings, actor=actor, at=now, correlation=f"close:{row.number}:{as_of.isoformat()}"
        )
        expired = as_of > row.term_end
        if expired:
            row.status = OrderStatus.EXPIRED.value
            row.updated_at = now
            record_event(
                session,
                customer_id=row.customer_id,
                subject_type="order",
                subject_id=row.id,
                tag="order:expire",
                actor=actor,
                at=now,
                before={"status": "active"},
                after={"status": "expired"},
                rule="R-ORD-3",
                reason=f"term ended on {row.term_end.isoformat()}",
            )
        results.append(
            PeriodClose(
                row.number,
                [
                    {"account": p.account, "amount": str(-p.amount), "rule": p.rule, "reason": p.reason}
                    for p in postings
                    if p.idempotency_key in {e.idempotency_key for e in written}
                ],
                expired,
            )
        )
    return results


def order_in_scope(session: Session, principal: Principal, number: str, *, field: str = "number") -> OrderRow:
    """The order with this number, or NotFound — also when it belongs to a customer
    outside the principal's scope."""
    row = session.scalar(scoped(select(OrderRow).where(OrderRow.number == number), OrderRow.customer_id, principal))
    if row is None:
        raise NotFound(f"no order {number!r}", field=field)
    return row


def order_by_id(session: Session, order_id: int | None) -> OrderRow | None:
    return session.get(OrderRow, order_id) if order_id else None


def host_site(session: Session, order: OrderRow) -> SiteRow | None:
    """The order's host site (R-MC-1), whose days are the contract's days."""
    return session.get(SiteRow, order.host_site_id)


def order_by_number(session: Session, number: str, *, customer_id: int | None = None) -> OrderRow:
    query = select(OrderRow).where(OrderRow.number == number)
    if customer_id is not None:
        query = query.where(OrderRow.customer_id == customer_id)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no order {number!r}", field="number")
    return row


def versions(session: Session, row: OrderRow) -> list[OrderVersionRow]:
    return list(
        session.scalars(
            select(OrderVersionRow)
            .where(OrderVersionRow.order_id == row.id, OrderVersionRow.customer_id == row.customer_id)
            .order_by(OrderVersionRow.version)
        )
    )


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def orders_in_scope(
    session: Session, customer_scope: frozenset[int] | None, *, status: str | None = None
) -> list[OrderRow]:
    """Orders of the customers a principal may see (``Principal.customer_scope``;
    None: every customer), by number; with ``status``, only those."""
    query = select(OrderRow).order_by(OrderRow.number)
    if customer_scope is not None:
        query = query.where(OrderRow.customer_id.in_(customer_scope))
    if status is not None:
        query = query.where(OrderRow.status == status)
    return list(session.scalars(query))


def current_document(session: Session, order: OrderRow) -> dict[str, Any]:
    """The order file of the order's current version (empty if none was kept)."""
    return (
        session.scalar(
            select(OrderVersionRow.document).where(
                OrderVersionRow.order_id == order.id, OrderVersionRow.version == order.version
            )
        )
        or {}
    )


def order_sites(session: Session, order: OrderRow) -> list[SiteRow]:
    """The sites the order's current version names (R-MC-1), host site first: the
    sites an incident or a booking may name on this order."""
    document = current_document(session, order)
    codes = [s["id"] for s in document.get("sites", [])]
    rows = {
        s.code: s
        for s in session.scalars(
            select(SiteRow).where(SiteRow.customer_id == order.customer_id, SiteRow.code.in_(codes))
        )
    }
    ordered = [rows[c] for c in codes if c in rows]
    return sorted(ordered, key=lambda s: s.id != order.host_site_id)
