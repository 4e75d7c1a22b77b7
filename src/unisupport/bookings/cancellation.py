"""Cancelling a scheduled service (R-BOOK-1), and the provider cancelling a workshop
that did not reach its minimum registrations (R-BOOK-2).

Notice is counted in calendar days between two **local dates of the delivering
site**: the date the cancellation was received there and the scheduled start date.
Times of day and zones play no part once both are local dates, so a cancellation at
23:59 on the 14th day before the start still gets a full refund. Cancelling on the
start date or later is zero or negative notice: the full fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from unisupport.bookings.booking_rules import require_local_date
from unisupport.errors import InvalidInput

RULE = "R-BOOK-1"
PROVIDER_RULE = "R-BOOK-2"


class CostUnit(StrEnum):
    """What a booking's cost is counted in, which fixes how a fee is rounded."""

    CREDITS = "credits"  # whole credits, half up (R-CRED-1)
    HOURS = "hours"  # hundredths of an hour, half up
    MONEY = "money"  # cents, half up


_QUANTUM = {CostUnit.CREDITS: Decimal(1), CostUnit.HOURS: Decimal("0.01"), CostUnit.MONEY: Decimal("0.01")}


@dataclass(frozen=True)
class FeeBand:
    """A range of notice (inclusive bounds, None = unbounded) and the fee it costs."""

    min_notice_days: int | None
    max_notice_days: int | None
    fee_percent: int

    def covers(self, notice_days: int) -> bool:
        return (self.min_notice_days is None or notice_days >= self.min_notice_days) and (
            self.max_notice_days is None or notice_days <= self.max_notice_days
        )

    @property
    def notice(self) -> str:
        if self.max_notice_days is None:
            return f"≥ {self.min_notice_days} days"
        if self.min_notice_days is None:
            return f"≤ {self.max_notice_days} days"
        return f"{self.min_notice_days}–{self.max_notice_days} days"

    @property
    def label(self) -> str:
        outcome = "full refund" if self.fee_percent == 0 else f"{self.fee_percent} % fee"
        return f"{self.notice}: {outcome}"

    def __str__(self) -> str:
        return self.label


# R-BOOK-1, from the most notice to the least; together they cover every integer.
_SCHEDULE = (FeeBand(14, None, 0), FeeBand(6, 13, 50), FeeBand(None, 5, 100))


def schedule() -> tuple[FeeBand, ...]:
    """The three bands of R-BOOK-1, for display (``"; ".join(map(str, schedule()))``)."""
    return _SCHEDULE


@dataclass(frozen=True)
class CancellationTerms:
    """What a cancellation costs, as a percentage of the service's cost, and why."""

    scheduled_start: date
    cancelled_on: date
    notice_days: int  # negative when cancelled after the start
    fee_percent: int
    rule: str
    by_provider: bool = False
    reason: str | None = None  # the provider's reason (R-BOOK-2)

    @property
    def refund_percent(self) -> int:
        return 100 - self.fee_percent

    @property
    def sentence(self) -> str:
        when = (
            f"Cancelled on {self.cancelled_on.isoformat()}, {_notice_words(self.notice_days)} the start on "
            f"{self.scheduled_start.isoformat()}"
        )
        if self.by_provider:
            return f"{when} by the provider ({self.reason}): full refund, no fee ({self.rule})."
        band = next(b for b in _SCHEDULE if b.covers(self.notice_days))
        outcome = (
            "full refund, no fee" if self.fee_percent == 0 else f"a fee of {self.fee_percent} % of the cost applies"
        )
        return f"{when}: {outcome} ({self.rule}: {band.notice}' notice)."

    def __str__(self) -> str:
        return self.sentence


def cancellation_terms(scheduled_start: date, cancelled_on: date) -> CancellationTerms:
    """R-BOOK-1: ≥ 14 days' notice is free, 6–13 days cost 50 %, ≤ 5 days 100 %.
    Both arguments are local dates of the site (see the module's docstring)."""
    require_local_date(scheduled_start, "scheduled_start")
    require_local_date(cancelled_on, "cancelled_on")
    notice = (scheduled_start - cancelled_on).days
    band = next(b for b in _SCHEDULE if b.covers(notice))
    return CancellationTerms(scheduled_start, cancelled_on, notice, band.fee_percent, RULE)


def provider_cancellation_terms(scheduled_start: date, cancelled_on: date, *, reason: str) -> CancellationTerms:
    """R-BOOK-2: the provider cancels (a workshop below its minimum registrations):
    no fee whatever the notice, the customer is refunded in full."""
    require_local_date(scheduled_start, "scheduled_start")
    require_local_date(cancelled_on, "cancelled_on")
    if not reason or not reason.strip():
        raise InvalidInput("a provider cancellation must say why", field="reason", rule=PROVIDER_RULE)
    notice = (scheduled_start - cancelled_on).days
    return CancellationTerms(
        scheduled_start, cancelled_on, notice, 0, PROVIDER_RULE, by_provider=True, reason=reason.strip()
    )


def fee_amount(cost: Decimal, terms: CancellationTerms, unit: CostUnit | str) -> Decimal:
    """The fee for cancelling a service that cost ``cost``: credits to the nearest whole
    credit, hours and money to two decimals, half up (so half a credit is charged).
    The cost itself is already whole credits (R-CRED-1) or two decimals."""
    quantum = _QUANTUM[_unit(unit)]
    if isinstance(cost, bool) or not isinstance(cost, Decimal | int):
        raise InvalidInput(f"expected a Decimal or an integer, got {cost!r}", field="cost")
    amount = Decimal(cost)
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"a cost is zero or more, got {cost}", field="cost")
    if amount != amount.quantize(quantum):
        # Otherwise a rounded fee could exceed the cost and the refund go negative.
        precision = "a whole number of credits (R-CRED-1)" if quantum == 1 else "given to two decimals at most"
        raise InvalidInput(f"a cost in {unit} is {precision}, got {cost}", field="cost")
    return (amount * terms.fee_percent / 100).quantize(quantum, rounding=ROUND_HALF_UP)


def refund_amount(cost: Decimal, terms: CancellationTerms, unit: CostUnit | str) -> Decimal:
    """What goes back to the customer: the cost less the fee, so the two always add up."""
    return Decimal(cost) - fee_amount(cost, terms, unit)


def _unit(unit: CostUnit | str) -> CostUnit:
    try:
        return CostUnit(unit)
    except ValueError:
        accepted = ", ".join(u.value for u in CostUnit)
        raise InvalidInput(f"unknown cost unit {unit!r} (accepted: {accepted})", field="unit") from None


def _notice_words(days: int) -> str:
    if days == 0:
        return "the day of"
    plural = "" if abs(days) == 1 else "s"
    return f"{days} day{plural} before" if days > 0 else f"{-days} day{plural} after"
