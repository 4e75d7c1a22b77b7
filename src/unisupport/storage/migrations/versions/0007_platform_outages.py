"""Platform outages and their notices to MCSAP Plus customers (R-MCSAP-5).

Revision ID: 0007_platform_outages
Revises: 0006_third_parties
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0007_platform_outages"
down_revision = "0006_third_parties"
branch_labels = None
depends_on = None


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    op.create_table(
        "platform_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("products", document, nullable=False),
        sa.Column("regions", document, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("declared_at", instant, nullable=False),
        sa.Column("declared_by", sa.String(length=254), nullable=False),
        sa.Column("resolved_at", instant, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_outages")),
        sa.UniqueConstraint("reference", name=op.f("uq_platform_outages_reference")),
    )
    op.create_table(
        "platform_outage_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", instant, nullable=False),
        sa.Column("by", sa.String(length=254), nullable=False),
        sa.Column("decisions", document, nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"], ["platform_outages.id"], name=op.f("fk_platform_outage_notices_outage_id_platform_outages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_outage_notices")),
        sa.UniqueConstraint("outage_id", "sequence", name=op.f("uq_platform_outage_notices_outage_id_sequence")),
    )
    op.create_index(
        op.f("ix_platform_outage_notices_outage_id"), "platform_outage_notices", ["outage_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_platform_outage_notices_outage_id"), table_name="platform_outage_notices")
    op.drop_table("platform_outage_notices")
    op.drop_table("platform_outages")
