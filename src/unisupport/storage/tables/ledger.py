"""The append-only ledger (R-FLEX-*, R-CRED-*, R-HRS-1, R-ORD-3).

``ledger_entries`` is the source of truth and is never updated nor deleted (database
triggers refuse it). ``ledger_accounts`` keeps each account's running balance,
written in the same transaction as the entry and re-derivable from the entries
(``unisupport ledger verify``): it is the row that is locked to serialise spending."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Amount, Base, UTCDateTime


class LedgerAccountRow(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("order_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    key: Mapped[str] = mapped_column(String(128))  # "flex:y1", "line:L3", "fees:EUR"
    unit: Mapped[str] = mapped_column(String(32))  # EUR/USD…, credits, hours, or a count unit
    label: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(64))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    contract_year: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[date | None] = mapped_column(Date)  # last day it may be used
    expiry_rule: Mapped[str | None] = mapped_column(String(16))  # R-FLEX-3 or R-ORD-3
    may_go_negative: Mapped[int] = mapped_column(Integer, default=0)  # fee receivables only
    balance: Mapped[Decimal] = mapped_column(Amount())
    entries: Mapped[int] = mapped_column(Integer)


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))  # grant allocate consume refund fee forfeit exchange
    amount: Mapped[Decimal] = mapped_column(Amount())  # signed
    unit: Mapped[str] = mapped_column(String(32))
    balance_after: Mapped[Decimal] = mapped_column(Amount())
    reason: Mapped[str] = mapped_column(String(500))
    rule: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    effective_on: Mapped[date] = mapped_column(Date)  # the contract day it belongs to
    correlation: Mapped[str] = mapped_column(String(64), index=True)  # groups the entries of one move
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
