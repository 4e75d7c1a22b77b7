"""The checks a booking of a proactive or enhanced service must pass. Each is pure
(time comes in as arguments) and refuses with :class:`Refused` naming the rule and
the field, so the booking service only orchestrates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from unisupport.catalog.catalog import Unit
from unisupport.errors import InvalidInput
from unisupport.refusal import Refused
from unisupport.sla.calendar import Calendar, epoch_seconds

REQUEST_DEADLINE_DAYS = 60  # R-ORD-5
WORKSHOPS = "workshops"  # the catalog's code of workshops (R-BOOK-2, R-BOOK-3)


def require_local_date(value: object, field: str) -> date:
    """``value`` when it is a date; a datetime is refused, because turning it into the
    site's local date needs a zone only the caller knows."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(f"expected a local date (YYYY-MM-DD), got {value!r}", field=field)
    return value


# --------------------------------------------------------------------------- R-ORD-5
@dataclass(frozen=True)
class RequestDeadline:
    """The outcome of an accepted request: on time, or late with a recorded override."""

    deadline: date  # the last day a request is on time
    requested_on: date
    overridden: bool
    override_reason: str | None
    rule: str = "R-ORD-5"


def request_deadline(order_end: date) -> date:
    """R-ORD-5: the last day a request is on time, 60 days before the order's end."""
    return require_local_date(order_end, "order_end") - timedelta(days=REQUEST_DEADLINE_DAYS)


def check_request_deadline(
    order_end: date,
    requested_on: date,
    *,
    override_reason: str | None,
    overridden_by_provider: bool,
) -> RequestDeadline:
    """R-ORD-5: requests for proactive services and enhanced solutions are submitted no
    later than 60 days before the order's end (exactly 60 days before is on time).
    A later request passes only when a provider user overrides it with a reason."""
    deadline = request_deadline(order_end)
    require_local_date(requested_on, "requested_on")
    if requested_on <= deadline:
        return RequestDeadline(deadline, requested_on, False, None)
    late = (
        f"requested on {requested_on.isoformat()}, {(order_end - requested_on).days} days before "
        f"the order's end on {order_end.isoformat()}: requests are due no later than "
        f"{deadline.isoformat()} ({REQUEST_DEADLINE_DAYS} days before the end)"
    )
    if not overridden_by_provider:
        hint = "; only a provider user may override" if override_reason else ""
        raise Refused(late + hint, rule="R-ORD-5", field="requested_on")
    reason = (override_reason or "").strip()
    if not reason:
        raise Refused(late + "; an override needs a reason", rule="R-ORD-5", field="override_reason")
    return RequestDeadline(deadline, requested_on, True, reason)


# --------------------------------------------------------------------------- R-ORD-1
def check_within_term(term_start: date, term_end: date, day: date, *, field: str = "day") -> None:
    """R-ORD-1: a service is delivered within the order's term (both ends included)."""
    require_local_date(term_start, "term_start")
    require_local_date(term_end, "term_end")
    require_local_date(day, field)
    if term_end < term_start:
        raise InvalidInput(f"the term ends ({term_end}) before it starts ({term_start})", field="term_end")
    if not term_start <= day <= term_end:
        side = "before the order's term starts" if day < term_start else "after the order's term ends"
        raise Refused(
            f"{day.isoformat()} is {side} ({term_start.isoformat()} to {term_end.isoformat()})",
            rule="R-ORD-1",
            field=field,
        )


# --------------------------------------------------------------------------- every service
def check_span(
    start: datetime | None, end: datetime | None, *, start_field: str = "start", end_field: str = "end"
) -> None:
    """A booking's times, when it has any, are a start and an end after it: the same
    check for every service, whatever pays for it."""
    if start is None and end is None:
        return
    if start is None or end is None:
        missing, given = (start_field, end_field) if start is None else (end_field, start_field)
        raise InvalidInput(f"{given} is given without {missing}: give both or neither", field=missing)
    if epoch_seconds(end, field=end_field) <= epoch_seconds(start, field=start_field):
        raise InvalidInput(
            f"the booking must end after it starts: {end.isoformat()} is not after {start.isoformat()}",
            field=end_field,
        )


