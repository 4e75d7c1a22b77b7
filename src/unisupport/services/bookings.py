"""Booking and cancelling proactive services (R-BOOK-1..3, R-ORD-5, R-HRS-1/2, R-CRED-1/2, R-FLEX-3).

A booking is funded by proactive credits (at the rate card in force on the booking
date, rounded to the nearest whole credit, only credits usable on the service day),
by purchased hours (hour-based services, only inside the site's business hours), or
by a paid line of the order. Its cost is consumed from the ledger when it is booked;
a cancellation refunds it and charges the R-BOOK-1 fee as two ledger entries. Both
the cost and the fee are quoted first and taken only when the caller confirms the
amount it was shown (``ledger.charge``, D45)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.bookings.booking_rules import (
    WORKSHOPS,
    check_business_hours,
    check_provider_cancellation,
    check_recording_consent,
    check_request_deadline,
    check_span,
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
from unisupport.catalog.catalog import Service
from unisupport.errors import InvalidInput, NotFound
from unisupport.ledger.charge import Charge, confirm
from unisupport.ledger.entitlement import CREDITS, HOURS, Pool, draw_credits, fees_key, line_key, usable_from
from unisupport.ledger.posting import EntryKind, Posting
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services import ledger, surveys
from unisupport.services.audit import record_event
from unisupport.services.webhooks import announce_booking
from unisupport.sla.calendar import Calendar
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
    starts_at: datetime | None = None  # hour-based services (any service may give its times)
    ends_at: datetime | None = None
    attendees: int | None = None  # workshops
    minimum_registrations: int | None = None  # workshops (R-BOOK-2)
    override_reason: str | None = None  # R-ORD-5, provider users only
    recording: bool = False  # R-BOOK-3: the workshop is to be recorded …
    recording_consent: str | None = None  # … with this written consent (a reference to it)


@dataclass(frozen=True)
class Quote:
    cost: Decimal
    cost_unit: str  # credits, hours, or the line's unit
    quantity: Decimal
    unit: str
    explanation: dict[str, Any]
    draws: list[tuple[str, Decimal]]  # (account key, amount taken)

    @property
    def charge(self) -> Charge:
        """What booking takes: confirmed with ``expected_cost`` (D45)."""
        return Charge(
            "the cost of this booking",
            {self.cost_unit: self.cost},
            self.explanation.get("rule") or "R-CRED-1",
            "expected_cost",
            explanation=self.explanation.get("text"),
            details={"accounts": [{"account": k, "amount": str(a)} for k, a in self.draws]},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "cost": str(self.cost),
            "cost_unit": self.cost_unit,
            "quantity": str(self.quantity),
            "unit": self.unit,
            "explanation": self.explanation,
            "accounts": [{"account": k, "amount": str(a)} for k, a in self.draws],
            "confirm_with": self.charge.to_dict()["confirm_with"],
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
    order = _order(session, request.order, customer_id)
    if order.status != OrderStatus.ACTIVE.value:
        raise Refused(
            f"order {order.number} is {order.status}: services are booked on an active order only",
            rule="R-ORD-2",
            field="order",
        )
    site = _site(session, order, request.site)
    service = default_catalog().get(request.service, field="service")
    if request.funding not in FUNDINGS:
        raise InvalidInput(f"funding must be one of {', '.join(FUNDINGS)}", field="funding")
    calendar = site_calendar(site)
    today = calendar.localize(now).date()  # the booking date, at the site (R-CAT-2)
    explanation = _check_dates(order, request, calendar, today, provider=provider)
    unit = request.unit or service.unit
    if unit not in service.units:
        raise InvalidInput(
            f"{service.code} is not sold per {unit!r} (its units: {', '.join(service.units)})",
            field="unit",
            rule="R-CAT-1",
        )
    quantity = _quantity(request, service, unit, calendar, explanation)
    if request.funding == "credits":
        rate = default_rate_cards().rate(order.price_list, service.code, unit, today)
        cost = cost_of(rate, quantity)
        explanation.update(
            {"rule": "R-CRED-1", "text": cost.explain(), "rate": str(rate.value), "rate_card": rate.card}
        )
        draws = _draw_credits(session, order, cost.credits, request.scheduled_on)
        return Quote(cost.credits, CREDITS, quantity, unit, explanation, draws), order, site, service
    line = _line(session, order, request.line, service.code, request.funding)
    account = _line_account(session, order, line, request.scheduled_on)
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


def _check_dates(
    order: OrderRow, request: BookingRequest, calendar: Calendar, today: date, *, provider: bool
) -> dict[str, Any]:
    """The day and the times of any booking: within the term (R-ORD-1), requested in
    time (R-ORD-5), not in the past, and an end after the start on the booked day."""
    check_within_term(order.term_start, order.term_end, request.scheduled_on, field="scheduled_on")
    deadline = check_request_deadline(
        order.term_end, today, override_reason=request.override_reason, overridden_by_provider=provider
    )
    if request.scheduled_on < today:
        raise InvalidInput(
            f"{request.scheduled_on.isoformat()} is in the past at the site (today is {today.isoformat()})",
            field="scheduled_on",
        )
    check_span(request.starts_at, request.ends_at, start_field="starts_at", end_field="ends_at")
    if request.starts_at is not None and calendar.localize(request.starts_at).date() != request.scheduled_on:
        raise InvalidInput("starts_at must fall on scheduled_on at the site", field="starts_at")
    return {
        "rule_deadline": "R-ORD-5",
        "deadline": deadline.deadline.isoformat(),
        "overridden": deadline.overridden,
        "override_reason": deadline.override_reason,
    }


def _quantity(
    request: BookingRequest, service: Service, unit: str, calendar: Calendar, explanation: dict[str, Any]
) -> Decimal:
    """What is priced: seats or one delivery for a workshop (R-BOOK-3), the hours
    between start and end for hour-based services (R-HRS-1/2), else the quantity."""
    quantity = _workshop(request, service, unit, explanation)
    if request.funding == "hours" or service.business_hours_only:
        if request.starts_at is None or request.ends_at is None:
            raise InvalidInput(
                f"{service.code} is booked in hours: give starts_at and ends_at", field="starts_at", rule="R-HRS-1"
            )
        check_business_hours(calendar, request.starts_at, request.ends_at)  # R-HRS-2
        hours = Decimal(int((request.ends_at - request.starts_at).total_seconds())) / 3600
        quantity = hours.quantize(Decimal("0.01"))
    if quantity is None or quantity <= 0:
        raise InvalidInput("give a positive quantity", field="quantity")
    return quantity


def _workshop(request: BookingRequest, service: Service, unit: str, explanation: dict[str, Any]) -> Decimal | None:
    """R-BOOK-3: a workshop counts its seats, or one dedicated delivery; a recording
    needs the attendees' written consent. Only workshops have a minimum number of
    registrations (R-BOOK-2)."""
    check_recording_consent(request.recording, bool((request.recording_consent or "").strip()))
    if service.code != WORKSHOPS:
        if request.minimum_registrations is not None:
            raise InvalidInput("only workshops have a minimum number of registrations", field="minimum_registrations")
        return request.quantity
    wq = workshop_quantity(unit, request.attendees or 0)
    explanation["attendees"] = wq.attendees
    return wq.quantity


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


def _pool(order: OrderRow, account: LedgerAccountRow) -> Pool:
    return Pool(
        account.key,
        account.balance,
        account.contract_year,
        usable_from(order.term_start, account.contract_year),
        account.expires_on,
    )


def _line_account(session: Session, order: OrderRow, line: OrderLineRow, service_day: date) -> LedgerAccountRow:
    """The account of the line paying, if it can be used on the service day: a line
    paid with year N's allocation only within year N (R-FLEX-3), any other until
    the end of the term (R-ORD-3)."""
    account = session.scalar(
        select(LedgerAccountRow).where(
            LedgerAccountRow.order_id == order.id, LedgerAccountRow.key == line_key(line.code)
        )
    )
    if account is None:
        raise Refused(f"line {line.code} has no ledger account: is the order active?", rule="R-ORD-1", field="line")
    pool = _pool(order, account)
    if not pool.usable_on(service_day):
        since = f"from {pool.usable_from.isoformat()} " if pool.usable_from else ""
        until = f"until {pool.usable_until.isoformat()}" if pool.usable_until else "until the end of the term"
        raise Refused(
            f"line {line.code} can be used {since}{until} only, not on {service_day.isoformat()}",
            rule=account.expiry_rule or "R-ORD-3",
            field="scheduled_on",
            details={"accounts": [pool.to_dict(service_day)]},
        )
    return account


def _draw_credits(session: Session, order: OrderRow, amount: Decimal, service_day: date) -> list[tuple[str, Decimal]]:
    """Take ``amount`` credits from the credit lines usable on the service day, those
    that expire first first (``ledger.entitlement.draw_credits``: R-FLEX-3, R-CRED-2)."""
    accounts = session.scalars(
        select(LedgerAccountRow)
        .where(LedgerAccountRow.order_id == order.id, LedgerAccountRow.unit == CREDITS)
        .order_by(LedgerAccountRow.expires_on, LedgerAccountRow.id)
    ).all()
    return draw_credits([_pool(order, a) for a in accounts if not a.may_go_negative], amount, service_day)


def create_booking(
    session: Session,
    request: BookingRequest,
    *,
    actor: str,
    provider: bool,
    now: datetime,
    customer_id: int | None = None,
    expected_cost: Decimal | str | None = None,
) -> BookingRow:
    """Book a service: check, price, confirm the cost the caller was shown
    (``expected_cost``, D45), consume, record. Concurrent bookings cannot overdraw:
    ``ledger.post`` re-checks each balance under the account's lock."""
    quote_, order, site, service = _prepare(session, request, now=now, provider=provider, customer_id=customer_id)
    confirm(quote_.charge, expected_cost)
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
        recording_consent=((request.recording_consent or "").strip() or None) if request.recording else None,
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
    announce_booking(session, "booking.created", booking_dict(booking), customer_id=order.customer_id, now=now)
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

    @property
    def charge(self) -> Charge:
        """The fee, confirmed with ``expected_fee`` (R-BOOK-1, D45)."""
        return Charge(
            f"the fee for cancelling booking {self.booking_id} now",
            {self.fee_unit: self.fee},
            self.terms.rule,
            "expected_fee",
            explanation=self.terms.sentence,
            details={"fee_percent": self.terms.fee_percent, "notice_days": self.terms.notice_days},
        )

    def to_dict(self, *, preview: bool = False) -> dict[str, Any]:
        """The terms; a ``preview`` also says how to confirm the fee (D45)."""
        shown = preview and not self.terms.by_provider
        return ({"confirm_with": self.charge.to_dict()["confirm_with"]} if shown else {}) | {
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
    registered: int | None = None,
) -> CancellationQuote:
    """What cancelling now would cost (R-BOOK-1), shown before it is confirmed. The
    provider cancels only a workshop below its minimum registrations (R-BOOK-2):
    ``registered`` is how many registered (by default the attendees booked)."""
    booking = get_booking(session, booking_id, customer_id=customer_id)
    if booking.status != "scheduled":
        raise Refused(
            f"booking {booking.id} is {booking.status}: only a scheduled booking can be cancelled",
            rule="R-BOOK-1",
            field="booking",
        )
    site = session.get_one(SiteRow, booking.site_id)
    today = site_calendar(site).localize(now).date()
    if by_provider:
        count = (booking.attendees or 0) if registered is None else registered
        check = check_provider_cancellation(booking.service, booking.minimum_registrations, count)
        why = (reason or "").strip() or f"{check.registered} of {check.minimum} minimum registrations"
        terms = provider_cancellation_terms(booking.scheduled_on, today, reason=why)
    else:
        terms = cancellation_terms(booking.scheduled_on, today)
    if booking.funding == "paid":
        line = session.get_one(OrderLineRow, booking.line_id)
        order = session.get_one(OrderRow, booking.order_id)
        value = (line.price / line.quantity * booking.quantity).quantize(Decimal("0.01"))
        fee = fee_amount(value, terms, CostUnit.MONEY)
        return CancellationQuote(booking.id, terms, fee, order.currency, booking.cost, booking.cost_unit)
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
    registered: int | None = None,
) -> CancellationQuote:
    """Cancel: refund what the booking consumed and charge the fee, both as ledger
    entries. The fee the caller was shown (``expected_fee``) must be sent back and
    still hold (R-BOOK-1, D45); a provider cancellation (R-BOOK-2) charges nothing,
    so there is nothing to confirm."""
    quoted = quote_cancellation(
        session,
        booking_id,
        now=now,
        customer_id=customer_id,
        by_provider=by_provider,
        reason=reason,
        registered=registered,
    )
    if not by_provider:
        confirm(quoted.charge, expected_fee)
    booking = get_booking(session, booking_id, customer_id=customer_id)
    order = session.get_one(OrderRow, booking.order_id)
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
        fee_account = fees_key(order.currency) if booking.funding == "paid" else consumed[0][1]
        postings.append(
            Posting(
                fee_account,
                EntryKind.FEE,
                -quoted.fee,
                f"cancellation fee of booking {booking.id}: {quoted.terms.fee_percent} % "
                f"({quoted.terms.notice_days} days' notice)",
                rule,
                day,
                f"booking:{booking.id}:fee",
            )
        )
    before = booking_dict(booking)
    ledger.post(
        session, order, postings, actor=actor, at=now, correlation=f"booking:{booking.id}:cancel", booking_id=booking.id
    )
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
    announce_booking(session, "booking.cancelled", booking_dict(booking), customer_id=booking.customer_id, now=now)
    session.flush()
    return quoted


