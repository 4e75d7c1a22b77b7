"""Signing out ends that session on the server (ended_sessions), and an idempotent
replay gives back the first answer's headers (idempotency_keys.headers).

Revision ID: 0010_ended_sessions
Revises: 0009_booking_recording_consent
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0010_ended_sessions"
down_revision = "0009_booking_recording_consent"
branch_labels = None
depends_on = ("0002_users", "0003_incidents")  # users; idempotency_keys


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    op.create_table(
        "ended_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", instant, nullable=False),
        sa.Column("expires_at", instant, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ended_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_ended_sessions")),
    )
    op.create_index(op.f("ix_ended_sessions_user_id"), "ended_sessions", ["user_id"], unique=False)
    op.create_index(op.f("ix_ended_sessions_expires_at"), "ended_sessions", ["expires_at"], unique=False)
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.add_column(sa.Column("headers", document, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch_op:
        batch_op.drop_column("headers")
    op.drop_index(op.f("ix_ended_sessions_expires_at"), table_name="ended_sessions")
    op.drop_index(op.f("ix_ended_sessions_user_id"), table_name="ended_sessions")
    op.drop_table("ended_sessions")
