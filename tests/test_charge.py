"""A charge is taken only as it was shown (ledger/charge.py, D45): pure checks of
what counts as confirming it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from unisupport.errors import InvalidInput
from unisupport.ledger.charge import Charge, ChargeNotConfirmed, confirm

FEE = Charge("the fee for cancelling booking 7 now", {"credits": Decimal(15)}, "R-BOOK-1", "expected_fee")
FORFEIT = Charge(
    "what this amendment takes back or forfeits",
    {"credits": Decimal(48), "hours": Decimal("80.50")},
    "R-ORD-2",
    "expected_forfeit",
)


def test_a_charge_in_one_unit_is_confirmed_by_its_amount_however_it_is_written():
    for expected in (Decimal(15), Decimal("15.00"), 15, "15", " 15 credits ", "15.0000"):
        confirm(FEE, expected)
    assert FEE.to_dict() == {
        "charge": {"credits": "15"},
        "shown": "15 credits",
        "rule": "R-BOOK-1",
        "confirm_with": {"expected_fee": "15"},
    }


def test_a_missing_or_different_confirmation_is_refused_with_the_amount_and_how_to_confirm():
    with pytest.raises(ChargeNotConfirmed) as missing:
        confirm(FEE, None)
    assert (missing.value.rule, missing.value.field) == ("R-BOOK-1", "expected_fee")
    assert "is 15 credits" in missing.value.message and "send expected_fee = 15" in missing.value.message
    for wrong in (Decimal("14.99"), "15 hours", "0"):
        with pytest.raises(ChargeNotConfirmed) as refused:
            confirm(FEE, wrong)
        assert refused.value.details["confirm_with"] == {"expected_fee": "15"}


def test_a_charge_in_several_units_is_confirmed_unit_by_unit_in_any_order():
    assert FORFEIT.shown == FORFEIT.confirmation == "48 credits, 80.5 hours"
    confirm(FORFEIT, "80.5 hours, 48 credits")
    with pytest.raises(ChargeNotConfirmed):
        confirm(FORFEIT, "48 credits")
    with pytest.raises(InvalidInput) as bare:  # which unit would 48 be?
        confirm(FORFEIT, Decimal(48))
    assert bare.value.field == "expected_forfeit"
    with pytest.raises(InvalidInput):
        confirm(FORFEIT, "lots of credits")


def test_a_zero_charge_is_still_confirmed():
    free = Charge("the fee", {"credits": Decimal(0)}, "R-BOOK-1", "expected_fee")
    confirm(free, Decimal(0))
    with pytest.raises(ChargeNotConfirmed):
        confirm(free, None)
    with pytest.raises(ChargeNotConfirmed):
        confirm(free, Decimal(1))
