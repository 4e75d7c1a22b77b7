"""Booking and cancelling proactive services (R-BOOK-1..3, R-ORD-5, R-HRS-1/2, R-CRED-1/2).

A booking is funded by proactive credits (at the rate card in force on the booking
date, rounded to the nearest whole credit), by purchased hours (hour-based services,
only inside the site's business hours), or by a paid line of the order. Its cost is
consumed from the ledger when it is booked; a cancellation refunds it and charges the
R-BOOK-1 fee as two ledger entries, and the fee is quoted before it is confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.bookings.booking_rules import (
    check_business_hours,
    check_request_deadline,
    check_within_term,
    workshop_quantity,
)
from unisupport.bookings.cancellation import (
    CancellationTerms,
    CostUnit,
    cancellation_terms,
    fee_amount,
    provider_cancellation_terms,
    schedule,
)
from unisupport.bookings.cost import cost_of
from unisupport.bookings.rate_card import default_rate_cards
from unisupport.catalog import default_catalog
from unisupport.errors import InvalidInput, NotFound
from unisupport.ledger.entitlement import CREDITS, HOURS, fees_key, line_key
from unisupport.ledger.posting import EntryKind, Posting
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services import ledger
from unisupport.services.audit import record_event
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.tables import BookingRow, LedgerAccountRow, LedgerEntryRow, OrderLineRow, OrderRow, SiteRow

FUNDINGS = ("credits", "hours", "paid")


@dataclass(frozen=True)
class BookingRequest:
    order: str  # order number
    site: str  # site code
    service: str
    scheduled_on: date  # local date at the site
    funding: str  # credits, hours, paid
    unit: str | None = None  # catalog unit; defaults to the service's usual one
    quantity: Decimal | None = None
    line: str | None = None  # the order line paying (hours, paid)
    starts_at: datetime | None = None  # hour-based services
    ends_at: datetime | None = None
    attendees: int | None = None  # workshops
    minimum_registrations: int | None = None
    override_reason: str | None = None  # R-ORD-5, provider users only


@dataclass(frozen=True)
class Quote:
    cost: Decimal
    cost_unit: str  # credits, hours, or the line's unit
    quantity: Decimal
    unit: str
    explanation: dict[str, Any]
    draws: list[tuple[str, Decimal]]  # (account key, amount taken)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cost": str(self.cost),
            "cost_unit": self.cost_unit,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "explanation": self.explanation,
            "accounts": [{"account": k, "amount": str(a)} for k, a in self.draws],
        }


def _order(session: Session, number: str, customer_id: int | None) -> OrderRow:
    query = select(OrderRow).where(OrderRow.number == number)
    if customer_id is not None:
        query = query.where(OrderRow.customer_id == customer_id)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no order {number!r}", field="order")
    return row


def _site(session: Session, order: OrderRow, code: str) -> SiteRow:
    site = session.scalar(select(SiteRow).where(SiteRow.customer_id == order.customer_id, SiteRow.code == code))
    if site is None:
        raise InvalidInput(f"order {order.number} has no site {code!r}", field="site", rule="R-MC-1")
    return site


def quote(
    session: Session, request: BookingRequest, *, now: datetime, provider: bool, customer_id: int | None = None
) -> Quote:
    """Check a booking request against every rule and price it, without writing."""
    return _prepare(session, request, now=now, provider=provider, customer_id=customer_id)[0]


def _prepare(session: Session, request: BookingRequest, *, now: datetime, provider: bool, customer_id: int | None):
    catalog = default_catalog()
    order = _order(session, request.order, customer_id)
    if order.status != OrderStatus.ACTIVE.value:
        raise Refused(
            f"order {order.number} is {order.status}: services are booked on an active order only",
            rule="R-ORD-2",
            field="order",
        )
    site = _site(session, order, request.site)
    service = catalog.get(request.service, field="service")
    if request.funding not in FUNDINGS:
        raise InvalidInput(f"funding must be one of {', '.join(FUNDINGS)}", field="funding")
    calendar = site_calendar(site)
    today = calendar.localize(now).date()  # the booking date, at the site (R-CAT-2)
    check_within_term(order.term_start, order.term_end, request.scheduled_on, field="scheduled_on")
    deadline = check_request_deadline(
        order.term_end, today, override_reason=request.override_reason, overridden_by_provider=provider
    )
    if request.scheduled_on < today:
        raise InvalidInput(
            f"{request.scheduled_on.isoformat()} is in the past at the site (today is {today.isoformat()})",
            field="scheduled_on",
        )

    unit = request.unit or service.unit
    if unit not in service.units:
        raise InvalidInput(
            f"{service.code} is not sold per {unit!r} (its units: {', '.join(service.units)})",
            field="unit",
            rule="R-CAT-1",
        )
    quantity = request.quantity
    explanation: dict[str, Any] = {
        "rule_deadline": "R-ORD-5",
        "deadline": deadline.deadline.isoformat(),
        "overridden": deadline.overridden,
        "override_reason": deadline.override_reason,
    }
    if service.code == "workshops":
        wq = workshop_quantity(unit, request.attendees or 0)
        quantity = wq.quantity
        explanation["attendees"] = wq.attendees
    if request.funding == "hours" or service.business_hours_only:
        if request.starts_at is None or request.ends_at is None:
            raise InvalidInput(
                f"{service.code} is booked in hours: give starts_at and ends_at", field="starts_at", rule="R-HRS-1"
            )
        check_business_hours(calendar, request.starts_at, request.ends_at)  # R-HRS-2
        hours = Decimal(int((request.ends_at - request.starts_at).total_seconds())) / 3600
        quantity = hours.quantize(Decimal("0.01"))
        if calendar.localize(request.starts_at).date() != request.scheduled_on:
            raise InvalidInput("starts_at must fall on scheduled_on at the site", field="starts_at")
    if quantity is None or quantity <= 0:
        raise InvalidInput("give a positive quantity", field="quantity")

    if request.funding == "credits":
        rate = default_rate_cards().rate(order.price_list, service.code, unit, today)
        cost = cost_of(rate, quantity)
        explanation.update(
            {"rule": "R-CRED-1", "text": cost.explain(), "rate": str(rate.value), "rate_card": rate.card}
        )
        draws = _draw_credits(session, order, cost.credits, request.scheduled_on)
        return Quote(cost.credits, CREDITS, quantity, unit, explanation, draws), order, site, service
    line = _line(session, order, request.line, service.code, request.funding)
    account = session.scalar(
        select(LedgerAccountRow).where(
            LedgerAccountRow.order_id == order.id, LedgerAccountRow.key == line_key(line.code)
        )
    )
    if account is None:
        raise Refused(f"line {line.code} has no ledger account: is the order active?", rule="R-ORD-1", field="line")
    if account.expires_on and request.scheduled_on > account.expires_on:
        raise Refused(
            f"line {line.code} can be used until {account.expires_on.isoformat()} only",
            rule=account.expiry_rule or "R-ORD-3",
            field="scheduled_on",
        )
    if request.funding == "hours":
        if account.unit != HOURS:
            raise InvalidInput(f"line {line.code} is not a block of hours", field="line", rule="R-HRS-1")
        explanation.update(
            {"rule": "R-HRS-1", "text": f"{quantity.normalize():f} hours deducted from line {line.code}"}
        )
        return Quote(quantity, HOURS, quantity, unit, explanation, [(account.key, quantity)]), order, site, service
    explanation.update(
        {
            "rule": "R-ORD-1",
            "text": f"{quantity.normalize():f} {unit} from paid line {line.code}",
            "unit_price": str((line.price / line.quantity).quantize(Decimal("0.01"))),
        }
    )
    return Quote(quantity, account.unit, quantity, unit, explanation, [(account.key, quantity)]), order, site, service


def _line(session: Session, order: OrderRow, code: str | None, service: str, funding: str) -> OrderLineRow:
    query = select(OrderLineRow).where(
        OrderLineRow.order_id == order.id, OrderLineRow.active.is_(True), OrderLineRow.service == service
    )
    if code:
        query = query.where(OrderLineRow.code == code)
    lines = list(session.scalars(query.order_by(OrderLineRow.id)))
    if not lines:
        what = f"line {code!r} for {service}" if code else f"a line for {service}"
        raise Refused(f"order {order.number} has no {what} to fund a {funding} booking", rule="R-ORD-1", field="line")
    return lines[0]


def _draw_credits(session: Session, order: OrderRow, amount: Decimal, service_day: date) -> list[tuple[str, Decimal]]:
    """Take ``amount`` credits from the credit lines still valid on the service day,
    those that expire first first; refuse when they hold too little (R-CRED-2)."""
    pools = session.scalars(
        select(LedgerAccountRow)
        .where(LedgerAccountRow.order_id == order.id, LedgerAccountRow.unit == CREDITS, LedgerAccountRow.balance > 0)
        .order_by(LedgerAccountRow.expires_on, LedgerAccountRow.id)
    ).all()
    draws, need = [], amount
    for pool in pools:
        if pool.expires_on and pool.expires_on < service_day:
            continue
        take = min(need, pool.balance)
        draws.append((pool.key, take))
        need -= take
        if need == 0:
            break
    if need > 0:
        available = amount - need
        raise Refused(
            f"the booking costs {amount.normalize():f} credits but only {available.normalize():f} are available for {service_day.isoformat()}",
            rule="R-CRED-2",
            field="funding",
            details={"cost": str(amount), "available": str(available)},
        )
    return draws


def create_booking(
    session: Session,
    request: BookingRequest,
    *,
    actor: str,
    provider: bool,
    now: datetime,
    customer_id: int | None = None,
) -> BookingRow:
    """Book a service: check, price, consume, record. Concurrent bookings cannot
    overdraw: ``ledger.post`` re-checks each balance under the account's lock."""
    quote_, order, site, service = _prepare(session, request, now=now, provider=provider, customer_id=customer_id)
    line = None
    if request.funding != "credits":
        line = _line(session, order, request.line, service.code, request.funding)
    booking = BookingRow(
        customer_id=order.customer_id,
        order_id=order.id,
        site_id=site.id,
        service=service.code,
        unit=quote_.unit,
        quantity=quote_.quantity,
        funding=request.funding,
        line_id=line.id if line else None,
        scheduled_on=request.scheduled_on,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
        cost=quote_.cost,
        cost_unit=quote_.cost_unit,
        cost_explanation=quote_.explanation,
        status="scheduled",
        attendees=request.attendees,
        minimum_registrations=request.minimum_registrations,
        requested_on=site_calendar(site).localize(now).date(),
        override_reason=quote_.explanation.get("override_reason"),
        created_by=actor,
        created_at=now,
    )
    session.add(booking)
    session.flush()
    postings = [
        Posting(
            key,
            EntryKind.CONSUME,
            -amount,
            f"booking {booking.id}: {service.code} on {request.scheduled_on.isoformat()}",
            quote_.explanation.get("rule"),
            now.date(),
            f"booking:{booking.id}:consume:{key}",
        )
        for key, amount in quote_.draws
    ]
    ledger.post(
        session, order, postings, actor=actor, at=now, correlation=f"booking:{booking.id}", booking_id=booking.id
    )
    record_event(
        session,
        customer_id=order.customer_id,
        subject_type="booking",
        subject_id=booking.id,
        tag="booking:create",
        actor=actor,
        at=now,
        after=booking_dict(booking),
        reason=request.override_reason,
        rule="R-ORD-5" if quote_.explanation.get("overridden") else quote_.explanation.get("rule"),
    )
    return booking


