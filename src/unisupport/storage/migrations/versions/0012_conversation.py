"""An incident's conversation: messages (public replies, customer messages, internal
notes), attachments (bytes in the blob store), the addresses it is copied to, its
reply token, the outbox's extra headers and attachment references, and the
contacts' phone numbers.

Revision ID: 0012_conversation
Revises: 0010_ended_sessions
"""

import base64
import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0012_conversation"
down_revision = "0010_ended_sessions"
branch_labels = None
depends_on = ("0004_outbox",)


def _token() -> str:
    # incidents.conversation.new_reply_token, frozen here as migrations must be.
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")

    # Every incident gets its unguessable reply token, the ones already open too. Added
    # NOT NULL with a default that is then replaced row by row: on SQLite, making a
    # column NOT NULL later would rebuild the table, which the rows of other tables
    # that reference incidents forbid.
    op.add_column("incidents", sa.Column("reply_token", sa.String(length=32), nullable=False, server_default=""))
    connection = op.get_bind()
    incidents = sa.table("incidents", sa.column("id", sa.Integer), sa.column("reply_token", sa.String))
    ids = [row[0] for row in connection.execute(sa.select(incidents.c.id))]
    for incident_id in ids:
        connection.execute(incidents.update().where(incidents.c.id == incident_id).values(reply_token=_token()))
    op.create_index("ix_incidents_reply_token", "incidents", ["reply_token"], unique=True)
    if connection.dialect.name == "postgresql":  # SQLite cannot drop a default without rebuilding the table
        op.alter_column("incidents", "reply_token", existing_type=sa.String(length=32), server_default=None)

    op.create_table(
        "incident_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=8), nullable=False),
        sa.Column("from_customer", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("at", instant, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recipients", document, nullable=True),
        sa.Column("communication_id", sa.Integer(), nullable=True),
        sa.Column("mail_message_id", sa.String(length=998), nullable=True),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column("references", document, nullable=True),
        sa.Column("created_at", instant, nullable=False),
        sa.CheckConstraint("visibility IN ('public', 'internal')", name=op.f("ck_incident_messages_visibility")),
        sa.CheckConstraint("channel IN ('web', 'api', 'mail')", name=op.f("ck_incident_messages_channel")),
        sa.ForeignKeyConstraint(
            ["communication_id"],
            ["incident_communications.id"],
            name=op.f("fk_incident_messages_communication_id_incident_communications"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_messages_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_messages_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_messages")),
        sa.UniqueConstraint(
            "incident_id", "mail_message_id", name=op.f("uq_incident_messages_incident_id_mail_message_id")
        ),
    )
    op.create_index(op.f("ix_incident_messages_customer_id"), "incident_messages", ["customer_id"])
    op.create_index(op.f("ix_incident_messages_incident_id"), "incident_messages", ["incident_id"])
    op.create_index("ix_incident_messages_mail_message_id", "incident_messages", ["mail_message_id"])

    op.create_table(
        "incident_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.Column("original", sa.Boolean(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=254), nullable=False),
        sa.Column("uploaded_at", instant, nullable=False),
        sa.CheckConstraint("size > 0", name=op.f("ck_incident_attachments_size")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_attachments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_attachments_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["incident_messages.id"], name=op.f("fk_incident_attachments_message_id_incident_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_attachments")),
    )
    for column in ("customer_id", "incident_id", "message_id", "sha256"):
        op.create_index(op.f(f"ix_incident_attachments_{column}"), "incident_attachments", [column])

    op.create_table(
        "incident_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("added_by", sa.String(length=254), nullable=False),
        sa.Column("added_at", instant, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_incident_copies_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_copies_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_copies")),
        sa.UniqueConstraint("incident_id", "email", name=op.f("uq_incident_copies_incident_id_email")),
    )
    op.create_index(op.f("ix_incident_copies_customer_id"), "incident_copies", ["customer_id"])
    op.create_index(op.f("ix_incident_copies_incident_id"), "incident_copies", ["incident_id"])

    # The phone number the engineer calls for a first response (R-SEV-2), from the order file.
    op.add_column("contacts", sa.Column("phone", sa.String(length=40), nullable=True))
    op.add_column("outbox", sa.Column("headers", document, nullable=True))
    op.add_column("outbox", sa.Column("attachments", document, nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "attachments")
    op.drop_column("outbox", "headers")
    op.drop_column("contacts", "phone")
    op.drop_table("incident_copies")
    op.drop_table("incident_attachments")
    op.drop_table("incident_messages")
    op.drop_index("ix_incidents_reply_token", table_name="incidents")
    op.drop_column("incidents", "reply_token")  # SQLite 3.35 and later drop a column in place
