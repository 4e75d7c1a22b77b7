"""Mail in: the inbound mails (one row per Message-ID, with its outcome), and on
incidents the flag "an engineer must confirm the severity" (an incident opened by
mail: R-SEV-1) and the closed incident a new one follows up.

Written by hand; tests/test_mail_in_service.py compares it with the models.

Revision ID: 0013_mail_in
Revises: 0012_conversation
"""

import sqlalchemy as sa
from alembic import op

import unisupport.storage.base

revision = "0013_mail_in"
down_revision = "0012_conversation"
branch_labels = None
depends_on = ("0003_incidents",)


def upgrade() -> None:
    op.add_column(
        "incidents", sa.Column("severity_to_confirm", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    if op.get_bind().dialect.name == "sqlite":
        # In place: a batch would rebuild the table, which the rows referencing
        # incidents forbid (every incident has its acknowledgement).
        op.execute(
            "ALTER TABLE incidents ADD COLUMN previous_incident_id INTEGER "
            "CONSTRAINT fk_incidents_previous_incident_id_incidents REFERENCES incidents (id)"
        )
    else:
        op.add_column("incidents", sa.Column("previous_incident_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_incidents_previous_incident_id_incidents"),
            "incidents",
            "incidents",
            ["previous_incident_id"],
            ["id"],
        )
    op.create_table(
        "inbound_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("message_row_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mailbox_uid", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('attached', 'reopened', 'opened', 'opened-linked', 'refused', 'ignored', 'failed')",
            name=op.f("ck_inbound_mails_outcome"),
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_inbound_mails_customer_id_customers")),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_inbound_mails_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mails")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_mails_message_id")),
    )
    op.create_index("ix_inbound_mails_sender_answered", "inbound_mails", ["sender", "answered_at"])
    op.create_index("ix_inbound_mails_outcome", "inbound_mails", ["outcome", "id"])
    op.create_index(op.f("ix_inbound_mails_incident_id"), "inbound_mails", ["incident_id"])
    op.create_index(op.f("ix_inbound_mails_customer_id"), "inbound_mails", ["customer_id"])


def downgrade() -> None:
    op.drop_table("inbound_mails")
    if op.get_bind().dialect.name != "sqlite":  # SQLite drops the column's inline constraint with it
        op.drop_constraint("fk_incidents_previous_incident_id_incidents", "incidents", type_="foreignkey")
    op.drop_column("incidents", "previous_incident_id")  # in place on SQLite 3.35 and later
    op.drop_column("incidents", "severity_to_confirm")
