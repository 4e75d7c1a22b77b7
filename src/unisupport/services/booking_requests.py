"""What a booking request carries, validated: the body of ``POST /api/v1/bookings``
and the portal's booking form alike."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from unisupport.inputs import Day, Input, Instant

from unisupport.services import bookings


class BookingIn(Input):
    order: str = Field(max_length=64)
    site: str = Field(max_length=64)
    service: str = Field(max_length=64)
    scheduled_on: Day
    funding: str = Field(default="credits", pattern="^(credits|hours|paid)$")
    unit: str | None = Field(default=None, max_length=32)
    quantity: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    line: str | None = Field(default=None, max_length=64)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    attendees: int | None = Field(default=None, ge=1, le=10000)
    minimum_registrations: int | None = Field(default=None, ge=0, le=10000)
    override_reason: str | None = Field(default=None, max_length=500)
    recording: bool = Field(default=False, description="Record the workshop (R-BOOK-3: needs recording_consent).")
    recording_consent: str | None = Field(
        default=None, max_length=500, description="The attendees' written consent to the recording (a reference)."
    )
    expected_cost: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=14,
        decimal_places=4,
        description="The cost you were shown (POST /bookings/quote); without it nothing is booked.",
    )

    def request(self) -> bookings.BookingRequest:
        return bookings.BookingRequest(**self.model_dump(exclude={"expected_cost"}))
