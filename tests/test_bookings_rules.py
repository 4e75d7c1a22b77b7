"""Bookings as pure rules: dated rate cards (R-CAT-2), the credits a booking costs
(R-CRED-1), cancellation fees (R-BOOK-1, R-BOOK-2) and the checks a booking passes
(R-ORD-1, R-ORD-5, R-HRS-2, R-BOOK-2, R-BOOK-3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from unisupport.bookings.booking_rules import (
    check_business_hours,
    check_recording_consent,
    check_request_deadline,
    check_within_term,
    check_workshop_registrations,
    workshop_quantity,
)
from unisupport.bookings.cancellation import (
    CostUnit,
    cancellation_terms,
    fee_amount,
    provider_cancellation_terms,
    refund_amount,
    schedule,
)
from unisupport.bookings.cost import cost_of, credits_cost
from unisupport.bookings.rate_card import RateCards, default_rate_cards
from unisupport.catalog import default_catalog
from unisupport.catalog.catalog import Unit
from unisupport.errors import DataFileError, InvalidInput
from unisupport.refusal import Refused
from unisupport.sla.calendar import Calendar

START = date(2026, 3, 20)  # a scheduled start date
PARIS = ZoneInfo("Europe/Paris")


def cancelled(days_before: int):
    return cancellation_terms(START, START - timedelta(days=days_before))


# --- R-BOOK-1: cancellation fees -------------------------------------------------------


def test_cancellation_fourteen_days_before_is_free():
    terms = cancelled(14)
    assert (terms.notice_days, terms.fee_percent, terms.refund_percent, terms.rule) == (14, 0, 100, "R-BOOK-1")
    assert "full refund" in terms.sentence and "R-BOOK-1" in terms.sentence


def test_cancellation_thirteen_days_before_costs_half():
    assert cancelled(13).fee_percent == 50


def test_cancellation_six_days_before_costs_half():
    terms = cancelled(6)
    assert (terms.notice_days, terms.fee_percent) == (6, 50)
    assert terms.sentence == (
        "Cancelled on 2026-03-14, 6 days before the start on 2026-03-20: "
        "a fee of 50 % of the cost applies (R-BOOK-1: 6–13 days' notice)."
    )


def test_cancellation_five_days_before_costs_everything():
    assert cancelled(5).fee_percent == 100


def test_cancellation_on_the_start_date_costs_everything():
    terms = cancelled(0)
    assert (terms.notice_days, terms.fee_percent) == (0, 100)
    assert "the day of the start" in terms.sentence


def test_cancellation_after_the_start_costs_everything():
    terms = cancelled(-3)
    assert (terms.notice_days, terms.fee_percent) == (-3, 100)
    assert "3 days after the start" in terms.sentence


def test_cancellation_notice_counts_calendar_days_across_month_and_year_ends():
    assert cancellation_terms(date(2027, 1, 3), date(2026, 12, 20)).notice_days == 14
    assert cancellation_terms(date(2028, 3, 1), date(2028, 2, 24)).notice_days == 6  # leap year


def test_cancellation_uses_local_dates_not_datetimes():
    with pytest.raises(InvalidInput) as caught:
        cancellation_terms(START, datetime(2026, 3, 1, 23, 59, tzinfo=PARIS))
    assert caught.value.field == "cancelled_on"


def test_cancellation_schedule_lists_the_three_bands_for_display():
    assert "; ".join(str(b) for b in schedule()) == ("≥ 14 days: full refund; 6–13 days: 50 % fee; ≤ 5 days: 100 % fee")


@pytest.mark.parametrize(
    ("cost", "unit", "days_before", "fee"),
    [
        (Decimal(23), CostUnit.CREDITS, 6, Decimal(12)),  # 11.5 → 12, half up
        (Decimal(22), CostUnit.CREDITS, 6, Decimal(11)),
        (Decimal(23), "credits", 14, Decimal(0)),
        (Decimal(23), "credits", 2, Decimal(23)),
        (Decimal("7.25"), CostUnit.HOURS, 10, Decimal("3.63")),  # 3.625 → 3.63
        (Decimal("100.01"), CostUnit.MONEY, 13, Decimal("50.01")),  # 50.005 → 50.01
        (Decimal("100.01"), "money", 1, Decimal("100.01")),
    ],
)
def test_cancellation_fee_is_rounded_half_up_in_the_cost_unit(cost, unit, days_before, fee):
    terms = cancelled(days_before)
    assert fee_amount(cost, terms, unit) == fee
    assert refund_amount(cost, terms, unit) == cost - fee


def test_cancellation_fee_refuses_an_unknown_unit_and_a_negative_cost():
    with pytest.raises(InvalidInput) as caught:
        fee_amount(Decimal(10), cancelled(6), "minutes")
    assert caught.value.field == "unit"
    with pytest.raises(InvalidInput) as caught:
        fee_amount(Decimal(-1), cancelled(6), "credits")
    assert caught.value.field == "cost"
    with pytest.raises(InvalidInput):
        fee_amount(10.5, cancelled(6), "credits")  # a float is refused, not guessed
    with pytest.raises(InvalidInput) as caught:
        fee_amount(Decimal("22.5"), cancelled(6), "credits")  # credits are whole (R-CRED-1)
    assert "a whole number of credits" in str(caught.value)


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    earlier=st.integers(min_value=-30, max_value=60),
    later=st.integers(min_value=-30, max_value=60),
)
def test_cancellation_fee_never_falls_with_less_notice(start, earlier, later):
    """Less notice never costs less (R-BOOK-1 is monotonic)."""
    more_notice, less_notice = max(earlier, later), min(earlier, later)
    a = cancellation_terms(start, start - timedelta(days=more_notice))
    b = cancellation_terms(start, start - timedelta(days=less_notice))
    assert a.fee_percent <= b.fee_percent
    expected = 0 if more_notice >= 14 else 50 if more_notice >= 6 else 100
    assert a.fee_percent == expected


@given(
    cost=st.decimals(min_value=0, max_value=10**7, places=2),
    days_before=st.integers(min_value=-5, max_value=30),
    unit=st.sampled_from(list(CostUnit)),
)
def test_cancellation_fee_and_refund_add_up_to_the_cost(cost, days_before, unit):
    terms = cancelled(days_before)
    if unit is CostUnit.CREDITS:
        cost = cost.to_integral_value()  # a credits cost is whole (R-CRED-1)
    fee = fee_amount(cost, terms, unit)
    refund = refund_amount(cost, terms, unit)
    assert Decimal(0) <= fee <= cost and Decimal(0) <= refund <= cost
    assert fee + refund == cost


def test_provider_cancellation_of_a_workshop_below_minimum_refunds_in_full():
    check = check_workshop_registrations(minimum=8, registered=3)
    assert check.provider_may_cancel and check.rule == "R-BOOK-2"
    terms = provider_cancellation_terms(START, START - timedelta(days=1), reason="3 of 8 registrations")
    assert (terms.fee_percent, terms.refund_percent, terms.rule, terms.by_provider) == (0, 100, "R-BOOK-2", True)
    assert fee_amount(Decimal(110), terms, "credits") == 0
    assert "by the provider (3 of 8 registrations)" in terms.sentence


def test_provider_cancellation_needs_a_reason():
    with pytest.raises(InvalidInput) as caught:
        provider_cancellation_terms(START, START, reason="  ")
    assert (caught.value.field, caught.value.rule) == ("reason", "R-BOOK-2")


def test_workshop_at_its_minimum_registrations_cannot_be_cancelled_by_the_provider():
    assert not check_workshop_registrations(minimum=8, registered=8).provider_may_cancel
    with pytest.raises(InvalidInput):
        check_workshop_registrations(minimum=8, registered=-1)


# --- R-CRED-1: credits rounded to the nearest whole credit, half up -------------------


@pytest.mark.parametrize(
    ("rate", "quantity", "credits"),
    [
        (Decimal("7.5"), Decimal(3), Decimal(23)),  # 22.5 → 23
        (Decimal("22.49"), Decimal(1), Decimal(22)),
        (Decimal("0.5"), Decimal(1), Decimal(1)),
        (Decimal("2.2"), Decimal("7.5"), Decimal(17)),  # 16.5 → 17
        (Decimal("2.2"), Decimal("7.25"), Decimal(16)),  # 15.95 → 16
        (Decimal(40), 2, Decimal(80)),
    ],
)
def test_credits_round_half_up(rate, quantity, credits):
    assert credits_cost(rate, quantity) == credits


def test_credits_cost_refuses_floats_and_non_positive_values():
    for rate, quantity, field in [
        (7.5, Decimal(3), "rate_per_unit"),
        (Decimal(0), Decimal(3), "rate_per_unit"),
        (Decimal(8), Decimal(-1), "quantity"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            credits_cost(rate, quantity)
        assert caught.value.field == field


@given(
    rate=st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2),
    quantity=st.decimals(min_value=Decimal("0.25"), max_value=500, places=2),
)
def test_credits_are_within_half_a_credit_of_the_exact_value_rounding_halves_up(rate, quantity):
    exact = rate * quantity
    credits = credits_cost(rate, quantity)
    assert credits == credits.to_integral_value()
    assert -Decimal("0.5") < credits - exact <= Decimal("0.5")


def test_credits_cost_explains_itself_with_the_rate_card():
    rate = default_rate_cards().rate("global-2024-09", "workshops", "per-attendee", date(2026, 7, 1))
    cost = cost_of(rate, Decimal(3))
    assert cost.credits == 23
    assert (
        cost.explain()
        == "3 attendees × 7.5 credits = 22.5 → 23 credits (R-CRED-1, rate card global-2024-09 of 2026-07-01)"
    )


def test_credits_cost_explanation_shows_no_arrow_when_nothing_was_rounded():
    rate = default_rate_cards().rate("global-2024-09", "chalk-talks", "engagement", date(2025, 1, 15))
    assert (
        str(cost_of(rate, Decimal(2)))
        == "2 engagements × 40 credits = 80 credits (R-CRED-1, rate card global-2024-09 of 2024-09-01)"
    )


# --- R-CAT-2: the rate card in force on the booking date -------------------------------


def test_rate_card_the_day_before_a_new_card_is_the_old_one():
    rate = default_rate_cards().rate("global-2024-09", "workshops", "per-attendee", date(2026, 6, 30))
    assert (rate.value, rate.effective_from, rate.card) == (
        Decimal(8),
        date(2024, 9, 1),
        "global-2024-09 of 2024-09-01",
    )


def test_rate_card_on_the_day_of_a_new_card_is_the_new_one():
    rate = default_rate_cards().rate("global-2024-09", "workshops", "per-attendee", date(2026, 7, 1))
    assert (rate.value, rate.effective_from) == (Decimal("7.5"), date(2026, 7, 1))
    assert str(rate) == "7.5 credits per attendee (rate card global-2024-09 of 2026-07-01, R-CAT-2)"


def test_rate_cards_are_per_price_list():
    cards = default_rate_cards()
    assert cards.rate("europe-2024-09", "workshops", "dedicated-delivery", date(2026, 7, 1)).value == 105
    assert cards.rate("global-2024-09", "workshops", "dedicated-delivery", date(2026, 7, 1)).value == 115


def test_hour_based_services_have_a_credits_per_hour_rate_on_every_card():
    cards = default_rate_cards()
    hour_based = [s.code for s in default_catalog() if s.hour_based]
    assert {
        "designated-engineering",
        "enhanced-designated-engineering",
        "reactive-enhanced-designated-engineering",
        "development-assistance",
        "developer-platform-advisory",
    } <= set(hour_based)
    for card in cards.cards():
        for code in hour_based:
            assert card.rates[code]["hours"] > 0, (card.identity, code)


def test_no_rate_card_in_force_before_the_first_is_refused():
    with pytest.raises(Refused) as caught:
        default_rate_cards().rate("global-2024-09", "workshops", "per-attendee", date(2024, 8, 31))
    assert caught.value.rule == "R-CAT-2"
    assert "first takes effect on 2024-09-01" in str(caught.value)


def test_a_service_without_a_rate_is_refused_and_unknown_inputs_are_invalid():
    cards = default_rate_cards()
    with pytest.raises(Refused) as caught:
        cards.rate("global-2024-09", "mcsap", "annual", date(2025, 1, 1))
    assert (caught.value.rule, caught.value.field) == ("R-CAT-2", "service")
    with pytest.raises(InvalidInput) as caught:
        cards.rate("global-2024-09", "workshopz", "per-attendee", date(2025, 1, 1))
    assert caught.value.field == "service" and "workshops" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        cards.rate("global-2024-09", "workshops", "hours", date(2025, 1, 1))
    assert caught.value.field == "unit"
    with pytest.raises(InvalidInput) as caught:
        cards.rate("asia-2024-09", "workshops", "per-attendee", date(2025, 1, 1))
    assert caught.value.field == "price_list"


# --- rate cards: broken files name file, entry and field -------------------------------


def write_cards(tmp_path: Path, *cards: dict) -> Path:
    path = tmp_path / "rate-cards.yaml"
    path.write_text(yaml.safe_dump({"version": "test", "rate_cards": list(cards)}, sort_keys=False), encoding="utf-8")
    return path


def card(**changes) -> dict:
    body = {
        "price_list": "global-2024-09",
        "effective_from": date(2024, 9, 1),
        "rates": {"workshops": {"per-attendee": 8}},
    }
    return {**body, **changes}


def load_error(path: Path) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        RateCards.load(path)
    return caught.value


def test_a_valid_rate_card_file_loads_with_exact_decimals(tmp_path):
    cards = RateCards.load(write_cards(tmp_path, card(rates={"workshops": {"per-attendee": 0.1}})))
    assert cards.rate("global-2024-09", "workshops", "per-attendee", date(2025, 1, 1)).value == Decimal("0.1")


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        (
            card(rates={"workshopz": {"per-attendee": 8}}),
            "rates.workshopz",
            "unknown service 'workshopz' (did you mean workshops",
        ),
        (card(rates={"workshops": {"hours": 8}}), "rates.workshops.hours", "workshops is not sold per 'hours'"),
        (card(rates={"workshops": {"per-attendee": 0}}), "rates.workshops.per-attendee", "greater than 0"),
        (card(rates={"workshops": {"per-attendee": -2}}), "rates.workshops.per-attendee", "greater than 0"),
        (card(rates={"workshops": {"per-attendee": "eight"}}), "rates.workshops.per-attendee", "decimal"),
        (card(rates={"workshops": {"per-attendee": True}}), "rates.workshops.per-attendee", "not true/false"),
        (card(price_list="asia-2024-09"), "price_list", "unknown price list 'asia-2024-09'"),
        (card(colour="blue"), "colour", "Extra inputs are not permitted"),
    ],
)
def test_broken_rate_card_is_refused_naming_file_entry_and_field(tmp_path, entry, field, message):
    path = write_cards(tmp_path, entry)
    error = load_error(path)
    prefix = f"{path}: entry '{entry['price_list']} of 2024-09-01': field '{field}': "
    assert str(error).startswith(prefix), str(error)
    assert message in str(error)


def test_two_cards_of_one_price_list_on_the_same_date_are_refused(tmp_path):
    path = write_cards(tmp_path, card(), card(rates={"workshops": {"per-attendee": 9}}))
    error = load_error(path)
    assert str(error) == (
        f"{path}: entry 'global-2024-09 of 2024-09-01': field 'effective_from': "
        "a card of global-2024-09 already takes effect on 2024-09-01"
    )
    # The same date on another price list is fine.
    RateCards.load(write_cards(tmp_path, card(), card(price_list="europe-2024-09")))


def test_a_card_without_a_date_is_named_by_its_position(tmp_path):
    entry = card()
    del entry["effective_from"]
    error = load_error(write_cards(tmp_path, card(effective_from=date(2025, 1, 1)), entry))
    assert "entry '#2': field 'effective_from': Field required" in str(error)


# --- R-ORD-5: requests no later than 60 days before the order's end -------------------

ORDER_END = date(2026, 12, 31)


def test_request_sixty_one_days_before_the_end_is_on_time():
    check = check_request_deadline(
        ORDER_END, ORDER_END - timedelta(days=61), override_reason=None, overridden_by_provider=False
    )
    assert (check.overridden, check.deadline, check.rule) == (False, date(2026, 11, 1), "R-ORD-5")


def test_request_sixty_days_before_the_end_is_the_last_day_on_time():
    check = check_request_deadline(ORDER_END, date(2026, 11, 1), override_reason=None, overridden_by_provider=False)
    assert not check.overridden


def test_request_fifty_nine_days_before_the_end_is_refused():
    with pytest.raises(Refused) as caught:
        check_request_deadline(ORDER_END, date(2026, 11, 2), override_reason=None, overridden_by_provider=False)
    assert (caught.value.rule, caught.value.field) == ("R-ORD-5", "requested_on")
    assert "no later than 2026-11-01" in str(caught.value)


def test_late_request_passes_with_a_provider_override_and_a_reason():
    check = check_request_deadline(
        ORDER_END, date(2026, 12, 1), override_reason=" renewal signed ", overridden_by_provider=True
    )
    assert (check.overridden, check.override_reason) == (True, "renewal signed")


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_late_request_override_needs_a_reason(reason):
    with pytest.raises(Refused) as caught:
        check_request_deadline(ORDER_END, date(2026, 12, 1), override_reason=reason, overridden_by_provider=True)
    assert (caught.value.rule, caught.value.field) == ("R-ORD-5", "override_reason")


def test_late_request_override_needs_a_provider_user():
    with pytest.raises(Refused) as caught:
        check_request_deadline(
            ORDER_END, date(2026, 12, 1), override_reason="customer asked", overridden_by_provider=False
        )
    assert caught.value.field == "requested_on" and "only a provider user may override" in str(caught.value)


# --- R-ORD-1: within the order's term --------------------------------------------------


def test_delivery_within_the_term_includes_both_ends():
    check_within_term(date(2026, 1, 1), ORDER_END, date(2026, 1, 1))
    check_within_term(date(2026, 1, 1), ORDER_END, ORDER_END)


@pytest.mark.parametrize("day", [date(2025, 12, 31), date(2027, 1, 1)])
def test_delivery_outside_the_term_is_refused(day):
    with pytest.raises(Refused) as caught:
        check_within_term(date(2026, 1, 1), ORDER_END, day, field="scheduled_start")
    assert (caught.value.rule, caught.value.field) == ("R-ORD-1", "scheduled_start")


# --- R-HRS-2: DE, EDE and REDE hours inside business hours -----------------------------


@pytest.fixture(scope="module")
def paris() -> Calendar:
    return Calendar.for_country("FR", "Europe/Paris")


@pytest.fixture(scope="module")
def paris_with_lunch() -> Calendar:
    week = {d: ["09:00-12:00", "13:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}
    return Calendar(country="FR", timezone="Europe/Paris", week=week)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)


def test_de_hours_filling_a_business_day_are_accepted(paris):
    check_business_hours(paris, at(2026, 5, 4, 9, 0), at(2026, 5, 4, 17, 30))


def test_de_hours_running_past_closing_are_refused_at_closing(paris):
    with pytest.raises(Refused) as caught:
        check_business_hours(paris, at(2026, 5, 4, 16, 0), at(2026, 5, 4, 18, 0))
    assert (caught.value.rule, caught.value.field) == ("R-HRS-2", "end")
    assert "from 2026-05-04 17:30 the site is closed" in str(caught.value)


def test_de_hours_starting_before_opening_are_refused_at_the_start(paris):
    with pytest.raises(Refused) as caught:
        check_business_hours(paris, at(2026, 5, 4, 8, 30), at(2026, 5, 4, 10, 0))
    assert caught.value.field == "start" and "from 2026-05-04 08:30" in str(caught.value)


def test_de_hours_on_a_public_holiday_are_refused_naming_it(paris):
    with pytest.raises(Refused) as caught:
        check_business_hours(paris, at(2026, 5, 1, 10, 0), at(2026, 5, 1, 12, 0))  # 1 May, a Friday
    assert "public holiday" in str(caught.value)


def test_de_hours_over_a_lunch_break_are_refused_at_noon(paris_with_lunch):
    check_business_hours(paris_with_lunch, at(2026, 5, 4, 13, 0), at(2026, 5, 4, 15, 0))
    with pytest.raises(Refused) as caught:
        check_business_hours(paris_with_lunch, at(2026, 5, 4, 11, 0), at(2026, 5, 4, 14, 0))
    assert "from 2026-05-04 12:00 the site is closed" in str(caught.value)
    assert caught.value.details["first_closed"] == "2026-05-04T12:00:00+02:00"


def test_de_hours_over_a_weekend_are_refused(paris):
    with pytest.raises(Refused) as caught:
        check_business_hours(paris, at(2026, 5, 9, 10, 0), at(2026, 5, 9, 11, 0))
    assert "not a working day (sat)" in str(caught.value)


def test_de_hours_need_aware_datetimes_and_a_positive_span(paris):
    with pytest.raises(InvalidInput) as caught:
        check_business_hours(paris, datetime(2026, 5, 4, 10), at(2026, 5, 4, 11))
    assert caught.value.field == "start"
    with pytest.raises(InvalidInput) as caught:
        check_business_hours(paris, at(2026, 5, 4, 11), at(2026, 5, 4, 11))
    assert caught.value.field == "end"


@settings(max_examples=60, deadline=None)
@given(
    start_minute=st.integers(min_value=0, max_value=14 * 24 * 60),
    length=st.integers(min_value=1, max_value=10 * 60),
)
def test_de_hours_are_accepted_exactly_when_every_minute_is_open(paris_with_lunch, start_minute, length):
    """Oracle: windows have minute precision, so a booking is inside business hours
    exactly when the site is open at the start of each of its minutes."""
    start = at(2026, 4, 27) + timedelta(minutes=start_minute)  # two weeks incl. 1 May
    minutes = [start + timedelta(minutes=k) for k in range(length)]
    closed = [m for m in minutes if not paris_with_lunch.is_open(m)]
    try:
        check_business_hours(paris_with_lunch, start, start + timedelta(minutes=length))
    except Refused as refusal:
        assert closed, "refused although every minute is open"
        assert refusal.details["first_closed"] == closed[0].astimezone(PARIS).isoformat()
    else:
        assert not closed


# --- R-BOOK-3: workshops ---------------------------------------------------------------


def test_workshop_per_attendee_counts_the_attendees():
    quantity = workshop_quantity("per-attendee", 12)
    assert (quantity.unit, quantity.quantity, quantity.attendees) == (Unit.PER_ATTENDEE, Decimal(12), 12)


def test_workshop_dedicated_delivery_is_one_delivery_with_attendees_recorded():
    quantity = workshop_quantity(Unit.DEDICATED_DELIVERY, 12)
    assert (quantity.quantity, quantity.attendees) == (Decimal(1), 12)


def test_workshop_quantity_refuses_other_units_and_no_attendee():
    with pytest.raises(InvalidInput) as caught:
        workshop_quantity("hours", 3)
    assert (caught.value.field, caught.value.rule) == ("unit", "R-BOOK-3")
    with pytest.raises(InvalidInput) as caught:
        workshop_quantity("per-attendee", 0)
    assert caught.value.field == "attendees"


def test_recording_a_workshop_needs_recorded_consent():
    check_recording_consent(recording=True, consent_recorded=True)
    check_recording_consent(recording=False, consent_recorded=False)
    with pytest.raises(Refused) as caught:
        check_recording_consent(recording=True, consent_recorded=False)
    assert (caught.value.rule, caught.value.field) == ("R-BOOK-3", "recording_consent")


def test_workshop_booking_priced_then_cancelled_six_days_before():
    """The pieces together: seats × the rate in force → credits → a 50 % fee."""
    seats = workshop_quantity("per-attendee", 3)
    rate = default_rate_cards().rate("global-2024-09", "workshops", seats.unit, date(2026, 7, 1))
    cost = cost_of(rate, seats.quantity)
    terms = cancellation_terms(date(2026, 9, 14), date(2026, 9, 8))
    assert (
        cost.credits,
        fee_amount(cost.credits, terms, "credits"),
        refund_amount(cost.credits, terms, "credits"),
    ) == (23, 12, 11)
