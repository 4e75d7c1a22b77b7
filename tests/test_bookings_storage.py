"""Bookings on a real database, SQLite and PostgreSQL: cost at the rate card in force,
consumption and cancellation as ledger entries, the cost and the fee taken only as they
were shown (D45), credits of a contract year used within it (R-FLEX-3), the R-ORD-5
deadline, R-HRS-2 business hours, the provider's cancellation of a workshop (R-BOOK-2),
recording consent (R-BOOK-3), tenant scoping, and a race of real threads for the last
credits (R-CRED-2)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from order_documents import order
from unisupport.errors import InvalidInput, NotFound
from unisupport.ledger.charge import ChargeNotConfirmed
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.bookings import BookingRequest, cancel_booking, create_booking, quote, quote_cancellation
from unisupport.services.orders import import_order, order_by_number
from unisupport.storage.tables import LedgerEntryRow

PARIS = ZoneInfo("Europe/Paris")
IMPORTED = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def balance(session, key):
    row = order_by_number(session, "ESO-TEST-1")
    return ledger.quick_balances(session, customer_id=row.customer_id, order_id=row.id)[key]


def book(session, request, *, actor="admin", provider=False, now=MARCH):
    """Quote, then book confirming the cost that was shown (D45)."""
    shown = quote(session, request, now=now, provider=provider)
    return create_booking(session, request, actor=actor, provider=provider, now=now, expected_cost=shown.cost)


def cancel(session, booking_id, *, now, actor="admin"):
    """Quote the fee, then cancel confirming it (R-BOOK-1)."""
    shown = quote_cancellation(session, booking_id, now=now)
    return cancel_booking(session, booking_id, actor=actor, now=now, expected_fee=shown.fee)


def workshop(day=date(2026, 4, 1), attendees=3, **kw):
    return BookingRequest(
        order="ESO-TEST-1",
        site="paris",
        service="workshops",
        scheduled_on=day,
        funding="credits",
        unit="per-attendee",
        attendees=attendees,
        **kw,
    )


def briefing_request():
    """One technical update briefing on 1 April 2026: 20 credits, not a workshop."""
    return BookingRequest(
        order="ESO-TEST-1",
        site="paris",
        service="technical-update-briefings",
        scheduled_on=date(2026, 4, 1),
        funding="credits",
        unit="engagement",
        quantity=Decimal(1),
    )


@pytest.fixture
def active(session):
    import_order(session, order(), actor="ops", now=IMPORTED)
    return session


def test_credits_booking_costs_the_rate_in_force_on_the_booking_date(active):
    booking = book(active, workshop(), actor="admin@northwind.example", provider=False, now=MARCH)
    # Card of 2024-09-01: 8 credits per attendee.
    assert booking.cost == Decimal("24") and booking.cost_unit == "credits"
    assert "rate card global-2024-09 of 2024-09-01" in booking.cost_explanation["text"]
    assert balance(active, "line:credits-y1") == Decimal("76")
    later = book(
        active, workshop(day=date(2026, 9, 1)), actor="x", provider=False, now=datetime(2026, 7, 1, 9, tzinfo=UTC)
    )
    # Card of 2026-07-01: 7.5 per attendee; 22.5 rounds half up to 23 (R-CRED-1).
    assert later.cost == Decimal("23")


def test_cancellation_seven_days_before_costs_half(active):
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    week_before = datetime(2026, 3, 25, 10, 0, tzinfo=PARIS)
    shown = quote_cancellation(active, booking.id, now=week_before)
    assert (shown.terms.notice_days, shown.terms.fee_percent, shown.fee, shown.refund) == (
        7,
        50,
        Decimal("12"),
        Decimal("12"),
    )
    assert balance(active, "line:credits-y1") == Decimal("76")  # quoting writes nothing
    cancel_booking(active, booking.id, actor="admin", now=week_before, expected_fee=shown.fee)
    assert balance(active, "line:credits-y1") == Decimal("88")
    entries = active.scalars(
        select(LedgerEntryRow).where(LedgerEntryRow.booking_id == booking.id).order_by(LedgerEntryRow.id)
    ).all()
    assert [(e.kind, e.amount, e.rule) for e in entries] == [
        ("consume", Decimal("-24"), "R-CRED-1"),
        ("refund", Decimal("24"), "R-BOOK-1"),
        ("fee", Decimal("-12"), "R-BOOK-1"),
    ]
    assert booking.status == "cancelled" and booking.fee == Decimal("12")


def test_cancellation_fourteen_days_before_is_free(active):
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    assert cancel(active, booking.id, now=datetime(2026, 3, 18, 10, 0, tzinfo=PARIS)).fee == 0
    assert balance(active, "line:credits-y1") == Decimal("100")


def test_cancellation_five_days_before_costs_everything(active):
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    quoted = cancel(active, booking.id, now=datetime(2026, 3, 27, 10, 0, tzinfo=PARIS))
    assert quoted.fee == Decimal("24") and balance(active, "line:credits-y1") == Decimal("76")


def test_a_fee_that_changed_since_it_was_shown_is_not_charged(active):
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    with pytest.raises(ChargeNotConfirmed) as info:
        cancel_booking(
            active, booking.id, actor="admin", now=datetime(2026, 3, 27, 10, tzinfo=PARIS), expected_fee=Decimal("12")
        )
    assert (
        info.value.rule == "R-BOOK-1" and "is now 24 credits" in info.value.message and "not 12" in info.value.message
    )
    assert booking.status == "scheduled" and balance(active, "line:credits-y1") == Decimal("76")


def test_a_cancellation_that_does_not_confirm_the_fee_changes_nothing_and_says_the_fee(active):
    """Issue 8: a cancellation without ``expected_fee`` was charged unseen (R-BOOK-1)."""
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    two_days_before = datetime(2026, 3, 30, 10, tzinfo=PARIS)
    with pytest.raises(ChargeNotConfirmed) as info:
        cancel_booking(active, booking.id, actor="admin", now=two_days_before)
    refused = info.value
    assert (refused.rule, refused.field) == ("R-BOOK-1", "expected_fee")
    assert refused.details["charge"] == {"credits": "24"} and refused.details["confirm_with"] == {"expected_fee": "24"}
    assert "24 credits" in refused.message and "100 %" in refused.message
    assert booking.status == "scheduled" and balance(active, "line:credits-y1") == Decimal("76")
    entries = active.scalars(select(LedgerEntryRow).where(LedgerEntryRow.booking_id == booking.id)).all()
    assert [e.kind for e in entries] == ["consume"]
    cancel_booking(active, booking.id, actor="admin", now=two_days_before, expected_fee=Decimal("24"))
    assert booking.status == "cancelled"


def test_a_booking_is_made_only_with_the_cost_it_was_shown(active):
    """D45: the cost is taken only as the caller saw it."""
    with pytest.raises(ChargeNotConfirmed) as info:
        create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
    assert (info.value.rule, info.value.field, info.value.details["charge"]) == (
        "R-CRED-1",
        "expected_cost",
        {"credits": "24"},
    )
    with pytest.raises(ChargeNotConfirmed, match="not 23"):
        create_booking(active, workshop(), actor="admin", provider=False, now=MARCH, expected_cost=Decimal("23"))
    assert balance(active, "line:credits-y1") == Decimal("100")
    booked = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH, expected_cost=Decimal("24"))
    assert booked.cost == Decimal("24") and balance(active, "line:credits-y1") == Decimal("76")


def test_provider_cancellation_of_a_workshop_refunds_in_full(active):
    booking = book(active, workshop(minimum_registrations=8), actor="admin", provider=False, now=MARCH)
    quoted = cancel_booking(
        active,
        booking.id,
        actor="provider",
        now=datetime(2026, 3, 30, 10, tzinfo=PARIS),
        by_provider=True,
        reason="3 of 8 minimum registrations",
    )
    assert quoted.terms.rule == "R-BOOK-2" and quoted.fee == 0
    assert balance(active, "line:credits-y1") == Decimal("100")
    assert booking.status == "cancelled-by-provider"


def test_the_provider_cancels_only_a_workshop_below_its_minimum_registrations(active):
    """R-BOOK-2: ``check_provider_cancellation`` guards every provider cancellation."""
    late = datetime(2026, 3, 30, 10, tzinfo=PARIS)
    reached = book(active, workshop(minimum_registrations=3), now=MARCH)  # 3 attendees, minimum 3
    no_minimum = book(active, workshop(), now=MARCH)
    briefing = book(active, briefing_request(), now=MARCH)
    cases = [
        (reached.id, None, "registered"),
        (no_minimum.id, None, "by_provider"),
        (briefing.id, None, "by_provider"),
        (reached.id, 3, "registered"),
    ]
    for booking_id, registered, field in cases:
        with pytest.raises(Refused) as info:
            cancel_booking(active, booking_id, actor="csam", now=late, by_provider=True, registered=registered)
        assert (info.value.rule, info.value.field) == ("R-BOOK-2", field)
    done = cancel_booking(active, reached.id, actor="csam", now=late, by_provider=True, registered=2)
    assert done.fee == 0 and "2 of 3 minimum registrations" in done.terms.sentence
    with pytest.raises(InvalidInput) as info:
        book(active, dataclasses.replace(briefing_request(), minimum_registrations=5), now=MARCH)
    assert info.value.field == "minimum_registrations"


def test_a_recorded_workshop_needs_the_attendees_written_consent(active):
    """R-BOOK-3: ``check_recording_consent`` guards every booking that is recorded."""
    with pytest.raises(Refused) as info:
        book(active, workshop(recording=True, recording_consent="  "), now=MARCH)
    assert (info.value.rule, info.value.field) == ("R-BOOK-3", "recording_consent")
    assert balance(active, "line:credits-y1") == Decimal("100")
    recorded = book(active, workshop(recording=True, recording_consent="forms signed by the 3 attendees"), now=MARCH)
    assert recorded.recording_consent == "forms signed by the 3 attendees"
    assert book(active, workshop(recording_consent="ignored"), now=MARCH).recording_consent is None


def test_every_service_refuses_an_end_before_its_start(active):
    """Issue 8: a workshop ending before it starts was booked; hour-based ones were refused."""
    start = datetime(2026, 4, 1, 10, 0, tzinfo=PARIS)
    for request in (
        workshop(starts_at=start, ends_at=datetime(2020, 1, 1, tzinfo=PARIS)),
        workshop(starts_at=start, ends_at=start),
        dataclasses.replace(briefing_request(), starts_at=start, ends_at=datetime(2026, 4, 1, 9, tzinfo=PARIS)),
    ):
        with pytest.raises(InvalidInput) as info:
            quote(active, request, now=MARCH, provider=False)
        assert info.value.field == "ends_at"
    with pytest.raises(InvalidInput) as info:
        quote(active, workshop(ends_at=start), now=MARCH, provider=False)
    assert info.value.field == "starts_at"
    with pytest.raises(InvalidInput) as info:  # the times are those of the booked day
        quote(
            active,
            workshop(starts_at=start.replace(day=2), ends_at=start.replace(day=2, hour=12)),
            now=MARCH,
            provider=False,
        )
    assert info.value.field == "starts_at"
    booked = book(active, workshop(starts_at=start, ends_at=start.replace(hour=16)), now=MARCH)
    assert booked.ends_at > booked.starts_at


def test_cancelling_a_paid_booking_charges_the_fee_in_money(active):
    request = BookingRequest(
        order="ESO-TEST-1",
        site="paris",
        service="workshops",
        scheduled_on=date(2026, 4, 1),
        funding="paid",
        unit="per-attendee",
        attendees=2,
        line="workshops-paid",
    )
    booking = book(active, request, actor="admin", provider=False, now=MARCH)
    assert balance(active, "line:workshops-paid") == Decimal("8")
    quoted = cancel(active, booking.id, now=datetime(2026, 3, 25, 10, tzinfo=PARIS))
    # 2 seats of 1,500.00 (15,000 for 10) at 50 %.
    assert (quoted.fee, quoted.fee_unit) == (Decimal("1500.00"), "USD")
    assert balance(active, "line:workshops-paid") == Decimal("10")
    assert balance(active, "fees:USD") == Decimal("-1500.00")


def test_requests_later_than_60_days_before_the_end_are_refused_unless_overridden(active):
    late = datetime(2027, 11, 2, 10, 0, tzinfo=PARIS)  # 59 days before 2027-12-31
    with pytest.raises(Refused) as info:
        book(active, workshop(day=date(2027, 12, 1)), actor="admin", provider=False, now=late)
    assert info.value.rule == "R-ORD-5"
    booking = book(
        active, workshop(day=date(2027, 12, 1), override_reason="renewal agreed"), actor="csam", provider=True, now=late
    )
    assert booking.override_reason == "renewal agreed"
    on_time = datetime(2027, 11, 1, 10, 0, tzinfo=PARIS)  # exactly 60 days before
    book(active, workshop(day=date(2027, 12, 2)), actor="admin", provider=False, now=on_time)


def test_designated_engineering_hours_only_inside_business_hours(active):
    def de(start, end):
        return BookingRequest(
            order="ESO-TEST-1",
            site="paris",
            service="designated-engineering",
            scheduled_on=start.date(),
            funding="hours",
            unit="hours",
            line="de-paris",
            starts_at=start,
            ends_at=end,
        )

    ok = book(
        active,
        de(datetime(2026, 3, 4, 9, 0, tzinfo=PARIS), datetime(2026, 3, 4, 12, 30, tzinfo=PARIS)),
        actor="a",
        provider=False,
        now=MARCH,
    )
    assert ok.cost == Decimal("3.5") and balance(active, "line:de-paris") == Decimal("76.5")
    with pytest.raises(Refused) as info:
        book(
            active,
            de(datetime(2026, 3, 4, 16, 0, tzinfo=PARIS), datetime(2026, 3, 4, 18, 0, tzinfo=PARIS)),
            actor="a",
            provider=False,
            now=MARCH,
        )
    assert info.value.rule == "R-HRS-2" and "17:30" in info.value.message
    with pytest.raises(Refused, match="Easter|Pâques|holiday"):
        book(
            active,
            de(datetime(2026, 4, 6, 10, 0, tzinfo=PARIS), datetime(2026, 4, 6, 11, 0, tzinfo=PARIS)),
            actor="a",
            provider=False,
            now=MARCH,
        )


def test_a_booking_beyond_the_credits_held_is_refused(active):
    with pytest.raises(Refused) as info:
        book(active, workshop(attendees=19), actor="admin", provider=False, now=MARCH)  # 152 > 100 + 50
    assert info.value.rule == "R-CRED-2" and (info.value.details["available"], info.value.details["held"]) == (
        "100",
        "150",
    )
    assert balance(active, "line:credits-y1") == Decimal("100") and balance(active, "line:credits-y2") == Decimal("50")


def test_a_year_one_booking_never_spends_year_two_credits(active):
    """Issue 8 (R-FLEX-3, D17): 120 credits on a year-1 date took 100 from year 1 and
    20 from year 2; year 2's credits are used in year 2."""
    with pytest.raises(Refused) as info:
        book(active, workshop(attendees=15))  # 120 credits on 2026-04-01; year 1 holds 100
    refused = info.value
    assert (refused.rule, refused.field) == ("R-FLEX-3", "funding")
    assert refused.details["by_contract_year"] == {"1": "100", "2": "50"}
    assert (refused.details["cost"], refused.details["available"], refused.details["held"]) == ("120", "100", "150")
    assert [a["usable_on_the_day"] for a in refused.details["accounts"]] == [True, False]
    assert "contract year 1: 100; contract year 2: 50" in refused.message
    assert balance(active, "line:credits-y1") == 100 and balance(active, "line:credits-y2") == 50
    book(active, workshop(day=date(2027, 3, 1), attendees=5))  # 40 credits in year 2: year 2's
    assert balance(active, "line:credits-y1") == 100 and balance(active, "line:credits-y2") == 10


