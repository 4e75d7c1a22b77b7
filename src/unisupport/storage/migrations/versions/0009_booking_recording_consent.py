"""A recorded workshop keeps the written consent it was booked with (R-BOOK-3):
bookings.recording_consent.

Revision ID: 0009_booking_recording_consent
Revises: 0008_user_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_booking_recording_consent"
down_revision = "0008_user_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(sa.Column("recording_consent", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_column("recording_consent")