def get_booking(session: Session, booking_id: int, *, customer_id: int | None = None) -> BookingRow:
    query = select(BookingRow).where(BookingRow.id == booking_id)
    if customer_id is not None:
        query = query.where(BookingRow.customer_id == customer_id)
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"no booking {booking_id}", field="booking")
    return row


@dataclass(frozen=True)
class CancellationQuote:
    booking_id: int
    terms: CancellationTerms
    fee: Decimal
    fee_unit: str
    refund: Decimal
    refund_unit: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "booking": self.booking_id,
            "notice_days": self.terms.notice_days,
            "fee_percent": self.terms.fee_percent,
            "fee": str(self.fee),
            "fee_unit": self.fee_unit,
            "refund": str(self.refund),
            "refund_unit": self.refund_unit,
            "rule": self.terms.rule,
            "explanation": self.terms.sentence,
            "schedule": [band.label for band in schedule()],
        }


def quote_cancellation(
    session: Session,
    booking_id: int,
    *,
    now: datetime,
    customer_id: int | None = None,
    by_provider: bool = False,
    reason: str | None = None,
) -> CancellationQuote:
    """What cancelling now would cost (R-BOOK-1), shown before it is confirmed."""
    booking = get_booking(session, booking_id, customer_id=customer_id)
    if booking.status != "scheduled":
        raise Refused(
            f"booking {booking.id} is {booking.status}: only a scheduled booking can be cancelled",
            rule="R-BOOK-1",
            field="booking",
        )
    site = session.get(SiteRow, booking.site_id)
    today = site_calendar(site).localize(now).date()  # type: ignore[arg-type]
    if by_provider:
        terms = provider_cancellation_terms(booking.scheduled_on, today, reason=reason or "")
    else:
        terms = cancellation_terms(booking.scheduled_on, today)
    if booking.funding == "paid":
        line = session.get(OrderLineRow, booking.line_id)
        order = session.get(OrderRow, booking.order_id)
        value = (line.price / line.quantity * booking.quantity).quantize(Decimal("0.01"))  # type: ignore[union-attr]
        fee = fee_amount(value, terms, CostUnit.MONEY)
        return CancellationQuote(booking.id, terms, fee, order.currency, booking.cost, booking.cost_unit)  # type: ignore[union-attr]
    unit = CostUnit.CREDITS if booking.cost_unit == CREDITS else CostUnit.HOURS
    fee = fee_amount(booking.cost, terms, unit)
    return CancellationQuote(booking.id, terms, fee, booking.cost_unit, booking.cost - fee, booking.cost_unit)


