"""Orders, ledgers, bookings, mission-critical records, audit events.

The ledger is append-only: triggers refuse any UPDATE or DELETE of ledger_entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:32:33.137800
"""

from alembic import op
import sqlalchemy as sa
import unisupport.storage.base
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("code", name=op.f("uq_customers_code")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("after", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_audit_events_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_audit_events_subject", ["subject_type", "subject_id"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column(
            "calendar", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_sites_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("customer_id", "code", name=op.f("uq_sites_customer_id_code")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_contacts_customer_id_customers")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_contacts_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("customer_id", "email", name=op.f("uq_contacts_customer_id_email")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_list", sa.String(length=64), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("executed_on", sa.Date(), nullable=True),
        sa.Column("host_site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")),
        sa.ForeignKeyConstraint(["host_site_id"], ["sites.id"], name=op.f("fk_orders_host_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "milestone_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_milestone_completions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_milestone_completions_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_completions")),
        sa.UniqueConstraint("order_id", "milestone", name=op.f("uq_milestone_completions_order_id_milestone")),
    )
    with op.batch_alter_table("milestone_completions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_completions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_milestone_completions_order_id"), ["order_id"], unique=False)

    op.create_table(
        "monitoring_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("defined_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_scenarios_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_monitoring_scenarios_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_scenarios")),
        sa.UniqueConstraint("order_id", "name", name=op.f("uq_monitoring_scenarios_order_id_name")),
    )
    with op.batch_alter_table("monitoring_scenarios", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitoring_scenarios_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_monitoring_scenarios_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("quantity", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("price", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("funding", sa.String(length=16), nullable=False),
        sa.Column("credits", unisupport.storage.base.Amount(), nullable=True),
        sa.Column("contract_year", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_order_lines_customer_id_customers")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_order_lines_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "code", name=op.f("uq_order_lines_order_id_code")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("document_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "changes", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False
        ),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_order_versions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_versions_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_versions")),
        sa.UniqueConstraint("order_id", "version", name=op.f("uq_order_versions_order_id_version")),
    )
    with op.batch_alter_table("order_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_versions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_versions_order_id"), ["order_id"], unique=False)

    op.create_table(
        "service_improvement_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_service_improvement_plans_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_service_improvement_plans_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_improvement_plans")),
    )
    with op.batch_alter_table("service_improvement_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_improvement_plans_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_improvement_plans_order_id"), ["order_id"], unique=False)

    op.create_table(
        "success_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=254), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_success_plans_customer_id_customers")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_success_plans_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plans")),
    )
    with op.batch_alter_table("success_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_success_plans_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "azure_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("solution", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("confirmed_on", sa.Date(), nullable=False),
        sa.Column("provider_consent", sa.Boolean(), nullable=False),
        sa.Column("reduced_assessment", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_azure_events_customer_id_customers")),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_azure_events_line_id_order_lines")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_azure_events_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_azure_events")),
        sa.UniqueConstraint("order_id", "code", name=op.f("uq_azure_events_order_id_code")),
    )
    with op.batch_alter_table("azure_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_azure_events_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_azure_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("quantity", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("funding", sa.String(length=16), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("starts_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cost", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("cost_unit", sa.String(length=32), nullable=False),
        sa.Column(
            "cost_explanation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=True),
        sa.Column("minimum_registrations", sa.Integer(), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("override_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fee", unisupport.storage.base.Amount(), nullable=True),
        sa.Column("fee_unit", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_bookings_customer_id_customers")),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_bookings_line_id_order_lines")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_bookings_order_id_orders")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_bookings_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bookings_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bookings_order_id"), ["order_id"], unique=False)

    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("contract_year", sa.Integer(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("expiry_rule", sa.String(length=16), nullable=True),
        sa.Column("may_go_negative", sa.Integer(), nullable=False),
        sa.Column("balance", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_ledger_accounts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"], name=op.f("fk_ledger_accounts_line_id_order_lines")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_ledger_accounts_order_id_orders")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_ledger_accounts_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("order_id", "key", name=op.f("uq_ledger_accounts_order_id_key")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_accounts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_accounts_order_id"), ["order_id"], unique=False)

    op.create_table(
        "success_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_success_plan_items_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["success_plans.id"], name=op.f("fk_success_plan_items_plan_id_success_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plan_items")),
    )
    with op.batch_alter_table("success_plan_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_success_plan_items_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_success_plan_items_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("balance_after", unisupport.storage.base.Amount(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("at", unisupport.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("correlation", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"], name=op.f("fk_ledger_entries_account_id_ledger_accounts")
        ),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_ledger_entries_booking_id_bookings")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_ledger_entries_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_ledger_entries_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_correlation"), ["correlation"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_order_id"), ["order_id"], unique=False)
    _append_only_ledger()


APPEND_ONLY = "ledger entries are append-only: record a new entry instead (R-ORD-3, R-CRED-2)"


def _append_only_ledger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$ LANGUAGE plpgsql
        """)
        op.execute("""
            CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
            FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()
        """)
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER ledger_entries_no_{action.lower()} BEFORE {action} ON ledger_entries
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END
            """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_order_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_customer_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_correlation"))
        batch_op.drop_index("ix_ledger_entries_account_id_id")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("success_plan_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plan_items_plan_id"))
        batch_op.drop_index(batch_op.f("ix_success_plan_items_customer_id"))

    op.drop_table("success_plan_items")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_order_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_customer_id"))

    op.drop_table("ledger_accounts")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_order_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_customer_id"))

    op.drop_table("bookings")
    with op.batch_alter_table("azure_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_azure_events_order_id"))
        batch_op.drop_index(batch_op.f("ix_azure_events_customer_id"))

    op.drop_table("azure_events")
    with op.batch_alter_table("success_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plans_customer_id"))

    op.drop_table("success_plans")
    with op.batch_alter_table("service_improvement_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_improvement_plans_order_id"))
        batch_op.drop_index(batch_op.f("ix_service_improvement_plans_customer_id"))

    op.drop_table("service_improvement_plans")
    with op.batch_alter_table("order_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_versions_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_versions_customer_id"))

    op.drop_table("order_versions")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_customer_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("monitoring_scenarios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitoring_scenarios_order_id"))
        batch_op.drop_index(batch_op.f("ix_monitoring_scenarios_customer_id"))

    op.drop_table("monitoring_scenarios")
    with op.batch_alter_table("milestone_completions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_completions_order_id"))
        batch_op.drop_index(batch_op.f("ix_milestone_completions_customer_id"))

    op.drop_table("milestone_completions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_customer_id"))

    op.drop_table("orders")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_customer_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_customer_id"))

    op.drop_table("sites")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_subject")
        batch_op.drop_index(batch_op.f("ix_audit_events_customer_id"))

    op.drop_table("audit_events")
    op.drop_table("customers")
