"""Partial indexes for the watcher: only incidents still awaiting a first response.

With a million incidents, the breach and warning queries must not scan the closed and
answered ones (measured in bench/watcher_bench.py).

Revision ID: 0005_watcher_indexes
Revises: 0003_incidents
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_watcher_indexes"
down_revision = "0003_incidents"
branch_labels = None
depends_on = None

AWAITING = "first_response_at IS NULL AND breached_at IS NULL AND status <> 'closed'"
CRITICAL_PENDING = "critical_resource_due IS NOT NULL AND critical_resource_at IS NULL AND status <> 'closed'"


def upgrade() -> None:
    op.drop_index("ix_incidents_watch_due", table_name="incidents")
    op.drop_index("ix_incidents_watch_warn", table_name="incidents")
    op.create_index(
        "ix_incidents_awaiting_due",
        "incidents",
        ["first_response_due"],
        postgresql_where=sa.text(AWAITING),
        sqlite_where=sa.text(AWAITING),
    )
    op.create_index(
        "ix_incidents_awaiting_warn",
        "incidents",
        ["first_response_warn_at"],
        postgresql_where=sa.text(AWAITING + " AND warned_at IS NULL"),
        sqlite_where=sa.text(AWAITING + " AND warned_at IS NULL"),
    )
    op.create_index(
        "ix_incidents_critical_resource_due",
        "incidents",
        ["critical_resource_due"],
        postgresql_where=sa.text(CRITICAL_PENDING),
        sqlite_where=sa.text(CRITICAL_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_critical_resource_due", table_name="incidents")
    op.drop_index("ix_incidents_awaiting_warn", table_name="incidents")
    op.drop_index("ix_incidents_awaiting_due", table_name="incidents")
    op.create_index("ix_incidents_watch_due", "incidents", ["status", "first_response_due"])
    op.create_index("ix_incidents_watch_warn", "incidents", ["status", "first_response_warn_at"])
