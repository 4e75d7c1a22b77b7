"""Third-party collaborations on incidents (R-INC-4).

Revision ID: 0006_third_parties
Revises: 0005_watcher_indexes
"""

import sqlalchemy as sa
from alembic import op

import unisupport.storage.base

revision = "0006_third_parties"
down_revision = "0005_watcher_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    op.create_table(
        "incident_third_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=120), nullable=False),
        sa.Column("vendor_key", sa.String(length=120), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", instant, nullable=False),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("vendor_reference", sa.String(length=200), nullable=True),
        sa.Column("engaged_at", instant, nullable=True),
        sa.Column("engaged_by", sa.String(length=254), nullable=True),
        sa.Column("ended_at", instant, nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_third_parties_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_third_parties_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_third_parties")),
        sa.UniqueConstraint("incident_id", "vendor_key", name=op.f("uq_incident_third_parties_incident_id_vendor_key")),
    )
    op.create_index(
        op.f("ix_incident_third_parties_customer_id"), "incident_third_parties", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_third_parties_customer_id"), table_name="incident_third_parties")
    op.drop_table("incident_third_parties")
