"""The watcher's sweep writes fewer index entries (docs/decisions.md D147): the
indexes on ``outbox.customer_id`` and ``incident_events.customer_id`` go. No query
reads either table by customer alone (the timeline reads by incident, the workers
by status and due instant), and customers are never deleted; the foreign keys stay,
so every row still names a customer that exists. A sweep of 10,000 breaches writes
80,000 fewer index entries.

Revision ID: 0024_sweep_indexes
Revises: 0023_webhooks
"""

from alembic import op

revision = "0024_sweep_indexes"
down_revision = "0023_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_customer_id")
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_events_customer_id")


def downgrade() -> None:
    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.create_index("ix_incident_events_customer_id", ["customer_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_customer_id", ["customer_id"], unique=False)