# --------------------------------------------------------------------------- R-HRS-2
def check_business_hours(calendar: Calendar, start: datetime, end: datetime) -> None:
    """R-HRS-2: DE, EDE and REDE hours lie entirely inside the site's business hours:
    every second of ``[start, end)`` is open. The refusal names the first closed
    instant, in the site's local time, and why the site is closed then."""
    check_span(start, end)
    a, b = epoch_seconds(start, field="start"), epoch_seconds(end, field="end")
    if calendar.business_seconds_between(start, end) == b - a:
        return
    closed = _first_closed_second(calendar, a, b)
    moment = calendar.localize(datetime.fromtimestamp(closed, UTC))
    day = moment.date()
    why = calendar.closed_reason(day)
    if why is None:
        windows = ", ".join(str(w) for w in calendar.day_windows(day))
        why = f"outside the business hours of that day ({windows})"
    raise Refused(
        f"the booking {calendar.localize(start):%Y-%m-%d %H:%M}–{calendar.localize(end):%Y-%m-%d %H:%M} "
        f"({calendar.timezone}) is not entirely within business hours: from "
        f"{moment:%Y-%m-%d %H:%M} the site is closed, {why}",
        rule="R-HRS-2",
        field="start" if closed == a else "end",
        details={"first_closed": moment.isoformat()},
    )


def _first_closed_second(calendar: Calendar, a: int, b: int) -> int:
    """The first second of ``[a, b)`` that is not open (one exists). "All of
    ``[a, x)`` is open" holds up to that second and not after: bisect on it."""
    start = datetime.fromtimestamp(a, UTC)

    def open_throughout(x: int) -> bool:
        return calendar.business_seconds_between(start, datetime.fromtimestamp(x, UTC)) == x - a

    lo, hi = a, b  # open_throughout(lo) holds, open_throughout(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if open_throughout(mid) else (lo, mid)
    return lo


# --------------------------------------------------------------------------- R-BOOK-2/3
@dataclass(frozen=True)
class RegistrationCheck:
    minimum: int
    registered: int
    provider_may_cancel: bool
    rule: str = "R-BOOK-2"


def check_workshop_registrations(minimum: int, registered: int) -> RegistrationCheck:
    """R-BOOK-2: below its minimum registrations, a workshop may be cancelled by the
    provider (then refunded in full: ``provider_cancellation_terms``)."""
    for name, value in (("minimum", minimum), ("registered", registered)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"expected a whole number ≥ 0, got {value!r}", field=name)
    return RegistrationCheck(minimum, registered, registered < minimum)


def check_provider_cancellation(service: str, minimum: int | None, registered: int) -> RegistrationCheck:
    """R-BOOK-2: what the provider may cancel on its side, free for the customer, is a
    workshop that did not reach its minimum registrations — nothing else."""
    if service != WORKSHOPS:
        raise Refused(
            f"the provider cancels only a workshop below its minimum registrations, not {service}: "
            "the customer cancels it (R-BOOK-1)",
            rule="R-BOOK-2",
            field="by_provider",
        )
    if minimum is None:
        raise Refused(
            "this workshop was booked without a minimum number of registrations: the provider cannot cancel it",
            rule="R-BOOK-2",
            field="by_provider",
        )
    check = check_workshop_registrations(minimum, registered)
    if not check.provider_may_cancel:
        raise Refused(
            f"{registered} registrations reach the workshop's minimum of {minimum}: the provider cannot cancel it",
            rule="R-BOOK-2",
            field="registered",
            details={"minimum": minimum, "registered": registered},
        )
    return check


@dataclass(frozen=True)
class WorkshopQuantity:
    """What a workshop booking counts: seats, or one dedicated delivery (R-BOOK-3)."""

    unit: Unit
    quantity: Decimal  # what is priced on the rate card
    attendees: int  # always recorded


def workshop_quantity(unit: Unit | str, attendees: int) -> WorkshopQuantity:
    """R-BOOK-3: per attendee, the quantity is the number of attendees; a dedicated
    delivery is one delivery whatever the number of attendees (still recorded)."""
    if isinstance(attendees, bool) or not isinstance(attendees, int) or attendees < 1:
        raise InvalidInput(f"a workshop has at least one attendee, got {attendees!r}", field="attendees")
    if unit == Unit.PER_ATTENDEE:
        return WorkshopQuantity(Unit.PER_ATTENDEE, Decimal(attendees), attendees)
    if unit == Unit.DEDICATED_DELIVERY:
        return WorkshopQuantity(Unit.DEDICATED_DELIVERY, Decimal(1), attendees)
    raise InvalidInput(
        f"workshops are bought per-attendee or as a dedicated-delivery, not {unit!r}",
        field="unit",
        rule="R-BOOK-3",
    )


def check_recording_consent(recording: bool, consent_recorded: bool) -> None:
    """R-BOOK-3: a workshop is recorded only after notice and written consent."""
    if recording and not consent_recorded:
        raise Refused(
            "recording a workshop needs prior notice and the attendees' written consent, which is not recorded",
            rule="R-BOOK-3",
            field="recording_consent",
        )
