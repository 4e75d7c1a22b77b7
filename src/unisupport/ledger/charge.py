"""A charge is shown before it is taken, and taken only as it was shown (D45).

Every operation that takes from what a customer holds — a booking's cost, a
cancellation fee, an amendment that takes back or forfeits — first works out its
:class:`Charge`. The caller sends back what it was shown (``expected_cost``,
``expected_fee``, ``expected_forfeit``); :func:`confirm` lets the operation go on only
when that is still exactly the charge. Without it, or with another amount, the
operation is refused with :class:`ChargeNotConfirmed`, which says what the charge is
now and how to confirm it, and nothing is written.

A charge may be in several units (an order's termination forfeits credits, hours and
seats): it is shown and confirmed as ``48 credits, 80 hours``; a charge in one unit
may be confirmed by its bare amount (``15``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from unisupport.errors import ChargeNotConfirmed, InvalidInput


@dataclass(frozen=True)
class Charge:
    """What an operation would take, per unit, and what it is called."""

    what: str  # "the cancellation fee of booking 7"
    amounts: Mapping[str, Decimal]  # unit → amount taken (≥ 0)
    rule: str  # the rule the amount comes from
    field: str  # the field that confirms it
    explanation: str | None = None  # how the amount was worked out
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # facts for the problem response

    @property
    def shown(self) -> str:
        """``15 credits`` or ``48 credits, 80 hours``: as it is shown and confirmed."""
        return ", ".join(f"{plain(amount)} {unit}" for unit, amount in self.amounts.items()) or "nothing"

    @property
    def confirmation(self) -> str:
        """What to send back in :attr:`field`: the bare amount when one unit is charged."""
        if len(self.amounts) == 1:
            return plain(next(iter(self.amounts.values())))
        return self.shown

    def to_dict(self) -> dict[str, Any]:
        """The charge as a quote shows it, with how to confirm it."""
        return {
            "charge": {unit: str(amount) for unit, amount in self.amounts.items()},
            "shown": self.shown,
            "rule": self.rule,
            "confirm_with": {self.field: self.confirmation},
        }


def confirm(charge: Charge, expected: Decimal | int | str | None) -> None:
    """Let the operation go on only if ``expected`` is exactly ``charge``."""
    why = f" ({charge.explanation.rstrip('.')})" if charge.explanation else ""
    how = f"to confirm it, send {charge.field} = {charge.confirmation}"
    details = dict(charge.details) | charge.to_dict()
    if expected is None:
        raise ChargeNotConfirmed(
            f"{charge.what} is {charge.shown}{why}; nothing was done without your confirmation: {how}",
            rule=charge.rule,
            field=charge.field,
            details=details,
        )
    if _nonzero(amounts_of(expected, charge, field=charge.field)) != _nonzero(charge.amounts):
        raise ChargeNotConfirmed(
            f"{charge.what} is now {charge.shown}{why}, not {_plain_expected(expected)}: nothing was done; "
            f"review it and {how}",
            rule=charge.rule,
            field=charge.field,
            details=details | {"expected": _plain_expected(expected)},
        )


def amounts_of(expected: Decimal | int | str, charge: Charge, *, field: str) -> dict[str, Decimal]:
    """``expected`` per unit: a bare amount stands for the charge's one unit;
    ``48 credits, 80 hours`` names each unit."""
    if isinstance(expected, bool):
        raise InvalidInput(f"expected an amount, got {expected!r}", field=field)
    if isinstance(expected, Decimal | int):
        return {_single_unit(charge, field): Decimal(expected)}
    out: dict[str, Decimal] = {}
    for part in (p.strip() for p in expected.split(",")):
        number, _, unit = part.partition(" ")
        amount = _number(number, field)
        unit = unit.strip() or _single_unit(charge, field)
        out[unit] = out.get(unit, Decimal(0)) + amount
    return out


def _single_unit(charge: Charge, field: str) -> str:
    if len(charge.amounts) == 1:
        return next(iter(charge.amounts))
    raise InvalidInput(f"{charge.what} is in several units: give each one, as in {charge.shown!r}", field=field)


def _number(text: str, field: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{text!r} is not an amount", field=field) from None
    if not amount.is_finite():
        raise InvalidInput(f"{text!r} is not an amount", field=field)
    return amount


def _nonzero(amounts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {unit: amount for unit, amount in amounts.items() if amount != 0}


def _plain_expected(expected: Decimal | int | str) -> str:
    return plain(Decimal(expected)) if isinstance(expected, Decimal | int) else expected.strip()


def plain(number: Decimal) -> str:
    """1500.00 → ``1500``, 12.50 → ``12.5`` (never ``1.5E+3``)."""
    return f"{number.normalize():f}"
