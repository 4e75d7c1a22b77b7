"""Remote-access authorisations and their sessions (R-RA-1); an incident's reproduction
steps, environment (R-REQ-1) and supported-product check (R-SUP-1); the diagnostic
activity a request for action asks for (R-REQ-1).

Revision ID: 0021_remote_access_entitlement
Revises: 0016_user_timezone
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0021_remote_access_entitlement"
down_revision = "0020_communications_surveys"
branch_labels = None
depends_on = ("0003_incidents",)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    # Nullable columns added in place: no table rebuild on SQLite.
    op.add_column("incidents", sa.Column("reproduction_steps", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("environment", sa.Text(), nullable=True))
    op.add_column("incidents", sa.Column("entitlement", document, nullable=True))
    op.add_column("incident_communications", sa.Column("diagnostic", sa.String(length=32), nullable=True))

    table = "remote_access_authorisations"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("authorised_by", sa.String(length=254), nullable=False),
        sa.Column("authorised_at", instant, nullable=False),
        sa.Column("systems", document, nullable=False),
        sa.Column("tool", sa.String(length=120), nullable=False),
        sa.Column("tool_approved", sa.Boolean(), nullable=False),
        sa.Column("data_responsibility_acknowledged", sa.Boolean(), nullable=False),
        sa.Column("valid_from", instant, nullable=False),
        sa.Column("valid_until", instant, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", instant, nullable=True),
        sa.Column("withdrawn_by", sa.String(length=254), nullable=True),
        _fk(table, "customer_id", "customers"),
        _fk(table, "incident_id", "incidents"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    for column in ("customer_id", "incident_id"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)

    table = "remote_access_sessions"
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("authorisation_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("engineer", sa.String(length=254), nullable=False),
        sa.Column("started_at", instant, nullable=False),
        sa.Column("ended_at", instant, nullable=True),
        sa.Column("ended_by", sa.String(length=254), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        _fk(table, "customer_id", "customers"),
        _fk(table, "incident_id", "incidents"),
        _fk(table, "authorisation_id", "remote_access_authorisations"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    for column in ("customer_id", "incident_id", "authorisation_id"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, columns in (
        ("remote_access_sessions", ("customer_id", "incident_id", "authorisation_id")),
        ("remote_access_authorisations", ("customer_id", "incident_id")),
    ):
        for column in columns:
            op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
        op.drop_table(table)
    # SQLite 3.35 and later drop a column in place (a batch rebuild of incidents would be
    # refused by the rows of other tables that reference it).
    op.drop_column("incident_communications", "diagnostic")
    for column in ("entitlement", "environment", "reproduction_steps"):
        op.drop_column("incidents", column)
