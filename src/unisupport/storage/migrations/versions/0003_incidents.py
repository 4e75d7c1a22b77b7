"""Incidents, communications, timeline, assignments, RCA requests, post-incident
reviews and API idempotency keys.

Revision ID: 0003_incidents
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import unisupport.storage.base

revision = "0003_incidents"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", sa.String(length=254), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("principal", "key", name=op.f("uq_idempotency_keys_principal_key")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("business_impact", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tenant", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.String(length=1), nullable=False),
        sa.Column("highest_severity", sa.String(length=1), nullable=False),
        sa.Column("production_impact", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=False),
        sa.Column(
            "routing", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "explanation", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.String(length=16), nullable=False),
        sa.Column("opened_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("target_started_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_due", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_warn_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("critical_resource_due", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("critical_resource_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mitigated_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_incidents_contact_id_contacts")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_incidents_customer_id_customers")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_incidents_order_id_orders")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_incidents_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_customer_status", "incidents", ["customer_id", "status", "id"], unique=False)
    op.create_index("ix_incidents_watch_due", "incidents", ["status", "first_response_due"], unique=False)
    op.create_index("ix_incidents_watch_warn", "incidents", ["status", "first_response_warn_at"], unique=False)
    op.create_table(
        "incident_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=48), nullable=False),
        sa.Column("person", sa.String(length=254), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_assignments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_assignments_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_assignments")),
    )
    op.create_index(op.f("ix_incident_assignments_customer_id"), "incident_assignments", ["customer_id"], unique=False)
    op.create_index(op.f("ix_incident_assignments_incident_id"), "incident_assignments", ["incident_id"], unique=False)
    op.create_table(
        "incident_communications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("medium", sa.String(length=16), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("logged_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("first_response", sa.Boolean(), nullable=False),
        sa.Column("requests_customer_action", sa.Boolean(), nullable=False),
        sa.Column("customer_response_due", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_communications_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_communications_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_communications")),
    )
    op.create_index(
        op.f("ix_incident_communications_customer_id"), "incident_communications", ["customer_id"], unique=False
    )
    op.create_index(
        op.f("ix_incident_communications_incident_id"), "incident_communications", ["incident_id"], unique=False
    )
    op.create_index(
        "ix_incident_communications_pending",
        "incident_communications",
        ["answered_at", "missed_at", "customer_response_due"],
        unique=False,
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("before", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("after", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_events_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index(op.f("ix_incident_events_customer_id"), "incident_events", ["customer_id"], unique=False)
    op.create_index(op.f("ix_incident_events_incident_id"), "incident_events", ["incident_id"], unique=False)
    op.create_table(
        "post_incident_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=True),
        sa.Column("to_improve", sa.Text(), nullable=True),
        sa.Column("recommendations", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_post_incident_reviews_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_post_incident_reviews_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_incident_reviews")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_post_incident_reviews_incident_id")),
    )
    op.create_index(
        op.f("ix_post_incident_reviews_customer_id"), "post_incident_reviews", ["customer_id"], unique=False
    )
    op.create_table(
        "rca_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("due_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_rca_requests_customer_id_customers")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_rca_requests_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rca_requests")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_rca_requests_incident_id")),
    )
    op.create_index(op.f("ix_rca_requests_customer_id"), "rca_requests", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rca_requests_customer_id"), table_name="rca_requests")
    op.drop_table("rca_requests")
    op.drop_index(op.f("ix_post_incident_reviews_customer_id"), table_name="post_incident_reviews")
    op.drop_table("post_incident_reviews")
    op.drop_index(op.f("ix_incident_events_incident_id"), table_name="incident_events")
    op.drop_index(op.f("ix_incident_events_customer_id"), table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_incident_communications_pending", table_name="incident_communications")
    op.drop_index(op.f("ix_incident_communications_incident_id"), table_name="incident_communications")
    op.drop_index(op.f("ix_incident_communications_customer_id"), table_name="incident_communications")
    op.drop_table("incident_communications")
    op.drop_index(op.f("ix_incident_assignments_incident_id"), table_name="incident_assignments")
    op.drop_index(op.f("ix_incident_assignments_customer_id"), table_name="incident_assignments")
    op.drop_table("incident_assignments")
    op.drop_index("ix_incidents_watch_warn", table_name="incidents")
    op.drop_index("ix_incidents_watch_due", table_name="incidents")
    op.drop_index("ix_incidents_customer_status", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("idempotency_keys")
