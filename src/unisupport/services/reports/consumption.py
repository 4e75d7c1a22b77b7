"""Contract reports (issue 10): what each customer used, lost and paid, by service
and month, read from the append-only ledger (services.ledger, ledger/).

* consumed — consumptions less their refunds (a booking, delivered hours, a
  credits-funded line, a flexible allocation spent on a line);
* forfeited — entitlement lost unused at the end of its contract year (R-FLEX-3)
  or of the order (R-ORD-3), and any other forfeiture with its rule;
* cancellation fees — charged when a booking is cancelled late (R-BOOK-1).

An entry belongs to the month of the contract day it was posted for
(``effective_on``); its service is the booking's, else the account's, else the
account's label (a flexible allocation spent before any booking). Amounts are
summed in SQL, per customer, service, unit, kind, rule and day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.access import CONTRACT_READERS, Principal
from unisupport.ledger.posting import EntryKind
from unisupport.services.reports.figures import next_month, plain
from unisupport.services.reports.sla import Period, Progress, customer_id_of
from unisupport.services.scope import scoped
from unisupport.storage.base import amount_from_sum
from unisupport.storage.tables import BookingRow, CustomerRow, LedgerAccountRow, LedgerEntryRow

COLUMNS = ("month", "customer", "customer_name", "service", "unit", "consumed", "forfeited", "forfeit_rules", "fees")
KINDS = (EntryKind.CONSUME, EntryKind.REFUND, EntryKind.FORFEIT, EntryKind.FEE)


@dataclass(frozen=True)
class ConsumptionLine:
    month: date
    customer: str
    customer_name: str
    service: str
    unit: str
    consumed: Decimal
    forfeited: Decimal
    forfeit_rules: str  # "R-FLEX-3 R-ORD-3": the rules of the forfeitures, when any
    fees: Decimal  # cancellation fees (R-BOOK-1)

    def values(self) -> list[Any]:
        """In COLUMNS order, the month as ISO 8601 ``YYYY-MM``."""
        return [self.month.isoformat()[:7], *(getattr(self, c) for c in COLUMNS[1:])]

    def to_dict(self) -> dict[str, Any]:
        """JSON: decimals as strings (exact)."""
        return {c: str(v) if isinstance(v, Decimal) else v for c, v in zip(COLUMNS, self.values(), strict=True)}


@dataclass
class _Sums:
    consumed: Decimal = Decimal(0)
    forfeited: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    rules: set[str] | None = None


def consumption_report(
    session: Session,
    principal: Principal,
    period: Period,
    *,
    customer: str | None = None,
    progress: Progress | None = None,
) -> list[ConsumptionLine]:
    """The lines, by month, then customer code, service and unit; for those who read
    contracts (a reactive contact does not)."""
    principal.require(*CONTRACT_READERS, action="read contract reports")
    cid = customer_id_of(session, principal, customer)
    e, a = LedgerEntryRow, LedgerAccountRow
    service = func.coalesce(BookingRow.service, a.service, a.label)
    query = (
        select(e.customer_id, service, e.unit, e.kind, e.rule, e.effective_on, func.sum(e.amount))
        .join(a, a.id == e.account_id)
        .outerjoin(BookingRow, BookingRow.id == e.booking_id)
        .where(
            e.kind.in_([k.value for k in KINDS]),
            e.effective_on >= period.first,
            e.effective_on <= period.last,
        )
        .group_by(e.customer_id, service, e.unit, e.kind, e.rule, e.effective_on)
    )
    if cid is not None:
        query = query.where(e.customer_id == cid)
    sums: dict[tuple[date, int, str, str], _Sums] = defaultdict(_Sums)
    for customer_id, svc, unit, kind, rule, day, total in session.execute(scoped(query, e.customer_id, principal)):
        s = sums[(day.replace(day=1), customer_id, svc, unit)]
        amount = -amount_from_sum(total)  # the entries take from the accounts: negative amounts
        if kind in (EntryKind.CONSUME, EntryKind.REFUND):
            s.consumed += amount
        elif kind == EntryKind.FORFEIT:
            s.forfeited += amount
            s.rules = (s.rules or set()) | ({rule} if rule else set())
        else:
            s.fees += amount
    customers = {c.id: c for c in session.scalars(select(CustomerRow).where(CustomerRow.id.in_({k[1] for k in sums})))}
    lines = [
        ConsumptionLine(
            month=month,
            customer=customers[customer_id].code,
            customer_name=customers[customer_id].name,
            service=svc,
            unit=unit,
            consumed=plain(s.consumed),
            forfeited=plain(s.forfeited),
            forfeit_rules=" ".join(sorted(s.rules or ())),
            fees=plain(s.fees),
        )
        for (month, customer_id, svc, unit), s in sums.items()
    ]
    lines.sort(key=lambda x: (x.month, x.customer, x.service, x.unit))
    if progress is not None:
        month = period.first.replace(day=1)
        while month <= period.last:
            progress(month)
            month = next_month(month)
    return lines