def deliver_booking(
    session: Session,
    booking_id: int,
    *,
    actor: str,
    now: datetime,
    customer_id: int | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> BookingRow:
    """Record that a scheduled proactive service was delivered (a provider user says
    so, at ``at``, by default now); its contact is then sent a satisfaction survey,
    once (R-CSAT-1). ``customer_id`` confines the booking to one tenant (NotFound
    otherwise)."""
    booking = get_booking(session, booking_id, customer_id=customer_id)
    if booking.status != "scheduled":
        raise Refused(f"booking {booking_id} is {booking.status}, not scheduled", rule="R-CSAT-1", field="status")
    delivered_at = at or now
    if delivered_at > now:
        raise InvalidInput("a delivery cannot be recorded ahead of time", field="at", rule="R-CSAT-1")
    booking.status = "delivered"
    record_event(
        session,
        customer_id=booking.customer_id,
        subject_type="booking",
        subject_id=booking.id,
        tag="booking:deliver",
        actor=actor,
        at=now,
        before={"status": "scheduled"},
        after={"status": "delivered", "delivered_at": delivered_at.isoformat()},
        reason=note,
        rule="R-CSAT-1",
    )
    session.flush()
    surveys.after_delivery(session, booking, now=now)
    return booking


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
        "minimum_registrations": b.minimum_registrations,
        "recording": b.recording_consent is not None,
        "recording_consent": b.recording_consent,
        "cost_explanation": b.cost_explanation,
    }
