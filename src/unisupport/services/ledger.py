"""Applying postings to the append-only ledger, safely under concurrency.

Each posting locks its account row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
the whole transaction already holds the write lock from ``BEGIN IMMEDIATE``), checks
that the balance stays non-negative (R-CRED-2), appends the entry and moves the
account's running balance in the same transaction. Balances are therefore read in
O(1), and ``verify`` re-derives every one from the entries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.errors import InvalidInput
from unisupport.ledger.forfeiture import AccountState
from unisupport.ledger.posting import AccountSpec, EntryKind, Posting, new_balance
from unisupport.services.webhooks import announce_forfeitures
from unisupport.storage.base import amount_from_sum
from unisupport.storage.tables import LedgerAccountRow, LedgerEntryRow, OrderRow


@dataclass(frozen=True)
class Balance:
    key: str
    label: str
    unit: str
    service: str | None
    site_id: int | None
    contract_year: int | None
    expires_on: date | None
    expiry_rule: str | None
    balance: Decimal
    granted: Decimal
    used: Decimal
    forfeited: Decimal
    entries: int

    def to_dict(self) -> dict:
        return {
            "account": self.key,
            "label": self.label,
            "unit": self.unit,
            "service": self.service,
            "contract_year": self.contract_year,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "expiry_rule": self.expiry_rule,
            "balance": str(self.balance),
            "granted": str(self.granted),
            "used": str(self.used),
            "forfeited": str(self.forfeited),
            "entries": self.entries,
        }


def open_accounts(
    session: Session, order: OrderRow, specs: list[AccountSpec], *, site_ids: dict[str, int], line_ids: dict[str, int]
) -> None:
    """Create the accounts that do not exist yet (re-importing opens nothing twice)."""
    existing = set(session.scalars(select(LedgerAccountRow.key).where(LedgerAccountRow.order_id == order.id)))
    for spec in specs:
        if spec.key in existing:
            continue
        session.add(
            LedgerAccountRow(
                customer_id=order.customer_id,
                order_id=order.id,
                key=spec.key,
                unit=spec.unit,
                label=spec.label,
                service=spec.service,
                line_id=line_ids.get(spec.line or ""),
                site_id=site_ids.get(spec.site or ""),
                contract_year=spec.contract_year,
                expires_on=spec.expires_on,
                expiry_rule=spec.expiry_rule,
                may_go_negative=int(spec.may_go_negative),
                balance=Decimal(0),
                entries=0,
            )
        )
    session.flush()


def lock_account(session: Session, order: OrderRow, key: str) -> LedgerAccountRow:
    account = session.scalars(
        select(LedgerAccountRow)
        .where(
            LedgerAccountRow.customer_id == order.customer_id,
            LedgerAccountRow.order_id == order.id,
            LedgerAccountRow.key == key,
        )
        .with_for_update()
    ).one_or_none()
    if account is None:
        raise InvalidInput(f"order {order.number} has no account {key!r}", field="account")
    return account


def post(
    session: Session,
    order: OrderRow,
    postings: list[Posting],
    *,
    actor: str,
    at: datetime,
    correlation: str | None = None,
    booking_id: int | None = None,
) -> list[LedgerEntryRow]:
    """Append ``postings`` (all or nothing: a refusal leaves the transaction to be
    rolled back by its owner). Postings whose idempotency key is already in the
    ledger are skipped, so replaying a period or an import adds nothing."""
    correlation = correlation or uuid.uuid4().hex
    written = []
    for posting in unwritten(session, postings):
        account = lock_account(session, order, posting.account)
        after = new_balance(
            account.balance,
            posting,
            label=account.label,
            unit=account.unit,
            may_go_negative=bool(account.may_go_negative),
        )
        entry = LedgerEntryRow(
            customer_id=order.customer_id,
            order_id=order.id,
            account_id=account.id,
            kind=posting.kind.value,
            amount=posting.amount,
            unit=account.unit,
            balance_after=after,
            reason=posting.reason,
            rule=posting.rule,
            actor=actor,
            at=at,
            effective_on=posting.effective_on,
            correlation=correlation,
            idempotency_key=posting.idempotency_key,
            booking_id=booking_id,
        )
        session.add(entry)
        account.balance = after
        account.entries += 1
        written.append(entry)
    session.flush()
    announce_forfeitures(session, order, [e for e in written if e.kind == EntryKind.FORFEIT.value], now=at)
    return written


def unwritten(session: Session, postings: list[Posting]) -> list[Posting]:
    """The postings ``post`` would write: those whose idempotency key is not in the
    ledger yet (and those without a key)."""
    keys = [p.idempotency_key for p in postings if p.idempotency_key]
    done = (
        set(session.scalars(select(LedgerEntryRow.idempotency_key).where(LedgerEntryRow.idempotency_key.in_(keys))))
        if keys
        else set()
    )
    return [p for p in postings if p.idempotency_key is None or p.idempotency_key not in done]


def accounts(session: Session, *, customer_id: int, order_id: int) -> list[LedgerAccountRow]:
    return list(
        session.scalars(
            select(LedgerAccountRow)
            .where(LedgerAccountRow.customer_id == customer_id, LedgerAccountRow.order_id == order_id)
            .order_by(LedgerAccountRow.id)
        )
    )


def account_states(session: Session, *, customer_id: int, order_id: int) -> list[AccountState]:
    return [
        AccountState(a.key, a.label, a.unit, a.balance, a.expires_on, a.expiry_rule, bool(a.may_go_negative))
        for a in accounts(session, customer_id=customer_id, order_id=order_id)
    ]


def balances(session: Session, *, customer_id: int, order_id: int) -> list[Balance]:
    """Every account of the order with its balance and what was granted, used and
    forfeited (sums by kind come from the entries)."""
    rows = accounts(session, customer_id=customer_id, order_id=order_id)
    sums: dict[tuple[int, str], Decimal] = {}
    for account_id, kind, amount in session.execute(
        select(LedgerEntryRow.account_id, LedgerEntryRow.kind, func.sum(LedgerEntryRow.amount))
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .group_by(LedgerEntryRow.account_id, LedgerEntryRow.kind)
    ):
        sums[(account_id, kind)] = amount_from_sum(amount)

    def total(account_id: int, *kinds: EntryKind) -> Decimal:
        return sum((sums.get((account_id, k.value), Decimal(0)) for k in kinds), Decimal(0))

    out = []
    for a in rows:
        out.append(
            Balance(
                key=a.key,
                label=a.label,
                unit=a.unit,
                service=a.service,
                site_id=a.site_id,
                contract_year=a.contract_year,
                expires_on=a.expires_on,
                expiry_rule=a.expiry_rule,
                balance=a.balance,
                granted=total(a.id, EntryKind.GRANT),
                used=-total(
                    a.id, EntryKind.ALLOCATE, EntryKind.CONSUME, EntryKind.REFUND, EntryKind.FEE, EntryKind.EXCHANGE
                ),
                forfeited=-total(a.id, EntryKind.FORFEIT),
                entries=a.entries,
            )
        )
    return out


def quick_balances(session: Session, *, customer_id: int, order_id: int) -> dict[str, Decimal]:
    """Balances only, from the running totals: one indexed read, whatever the
    ledger's length."""
    return {
        key: balance
        for key, balance in session.execute(
            select(LedgerAccountRow.key, LedgerAccountRow.balance).where(
                LedgerAccountRow.customer_id == customer_id, LedgerAccountRow.order_id == order_id
            )
        )
    }


