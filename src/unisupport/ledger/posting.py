"""Accounts and postings: the vocabulary of the append-only ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from unisupport.refusal import Refused


class EntryKind(StrEnum):
    GRANT = "grant"  # an entitlement bought on the order (or the yearly flexible allocation)
    ALLOCATE = "allocate"  # flexible allocation spent on a line (R-FLEX-1)
    CONSUME = "consume"  # used: a booking, delivered hours, a credits-funded line
    REFUND = "refund"  # a consumption given back (cancellation, provider cancellation)
    FEE = "fee"  # a cancellation fee (R-BOOK-1)
    FORFEIT = "forfeit"  # lost, unused (R-FLEX-6, R-FLEX-3, R-ORD-3)
    EXCHANGE = "exchange"  # swapped for another service of equal value (R-FLEX-5, R-BOOK-4)


@dataclass(frozen=True)
class AccountSpec:
    """An account to open for an order: one per contract year of flexible allocation
    (``flex:y1``), one per entitlement line (``line:L3``), one per fee currency."""

    key: str
    unit: str
    label: str
    service: str | None = None
    line: str | None = None
    site: str | None = None
    contract_year: int | None = None
    expires_on: date | None = None
    expiry_rule: str | None = None
    may_go_negative: bool = False


@dataclass(frozen=True)
class Posting:
    """One signed movement on one account, with its reason and rule."""

    account: str
    kind: EntryKind
    amount: Decimal
    reason: str
    rule: str | None
    effective_on: date
    idempotency_key: str | None = None


def new_balance(balance: Decimal, posting: Posting, *, label: str, unit: str, may_go_negative: bool = False) -> Decimal:
    """The balance after ``posting``, or a refusal when it would go negative (R-CRED-2)."""
    after = balance + posting.amount
    if after < 0 and not may_go_negative:
        raise Refused(
            f"{label} holds {balance.normalize():f} {unit}; "
            f"{(-posting.amount).normalize():f} {unit} cannot be taken from it",
            rule="R-CRED-2",
            details={"balance": str(balance), "requested": str(-posting.amount), "unit": unit},
        )
    return after
