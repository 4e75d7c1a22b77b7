"""What a web form leaves for the page it redirects to (post, redirect, get):
web_form_outcomes.

Revision ID: 0015_web_form_outcomes
Revises: 0014_outbox_claim_key
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0015_web_form_outcomes"
down_revision = "0014_outbox_claim_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_form_outcomes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "body", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_form_outcomes")),
    )
    op.create_index(op.f("ix_web_form_outcomes_created_at"), "web_form_outcomes", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_form_outcomes_created_at"), table_name="web_form_outcomes")
    op.drop_table("web_form_outcomes")