def test_credits_that_expire_first_are_spent_first_among_those_usable_that_day(session):
    document = order()
    document["lines"].append(
        {
            "id": "credits-paid",
            "service": "proactive-credits",
            "quantity": "30",
            "unit": "credits",
            "price": "12000.00",
            "funding": "paid",
        }
    )
    import_order(session, document, actor="ops", now=IMPORTED)
    book(session, workshop(attendees=15))  # 120 in 2026: year 1's 100 (they end first), then 20 paid ones
    assert (balance(session, "line:credits-y1"), balance(session, "line:credits-paid")) == (0, 10)
    assert balance(session, "line:credits-y2") == 50
    book(
        session, workshop(day=date(2027, 3, 1), attendees=7)
    )  # 56 in 2027: year 2's 50 (both end with the term: the first line first), then 6 paid ones
    assert (balance(session, "line:credits-y2"), balance(session, "line:credits-paid")) == (0, 4)


def test_a_line_paid_with_a_later_years_allocation_waits_for_that_year(session):
    """R-FLEX-3 for lines too: year 2's hours are not used in year 1."""
    document = order()
    document["lines"].append(
        {
            "id": "de-paris-y2",
            "service": "designated-engineering",
            "quantity": "40",
            "unit": "hours",
            "site": "paris",
            "price": "15000.00",
            "funding": "flex",
            "contract_year": 2,
        }
    )
    import_order(session, document, actor="ops", now=IMPORTED)

    def hours(day):
        return BookingRequest(
            order="ESO-TEST-1",
            site="paris",
            service="designated-engineering",
            scheduled_on=day,
            funding="hours",
            unit="hours",
            line="de-paris-y2",
            starts_at=datetime.combine(day, datetime.min.time().replace(hour=9), PARIS),
            ends_at=datetime.combine(day, datetime.min.time().replace(hour=12), PARIS),
        )

    with pytest.raises(Refused) as info:
        book(session, hours(date(2026, 3, 4)))
    assert (info.value.rule, info.value.field) == ("R-FLEX-3", "scheduled_on")
    assert "from 2027-01-01 until 2027-12-31" in info.value.message
    assert book(session, hours(date(2027, 3, 3))).cost == Decimal("3")
    assert balance(session, "line:de-paris-y2") == Decimal("37")


