"""Incidents, their communications, timeline, assignments, RCA requests,
third-party collaborations and post-incident reviews (R-INC-*, R-SEV-*, R-SLA-*, R-RCA-*, R-PIR-1), and the
idempotency keys of API creations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from unisupport.storage.base import Base, Document, UTCDateTime


AWAITING = "first_response_at IS NULL AND breached_at IS NULL AND status <> 'closed'"
CRITICAL_PENDING = "critical_resource_due IS NOT NULL AND critical_resource_at IS NULL AND status <> 'closed'"


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # The watcher's queries read only the incidents still waiting for a first
        # response: partial indexes keep them small however many incidents exist.
        Index(
            "ix_incidents_awaiting_due",
            "first_response_due",
            postgresql_where=text(AWAITING),
            sqlite_where=text(AWAITING),
        ),
        Index(
            "ix_incidents_awaiting_warn",
            "first_response_warn_at",
            postgresql_where=text(AWAITING + " AND warned_at IS NULL"),
            sqlite_where=text(AWAITING + " AND warned_at IS NULL"),
        ),
        Index(
            "ix_incidents_critical_resource_due",
            "critical_resource_due",
            postgresql_where=text(CRITICAL_PENDING),
            sqlite_where=text(CRITICAL_PENDING),
        ),
        Index("ix_incidents_customer_status", "customer_id", "status", "id"),
        # The monthly reports read incidents by the month they were opened in (services.reports).
        Index("ix_incidents_opened_at", "opened_at"),
        Index("ix_incidents_customer_opened_at", "customer_id", "opened_at"),
        Index("ix_incidents_reply_token", "reply_token", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    opened_by: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(16))
    product: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    business_impact: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    reproduction_steps: Mapped[str | None] = mapped_column(Text)  # R-REQ-1
    environment: Mapped[str | None] = mapped_column(Text)  # R-REQ-1
    # R-SUP-1: the product checked against the order's annex A (incidents.supported_products);
    # null when the order has none, and the engineer's outcome once recorded.
    entitlement: Mapped[dict | None] = mapped_column(Document)
    tenant: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(1))
    highest_severity: Mapped[str] = mapped_column(String(1))
    production_impact: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))  # open, mitigated, closed
    # Whose turn it is (incidents.state): open, in_progress, awaiting_customer, awaiting_third_party,
    # mitigated, closed, reopened; every active state has the status open.
    state: Mapped[str] = mapped_column(String(24), default="open", server_default="open")
    team: Mapped[str] = mapped_column(String(64))
    routing: Mapped[dict] = mapped_column(Document)
    explanation: Mapped[dict] = mapped_column(Document)  # the resolver's, for the current target
    plan: Mapped[str] = mapped_column(String(64))
    target_minutes: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    target_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_due: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    critical_resource_due: Mapped[datetime | None] = mapped_column(UTCDateTime())  # Azure Events Sev 1
    critical_resource_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Opened by mail at a severity nobody agreed yet: an engineer confirms it (R-SEV-1).
    severity_to_confirm: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The closed incident this one follows up (a customer's answer long after the closure).
    previous_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Unguessable: the Reply-To address of the incident's mail carries it (incidents.conversation).
    reply_token: Mapped[str] = mapped_column(String(32))


UPDATE_PENDING = "met_at IS NULL AND breached_at IS NULL AND ended_at IS NULL"


class UpdateTargetRow(Base):
    """One "next update due" of an incident (R-INC-2, sla.update_clock): started by a
    communication to the customer, met by the next one (on time or late), breached by
    the watcher at its due instant, or ended (mitigation, closure, no figure any more).
    ``due_at``/``warn_at`` are null while the clock is paused (awaiting the customer);
    ``pauses`` holds every pause as ``[from, to]`` (``to`` null while it lasts)."""

    __tablename__ = "update_targets"
    __table_args__ = (
        UniqueConstraint("incident_id", "seq"),
        Index(
            "ix_update_targets_pending_due",
            "due_at",
            postgresql_where=text(UPDATE_PENDING),
            sqlite_where=text(UPDATE_PENDING),
        ),
        Index(
            "ix_update_targets_pending_warn",
            "warn_at",
            postgresql_where=text(UPDATE_PENDING + " AND warned_at IS NULL"),
            sqlite_where=text(UPDATE_PENDING + " AND warned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(1))
    target_minutes: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pauses: Mapped[list] = mapped_column(Document)
    paused_seconds: Mapped[int] = mapped_column(Integer)  # counted on the target's own calendar
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    met_late: Mapped[bool | None] = mapped_column(Boolean)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    explanation: Mapped[dict] = mapped_column(Document)


class CommunicationRow(Base):
    __tablename__ = "incident_communications"
    __table_args__ = (Index("ix_incident_communications_pending", "answered_at", "missed_at", "customer_response_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    medium: Mapped[str] = mapped_column(String(16))
    automated: Mapped[bool] = mapped_column(Boolean)
    author: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it happened
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it was recorded
    body: Mapped[str] = mapped_column(Text)
    first_response: Mapped[bool] = mapped_column(Boolean)
    requests_customer_action: Mapped[bool] = mapped_column(Boolean)
    customer_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    diagnostic: Mapped[str | None] = mapped_column(String(32))  # the activity asked for (R-REQ-1)


class IncidentEventRow(Base):
    """The incident's timeline and audit trail: every change with actor, time,
    before/after, reason and rule."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Not indexed: the timeline is read by incident (migration 0024, D147).
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(48))
    before: Mapped[dict | None] = mapped_column(Document)
    after: Mapped[dict | None] = mapped_column(Document)
    reason: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(String(16))


class AssignmentRow(Base):
    __tablename__ = "incident_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    role: Mapped[str] = mapped_column(String(48))  # engineer, incident-manager, eim, senior-incident-manager …
    person: Mapped[str | None] = mapped_column(String(254))  # a user's e-mail, once someone is named
    automatic: Mapped[bool] = mapped_column(Boolean)
    rule: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RcaRequestRow(Base):
    __tablename__ = "rca_requests"
    __table_args__ = (UniqueConstraint("incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(254))
    rule: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # requested, delivered
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # R-RCA-2: on time when <= due_at


class ThirdPartyRow(Base):
    """A third-party vendor the customer asked the provider to work with (R-INC-4)."""

    __tablename__ = "incident_third_parties"
    __table_args__ = (UniqueConstraint("incident_id", "vendor_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    vendor: Mapped[str] = mapped_column(String(120))
    vendor_key: Mapped[str] = mapped_column(String(120))  # third_party.vendor_key(vendor)
    product: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # requested, engaged, ended
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(254))
    vendor_reference: Mapped[str | None] = mapped_column(String(200))
    engaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    engaged_by: Mapped[str | None] = mapped_column(String(254))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(254))


class PostIncidentReviewRow(Base):
    __tablename__ = "post_incident_reviews"
    __table_args__ = (UniqueConstraint("incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # to-schedule, held
    # R-PIR-1: with the customer, the CSAM and the account team.
    went_well: Mapped[str | None] = mapped_column(Text)
    to_improve: Mapped[str | None] = mapped_column(Text)
    recommendations: Mapped[str | None] = mapped_column(Text)


class IdempotencyKeyRow(Base):
    """A POST's Idempotency-Key and its first answer: a retry gets that answer back
    and creates nothing."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(254))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(Document)
    # The first answer's Location and ETag, given back with it (null: rows written
    # before migration 0010, replayed without them).
    headers: Mapped[dict | None] = mapped_column(Document)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
