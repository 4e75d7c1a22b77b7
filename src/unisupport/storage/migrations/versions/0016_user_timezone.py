"""The zone a user's web pages show times in: users.timezone (docs/decisions.md D60).

Revision ID: 0016_user_timezone
Revises: 0015_web_form_outcomes
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_user_timezone"
down_revision = "0015_web_form_outcomes"
branch_labels = None
depends_on = ("0002_users",)  # the users table


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("timezone")
