"""Communications users can refuse (R-COM-1) and satisfaction surveys (R-CSAT-1):
mail_preferences, surveys, announcements, and the outbox's ``withheld`` status
(docs/decisions.md D112–D119).

Revision ID: 0020_communications_surveys
Revises: 0019_search_and_saved_views
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0020_communications_surveys"
down_revision = "0019_search_and_saved_views"
branch_labels = None
depends_on = ("0004_outbox",)

WHEN = unisupport.storage.base.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mail_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("changed_at", WHEN, nullable=False),
        sa.Column("changed_by", sa.String(length=254), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_mail_preferences_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_preferences")),
        sa.UniqueConstraint("address", "category", name=op.f("uq_mail_preferences_address_category")),
    )
    op.create_index(op.f("ix_mail_preferences_customer_id"), "mail_preferences", ["customer_id"], unique=False)
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("occasion", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("withheld", sa.Boolean(), nullable=False),
        sa.CheckConstraint("occasion IN ('incident', 'booking', 'order')", name=op.f("ck_surveys_occasion")),
        sa.CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name=op.f("ck_surveys_score")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_surveys_contact_id_contacts")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_surveys_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("occasion", "subject_id", "period", name=op.f("uq_surveys_occasion_subject_id_period")),
    )
    op.create_index("ix_surveys_customer_sent", "surveys", ["customer_id", "sent_at"], unique=False)
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_en", sa.String(length=200), nullable=False),
        sa.Column("subject_fr", sa.String(length=200), nullable=False),
        sa.Column("body_en", sa.String(length=10000), nullable=False),
        sa.Column("body_fr", sa.String(length=10000), nullable=False),
        sa.Column("customers", JSON, nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('pending', 'sending', 'sent', 'failed', 'withheld')")


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'withheld'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch_op.create_check_constraint("status", "status IN ('pending', 'sending', 'sent', 'failed')")
    op.drop_table("announcements")
    op.drop_index("ix_surveys_customer_sent", table_name="surveys")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_mail_preferences_customer_id"), table_name="mail_preferences")
    op.drop_table("mail_preferences")
