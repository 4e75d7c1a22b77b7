"""What a booking costs in proactive credits (R-CRED-1): rate × quantity, the value
deducted rounded to the nearest whole credit, half up. Rounding happens once, on the
booking's total, never per unit: 3 attendees at 7.5 credits cost 23 credits, not 24."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from unisupport.bookings.rate_card import Rate, unit_noun
from unisupport.errors import InvalidInput

RULE = "R-CRED-1"
WHOLE = Decimal(1)


def credits_cost(rate_per_unit: Decimal, quantity: Decimal) -> Decimal:
    """The credits deducted for ``quantity`` units at ``rate_per_unit`` (R-CRED-1)."""
    exact = _positive(rate_per_unit, "rate_per_unit") * _positive(quantity, "quantity")
    return exact.quantize(WHOLE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CreditsCost:
    """A booking's cost with everything needed to explain it."""

    quantity: Decimal
    unit: str
    rate_per_unit: Decimal
    exact: Decimal  # before rounding
    credits: Decimal  # deducted
    card: str | None = None  # the rate card's identity, when known
    rule: str = RULE

    def explain(self) -> str:
        """``3 attendees × 7.5 credits = 22.5 → 23 credits (R-CRED-1, rate card …)``."""
        result = _plain(self.exact)
        if self.exact != self.credits:
            result += f" → {_plain(self.credits)}"
        source = f"{self.rule}, rate card {self.card}" if self.card else self.rule
        return (
            f"{_plain(self.quantity)} {unit_noun(self.unit, self.quantity)} × "
            f"{_plain(self.rate_per_unit)} credits = {result} "
            f"credit{'' if self.credits == 1 else 's'} ({source})"
        )

    def __str__(self) -> str:
        return self.explain()


def cost_of(rate: Rate, quantity: Decimal) -> CreditsCost:
    """The cost of ``quantity`` units at a rate taken from a rate card (R-CAT-2, R-CRED-1)."""
    credits = credits_cost(rate.value, quantity)
    return CreditsCost(
        quantity=Decimal(quantity),
        unit=rate.unit,
        rate_per_unit=rate.value,
        exact=rate.value * Decimal(quantity),
        credits=credits,
        card=rate.card,
    )


def _positive(value: Decimal | int, field: str) -> Decimal:
    # A binary float cannot hold 7.5 credits × 0.1 exactly: refuse it rather than guess.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise InvalidInput(f"expected a Decimal or an integer, got {value!r}", field=field)
    number = Decimal(value)
    if not number.is_finite() or number <= 0:
        raise InvalidInput(f"must be a positive number, got {value}", field=field)
    return number


def _plain(number: Decimal) -> str:
    """22.50 → ``22.5``, 110 → ``110`` (never ``1.1E+2``)."""
    return f"{number.normalize():f}"