def test_services_are_delivered_only_at_the_customers_own_sites(active):
    """R-ORD-6 as far as data goes: a booking names one of the order's sites, never a
    place outside the contract (such as one of the customer's own customers)."""
    with pytest.raises(InvalidInput) as error:
        book(
            active,
            dataclasses.replace(workshop(), site="a-customers-customer"),
            actor="admin",
            provider=False,
            now=MARCH,
        )
    assert error.value.field == "site" and error.value.rule == "R-MC-1"
    assert balance(active, "line:credits-y1") == Decimal("100")  # nothing spent


def test_another_customers_booking_looks_missing(active):
    booking = book(active, workshop(), actor="admin", provider=False, now=MARCH)
    with pytest.raises(NotFound):
        quote_cancellation(active, booking.id, now=MARCH, customer_id=booking.customer_id + 1000)


def test_two_clients_spending_the_last_credits_at_once_exactly_one_succeeds(fresh_database):
    """R-CRED-2 under concurrency: real threads, real transactions, on each database."""
    one_year = order()
    one_year["lines"] = [line for line in one_year["lines"] if line["id"] != "credits-y2"]  # 100 credits in all
    with fresh_database.transaction() as session:
        import_order(session, one_year, actor="ops", now=IMPORTED)
        book(session, workshop(attendees=10), actor="setup", provider=False, now=MARCH)  # 80 credits
    with fresh_database.transaction() as session:
        assert balance(session, "line:credits-y1") == Decimal("20")

    # Each client books 2 attendees (16 credits): either alone fits, both do not.
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def client(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            with fresh_database.transaction() as session:
                book(session, workshop(attendees=2), actor=name, provider=False, now=MARCH)  # 16 of 20
            outcomes.append("booked")
        except Refused as exc:
            outcomes.append(exc.rule or "refused")

    threads = [threading.Thread(target=client, args=(f"client-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["R-CRED-2", "booked"]
    with fresh_database.transaction() as session:
        assert balance(session, "line:credits-y1") == Decimal("4")
        row = order_by_number(session, "ESO-TEST-1")
        assert ledger.verify(session, customer_id=row.customer_id, order_id=row.id) == []
