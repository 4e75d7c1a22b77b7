"""Bookings on a real database, SQLite and PostgreSQL: cost at the rate card in force,
consumption and cancellation as ledger entries, the R-ORD-5 deadline, R-HRS-2 business
hours, tenant scoping, and a race of real threads for the last credits (R-CRED-2)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from order_documents import order
from unisupport.errors import NotFound
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.bookings import BookingRequest, cancel_booking, create_booking, quote_cancellation
from unisupport.services.orders import import_order, order_by_number
from unisupport.storage.tables import LedgerEntryRow

PARIS = ZoneInfo("Europe/Paris")
IMPORTED = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def balance(session, key):
    row = order_by_number(session, "ESO-TEST-1")
    return ledger.quick_balances(session, customer_id=row.customer_id, order_id=row.id)[key]


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


@pytest.fixture
def active(session):
    import_order(session, order(), actor="ops", now=IMPORTED)
    return session


def test_credits_booking_costs_the_rate_in_force_on_the_booking_date(active):
    booking = create_booking(active, workshop(), actor="admin@northwind.example", provider=False, now=MARCH)
    # Card of 2024-09-01: 8 credits per attendee.
    assert booking.cost == Decimal("24") and booking.cost_unit == "credits"
    assert "rate card global-2024-09 of 2024-09-01" in booking.cost_explanation["text"]
    assert balance(active, "line:credits-y1") == Decimal("76")
    later = create_booking(
        active, workshop(day=date(2026, 9, 1)), actor="x", provider=False, now=datetime(2026, 7, 1, 9, tzinfo=UTC)
    )
    # Card of 2026-07-01: 7.5 per attendee; 22.5 rounds half up to 23 (R-CRED-1).
    assert later.cost == Decimal("23")


def test_cancellation_seven_days_before_costs_half(active):
    booking = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
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
    booking = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
    cancel_booking(active, booking.id, actor="admin", now=datetime(2026, 3, 18, 10, 0, tzinfo=PARIS))
    assert balance(active, "line:credits-y1") == Decimal("100")


def test_cancellation_five_days_before_costs_everything(active):
    booking = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
    quoted = cancel_booking(active, booking.id, actor="admin", now=datetime(2026, 3, 27, 10, 0, tzinfo=PARIS))
    assert quoted.fee == Decimal("24") and balance(active, "line:credits-y1") == Decimal("76")


def test_a_fee_that_changed_since_it_was_shown_is_not_charged(active):
    booking = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
    with pytest.raises(Refused):
        cancel_booking(
            active, booking.id, actor="admin", now=datetime(2026, 3, 27, 10, tzinfo=PARIS), expected_fee=Decimal("12")
        )


def test_provider_cancellation_of_a_workshop_refunds_in_full(active):
    booking = create_booking(active, workshop(minimum_registrations=8), actor="admin", provider=False, now=MARCH)
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
    booking = create_booking(active, request, actor="admin", provider=False, now=MARCH)
    assert balance(active, "line:workshops-paid") == Decimal("8")
    quoted = cancel_booking(active, booking.id, actor="admin", now=datetime(2026, 3, 25, 10, tzinfo=PARIS))
    # 2 seats of 1,500.00 (15,000 for 10) at 50 %.
    assert (quoted.fee, quoted.fee_unit) == (Decimal("1500.00"), "USD")
    assert balance(active, "line:workshops-paid") == Decimal("10")
    assert balance(active, "fees:USD") == Decimal("-1500.00")


def test_requests_later_than_60_days_before_the_end_are_refused_unless_overridden(active):
    late = datetime(2027, 11, 2, 10, 0, tzinfo=PARIS)  # 59 days before 2027-12-31
    with pytest.raises(Refused) as info:
        create_booking(active, workshop(day=date(2027, 12, 1)), actor="admin", provider=False, now=late)
    assert info.value.rule == "R-ORD-5"
    booking = create_booking(
        active, workshop(day=date(2027, 12, 1), override_reason="renewal agreed"), actor="csam", provider=True, now=late
    )
    assert booking.override_reason == "renewal agreed"
    on_time = datetime(2027, 11, 1, 10, 0, tzinfo=PARIS)  # exactly 60 days before
    create_booking(active, workshop(day=date(2027, 12, 2)), actor="admin", provider=False, now=on_time)


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

    ok = create_booking(
        active,
        de(datetime(2026, 3, 4, 9, 0, tzinfo=PARIS), datetime(2026, 3, 4, 12, 30, tzinfo=PARIS)),
        actor="a",
        provider=False,
        now=MARCH,
    )
    assert ok.cost == Decimal("3.5") and balance(active, "line:de-paris") == Decimal("76.5")
    with pytest.raises(Refused) as info:
        create_booking(
            active,
            de(datetime(2026, 3, 4, 16, 0, tzinfo=PARIS), datetime(2026, 3, 4, 18, 0, tzinfo=PARIS)),
            actor="a",
            provider=False,
            now=MARCH,
        )
    assert info.value.rule == "R-HRS-2" and "17:30" in info.value.message
    with pytest.raises(Refused, match="Easter|Pâques|holiday"):
        create_booking(
            active,
            de(datetime(2026, 4, 6, 10, 0, tzinfo=PARIS), datetime(2026, 4, 6, 11, 0, tzinfo=PARIS)),
            actor="a",
            provider=False,
            now=MARCH,
        )


def test_a_booking_beyond_the_credits_held_is_refused(active):
    with pytest.raises(Refused) as info:
        create_booking(active, workshop(attendees=19), actor="admin", provider=False, now=MARCH)  # 152 > 100 + 50
    assert info.value.rule == "R-CRED-2" and info.value.details["available"] == "150"
    assert balance(active, "line:credits-y1") == Decimal("100") and balance(active, "line:credits-y2") == Decimal("50")


def test_credits_that_expire_first_are_spent_first(active):
    create_booking(active, workshop(attendees=15), actor="admin", provider=False, now=MARCH)  # 120
    assert balance(active, "line:credits-y1") == 0 and balance(active, "line:credits-y2") == Decimal("30")


def test_services_are_delivered_only_at_the_customers_own_sites(active):
    """R-ORD-6 as far as data goes: a booking names one of the order's sites, never a
    place outside the contract (such as one of the customer's own customers)."""
    from unisupport.errors import InvalidInput

    with pytest.raises(InvalidInput) as error:
        create_booking(
            active,
            dataclasses.replace(workshop(), site="a-customers-customer"),
            actor="admin",
            provider=False,
            now=MARCH,
        )
    assert error.value.field == "site" and error.value.rule == "R-MC-1"
    assert balance(active, "line:credits-y1") == Decimal("100")  # nothing spent


def test_another_customers_booking_looks_missing(active):
    booking = create_booking(active, workshop(), actor="admin", provider=False, now=MARCH)
    with pytest.raises(NotFound):
        quote_cancellation(active, booking.id, now=MARCH, customer_id=booking.customer_id + 1000)


def test_two_clients_spending_the_last_credits_at_once_exactly_one_succeeds(fresh_database):
    """R-CRED-2 under concurrency: real threads, real transactions, on each database."""
    with fresh_database.transaction() as session:
        import_order(session, order(), actor="ops", now=IMPORTED)
        create_booking(session, workshop(attendees=10), actor="setup", provider=False, now=MARCH)  # 80 credits
    with fresh_database.transaction() as session:
        # 20 year-1 credits and 50 year-2 credits are left: 70 in all.
        assert balance(session, "line:credits-y1") == Decimal("20")
        assert balance(session, "line:credits-y2") == Decimal("50")

    # Each client books 7 attendees (56 credits): either alone fits, both do not.
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def client(name: str) -> None:
        try:
            barrier.wait(timeout=30)
            with fresh_database.transaction() as session:
                create_booking(session, workshop(attendees=7), actor=name, provider=False, now=MARCH)  # 56 of 70
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
        assert balance(session, "line:credits-y1") + balance(session, "line:credits-y2") == Decimal("14")
        row = order_by_number(session, "ESO-TEST-1")
        assert ledger.verify(session, customer_id=row.customer_id, order_id=row.id) == []
