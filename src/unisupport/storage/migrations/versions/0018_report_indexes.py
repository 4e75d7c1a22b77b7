"""The monthly reports (docs/decisions.md D101): when an RCA was delivered
(rca_requests.delivered_at, R-RCA-2), and the indexes the reports read incidents by —
the month they were opened in, for every customer or for one.

Revision ID: 0018_report_indexes
Revises: 0019_search_and_saved_views
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_report_indexes"
down_revision = "0017_states_update_targets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rca_requests") as batch_op:
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_index("ix_incidents_customer_opened_at", "incidents", ["customer_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_incidents_customer_opened_at", table_name="incidents")
    op.drop_index("ix_incidents_opened_at", table_name="incidents")
    with op.batch_alter_table("rca_requests") as batch_op:
        batch_op.drop_column("delivered_at")
