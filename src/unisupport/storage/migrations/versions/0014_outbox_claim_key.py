"""The key of the delivery run that holds an outbox claim (outbox.claim_key): on
PostgreSQL that run holds an advisory lock on it for as long as it lives, so the
claims of a worker that died are taken over at once instead of after the lease.

Revision ID: 0014_outbox_claim_key
Revises: 0013_mail_in
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_outbox_claim_key"
down_revision = "0013_mail_in"
branch_labels = None
depends_on = ("0004_outbox",)  # the outbox table


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("claim_key", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("claim_key")