def cancel_booking(
    session: Session,
    booking_id: int,
    *,
    actor: str,
    now: datetime,
    customer_id: int | None = None,
    by_provider: bool = False,
    reason: str | None = None,
    expected_fee: Decimal | None = None,
) -> CancellationQuote:
    """Cancel: refund what the booking consumed and charge the fee, both as ledger
    entries. ``expected_fee`` (what the user was shown) must still hold."""
    quoted = quote_cancellation(
        session, booking_id, now=now, customer_id=customer_id, by_provider=by_provider, reason=reason
    )
    if expected_fee is not None and expected_fee != quoted.fee:
        raise Refused(
            f"the fee is now {quoted.fee} {quoted.fee_unit}, not {expected_fee}: review it and confirm again",
            rule="R-BOOK-1",
            field="expected_fee",
        )
    booking = get_booking(session, booking_id, customer_id=customer_id)
    order = session.get(OrderRow, booking.order_id)
    consumed = session.execute(
        select(LedgerEntryRow.amount, LedgerAccountRow.key)
        .join(LedgerAccountRow, LedgerAccountRow.id == LedgerEntryRow.account_id)
        .where(LedgerEntryRow.booking_id == booking.id, LedgerEntryRow.kind == EntryKind.CONSUME.value)
        .order_by(LedgerEntryRow.id)
    ).all()
    rule = quoted.terms.rule
    day = now.date()
    postings = [
        Posting(
            key,
            EntryKind.REFUND,
            -amount,
            f"booking {booking.id} cancelled: {quoted.terms.sentence}",
            rule,
            day,
            f"booking:{booking.id}:refund:{key}",
        )
        for amount, key in consumed
    ]
    if quoted.fee > 0:
        fee_account = fees_key(order.currency) if booking.funding == "paid" else consumed[0][1]  # type: ignore[union-attr]
        postings.append(
            Posting(
                fee_account,
                EntryKind.FEE,
                -quoted.fee,
                f"cancellation fee of booking {booking.id}: {quoted.terms.fee_percent} % ({quoted.terms.notice_days} days' notice)",
                rule,
                day,
                f"booking:{booking.id}:fee",
            )
        )
    before = booking_dict(booking)
    ledger.post(
        session, order, postings, actor=actor, at=now, correlation=f"booking:{booking.id}:cancel", booking_id=booking.id
    )  # type: ignore[arg-type]
    booking.status = "cancelled-by-provider" if by_provider else "cancelled"
    booking.cancelled_at = now
    booking.fee = quoted.fee
    booking.fee_unit = quoted.fee_unit
    record_event(
        session,
        customer_id=booking.customer_id,
        subject_type="booking",
        subject_id=booking.id,
        tag="booking:cancel",
        actor=actor,
        at=now,
        before=before,
        after=booking_dict(booking),
        reason=reason or quoted.terms.sentence,
        rule=rule,
    )
    session.flush()
    return quoted


def list_bookings(session: Session, *, customer_id: int | None = None, order: str | None = None) -> list[BookingRow]:
    query = select(BookingRow).order_by(BookingRow.scheduled_on, BookingRow.id)
    if customer_id is not None:
        query = query.where(BookingRow.customer_id == customer_id)
    if order is not None:
        query = query.join(OrderRow, OrderRow.id == BookingRow.order_id).where(OrderRow.number == order)
    return list(session.scalars(query))


def booking_dict(b: BookingRow) -> dict[str, Any]:
    return {
        "id": b.id,
        "service": b.service,
        "status": b.status,
        "scheduled_on": b.scheduled_on.isoformat(),
        "funding": b.funding,
        "quantity": str(b.quantity),
        "unit": b.unit,
        "cost": str(b.cost),
        "cost_unit": b.cost_unit,
        "fee": None if b.fee is None else str(b.fee),
        "fee_unit": b.fee_unit,
        "attendees": b.attendees,
        "starts_at": b.starts_at.isoformat() if b.starts_at else None,
        "ends_at": b.ends_at.isoformat() if b.ends_at else None,
        "override_reason": b.override_reason,
        "cost_explanation": b.cost_explanation,
    }
