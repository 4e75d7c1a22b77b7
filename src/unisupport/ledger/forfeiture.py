"""Use it or lose it (R-FLEX-3, R-ORD-3): which unused balances are forfeited by a
given date. Pure: the caller passes the accounts as they stand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from unisupport.ledger.posting import EntryKind, Posting


@dataclass(frozen=True)
class AccountState:
    key: str
    label: str
    unit: str
    balance: Decimal
    expires_on: date | None
    expiry_rule: str | None
    may_go_negative: bool = False


def due_forfeitures(accounts: list[AccountState], *, term_end: date, as_of: date, order_number: str) -> list[Posting]:
    """Forfeit every positive balance whose last day of use is before ``as_of``.

    A line bought with contract year N's flexible allocation lasts until the end of
    that year (R-FLEX-3); everything else until the end of the term (R-ORD-3). The
    idempotency key makes running the same period twice harmless."""
    postings = []
    for account in accounts:
        if account.may_go_negative or account.balance <= 0:
            continue
        last_day = account.expires_on or term_end
        if as_of <= last_day:
            continue
        rule = account.expiry_rule or "R-ORD-3"
        why = (
            f"unused at the end of contract year (last day {last_day.isoformat()})"
            if rule == "R-FLEX-3"
            else f"unused at the end of the term (last day {last_day.isoformat()})"
        )
        postings.append(
            Posting(
                account.key,
                EntryKind.FORFEIT,
                -account.balance,
                why,
                rule,
                last_day,
                f"order:{order_number}:forfeit:{account.key}:{last_day.isoformat()}",
            )
        )
    return postings
