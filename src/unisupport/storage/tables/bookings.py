"""Bookings of proactive services (R-BOOK-1..4, R-ORD-5, R-HRS-2, R-CRED-1)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Amount, Base, Document, UTCDateTime


class BookingRow(Base):
    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    service: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal] = mapped_column(Amount())
    funding: Mapped[str] = mapped_column(String(16))  # credits, hours, paid
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    scheduled_on: Mapped[date] = mapped_column(Date)  # local date of the start at the site
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # hour-based services
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cost: Mapped[Decimal] = mapped_column(Amount())
    cost_unit: Mapped[str] = mapped_column(String(32))
    cost_explanation: Mapped[dict] = mapped_column(Document)
    status: Mapped[str] = mapped_column(String(24))  # scheduled, cancelled, cancelled-by-provider, delivered
    attendees: Mapped[int | None] = mapped_column(Integer)
    minimum_registrations: Mapped[int | None] = mapped_column(Integer)
    # R-BOOK-3: the written consent a recorded workshop was booked with; None: not recorded.
    recording_consent: Mapped[str | None] = mapped_column(String(500))
    requested_on: Mapped[date] = mapped_column(Date)
    override_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fee: Mapped[Decimal | None] = mapped_column(Amount())
    fee_unit: Mapped[str | None] = mapped_column(String(32))
