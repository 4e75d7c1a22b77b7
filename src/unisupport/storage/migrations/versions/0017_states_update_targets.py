"""An incident's state (incidents.state: in progress, awaiting the customer …) beside its
status, and its update targets ("next update due", R-INC-2; docs/decisions.md D93–D96).

Revision ID: 0017_states_update_targets
Revises: 0016_user_timezone
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0017_states_update_targets"
down_revision = "0016_user_timezone"
branch_labels = None
depends_on = ("0003_incidents",)

PENDING = "met_at IS NULL AND breached_at IS NULL AND ended_at IS NULL"


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    # The state of the incidents already stored is their status (open, mitigated, closed).
    op.add_column("incidents", sa.Column("state", sa.String(length=24), nullable=False, server_default="open"))
    op.execute("UPDATE incidents SET state = status")
    op.create_table(
        "update_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=1), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.String(length=16), nullable=False),
        sa.Column("started_at", instant, nullable=False),
        sa.Column("due_at", instant, nullable=True),
        sa.Column("warn_at", instant, nullable=True),
        sa.Column("paused_since", instant, nullable=True),
        sa.Column("pauses", document, nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("met_at", instant, nullable=True),
        sa.Column("met_late", sa.Boolean(), nullable=True),
        sa.Column("warned_at", instant, nullable=True),
        sa.Column("breached_at", instant, nullable=True),
        sa.Column("ended_at", instant, nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("explanation", document, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "seq"),
    )
    op.create_index("ix_update_targets_customer_id", "update_targets", ["customer_id"])
    op.create_index("ix_update_targets_incident_id", "update_targets", ["incident_id"])
    op.create_index(
        "ix_update_targets_pending_due",
        "update_targets",
        ["due_at"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_update_targets_pending_warn",
        "update_targets",
        ["warn_at"],
        postgresql_where=sa.text(PENDING + " AND warned_at IS NULL"),
        sqlite_where=sa.text(PENDING + " AND warned_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("update_targets")
    op.drop_column("incidents", "state")  # SQLite 3.35 and later drop a column in place
