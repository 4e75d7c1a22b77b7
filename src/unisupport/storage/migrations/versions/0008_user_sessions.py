"""Ending a user's web sessions before they expire (an administrator's action, or a
password change): users.sessions_valid_from.

Revision ID: 0008_user_sessions
Revises: 0007_platform_outages
"""

import sqlalchemy as sa
from alembic import op

import unisupport.storage.base

revision = "0008_user_sessions"
down_revision = "0007_platform_outages"
branch_labels = None
depends_on = ("0002_users",)  # the users table


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(
            sa.Column("sessions_valid_from", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("sessions_valid_from")