@dataclass(frozen=True)
class Mismatch:
    account: str
    running: Decimal
    from_entries: Decimal
    entries: int
    counted: int


def verify(session: Session, *, customer_id: int, order_id: int) -> list[Mismatch]:
    """Re-derive every balance from the entries and list the accounts that differ
    (an empty list means the running balances are exact)."""
    derived = {
        account_id: (amount_from_sum(total), count)
        for account_id, total, count in session.execute(
            select(LedgerEntryRow.account_id, func.sum(LedgerEntryRow.amount), func.count())
            .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
            .group_by(LedgerEntryRow.account_id)
        )
    }
    problems = []
    for a in accounts(session, customer_id=customer_id, order_id=order_id):
        total, count = derived.get(a.id, (Decimal(0), 0))
        if total != a.balance or count != a.entries:
            problems.append(Mismatch(a.key, a.balance, total, a.entries, count))
    return problems


def entries(
    session: Session, *, customer_id: int, order_id: int, account: str | None = None, limit: int = 1000
) -> list[tuple[LedgerEntryRow, str]]:
    query = (
        select(LedgerEntryRow, LedgerAccountRow.key)
        .join(LedgerAccountRow, LedgerAccountRow.id == LedgerEntryRow.account_id)
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .order_by(LedgerEntryRow.id)
        .limit(limit)
    )
    if account:
        query = query.where(LedgerAccountRow.key == account)
    return [(entry, key) for entry, key in session.execute(query)]


def daily_balances(
    session: Session, *, customer_id: int, order_id: int, keys: list[str] | None = None
) -> dict[str, list[tuple[date, Decimal]]]:
    """Each account's balance at the end of every day it moved (by the UTC day the
    entry was posted), oldest first: the running balance over time, for charts.
    Only three columns are read, in posting order; the last entry of a day wins."""
    query = (
        select(LedgerAccountRow.key, LedgerEntryRow.at, LedgerEntryRow.balance_after)
        .join(LedgerAccountRow, LedgerAccountRow.id == LedgerEntryRow.account_id)
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .order_by(LedgerEntryRow.id)
    )
    if keys is not None:
        query = query.where(LedgerAccountRow.key.in_(keys))
    days: dict[str, dict[date, Decimal]] = {}
    for key, at, balance in session.execute(query):
        days.setdefault(key, {})[at.date()] = balance
    return {key: sorted(by_day.items()) for key, by_day in days.items()}


def recent_entries(
    session: Session, *, customer_id: int, order_id: int, limit: int = 50
) -> list[tuple[LedgerEntryRow, str]]:
    """The order's latest entries, newest first, with their account's key: what a
    statement page shows (``entries`` reads from the oldest)."""
    query = (
        select(LedgerEntryRow, LedgerAccountRow.key)
        .join(LedgerAccountRow, LedgerAccountRow.id == LedgerEntryRow.account_id)
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .order_by(LedgerEntryRow.id.desc())
        .limit(limit)
    )
    return [(entry, key) for entry, key in session.execute(query)]
