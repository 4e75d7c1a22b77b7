"""Azure Events, MCSAP onboarding and monitoring, Service Improvement Plans,
platform outage notices and success plans (R-EVT-2, R-MCSAP-2..5, R-SUC-1..2)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


class AzureEventRow(Base):
    __tablename__ = "azure_events"
    __table_args__ = (UniqueConstraint("order_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    code: Mapped[str] = mapped_column(String(64))
    solution: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    confirmed_on: Mapped[date] = mapped_column(Date)
    provider_consent: Mapped[bool] = mapped_column(Boolean)
    reduced_assessment: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MilestoneCompletionRow(Base):
    """When an MCSAP onboarding milestone was completed; the due dates are derived."""

    __tablename__ = "milestone_completions"
    __table_args__ = (UniqueConstraint("order_id", "milestone"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(64))
    completed_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class MonitoringScenarioRow(Base):
    __tablename__ = "monitoring_scenarios"
    __table_args__ = (UniqueConstraint("order_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    defined_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(254))


class ServiceImprovementPlanRow(Base):
    __tablename__ = "service_improvement_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(254))


class SuccessPlanRow(Base):
    __tablename__ = "success_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    owner: Mapped[str] = mapped_column(String(254))  # the CSAM
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SuccessPlanItemRow(Base):
    __tablename__ = "success_plan_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("success_plans.id"), index=True)
    area: Mapped[str] = mapped_column(String(64))
    activity: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(2000))


class PlatformOutageRow(Base):
    """An Azure-declared multi-customer outage (R-MCSAP-5), provider-wide: it belongs
    to no customer; each notice records who was told and why."""

    __tablename__ = "platform_outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # the platform's own tracking id
    title: Mapped[str] = mapped_column(String(200))
    products: Mapped[list] = mapped_column(Document)  # product codes; empty: the whole platform
    regions: Mapped[list] = mapped_column(Document)
    status: Mapped[str] = mapped_column(String(16))  # active, resolved
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    declared_by: Mapped[str] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutageNoticeRow(Base):
    """One communication about an outage: its message and, per MCSAP customer, the
    decision (told or not, why, which products, which contacts)."""

    __tablename__ = "platform_outage_notices"
    __table_args__ = (UniqueConstraint("outage_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("platform_outages.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1: the declaration
    kind: Mapped[str] = mapped_column(String(16))  # declared, update, resolved
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(254))
    decisions: Mapped[list] = mapped_column(Document)
