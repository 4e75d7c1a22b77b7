"""The notification outbox (issue: watcher notifications, sent once).

Written by hand; the table matches ``unisupport.storage.tables.outbox`` exactly
(tests/test_notifications.py compares them with Alembic's autogenerate). It branches
from 0001 like the users and incidents migrations; ``migrate()`` upgrades all heads.

Revision ID: 0004_outbox
Revises: 0001
Create Date: 2026-11-30 09:00:00
"""

from alembic import op
import sqlalchemy as sa
import unisupport.storage.base
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0004_outbox"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("dedupe_key", sa.String(length=400), nullable=False),
        sa.Column("not_before", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("business_hours_site_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(length=254), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name=op.f("ck_outbox_status")),
        sa.CheckConstraint("language IN ('en', 'fr')", name=op.f("ck_outbox_language")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts")),
        sa.ForeignKeyConstraint(
            ["business_hours_site_id"], ["sites.id"], name=op.f("fk_outbox_business_hours_site_id_sites")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_outbox_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "not_before"], unique=False)
        batch_op.create_index("ix_outbox_subject", ["subject_type", "subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_subject")
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index(batch_op.f("ix_outbox_customer_id"))

    op.drop_table("outbox")
