"""Single sign-on with OpenID Connect: sso_attempts (state, nonce, PKCE verifier, used
once) and sso_identities (issuer and subject of a user), issue 11.

Revision ID: 0022_sso
Revises: 0019_search_and_saved_views
"""

import sqlalchemy as sa
from alembic import op

import unisupport.storage.base

revision = "0022_sso"
down_revision = "0021_remote_access_entitlement"
branch_labels = None
depends_on = ("0002_users",)  # users


def upgrade() -> None:
    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    op.create_table(
        "sso_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("used_at", instant, nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_attempts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_attempts")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_attempts_state_hash")),
    )
    op.create_index(op.f("ix_sso_attempts_user_id"), "sso_attempts", ["user_id"], unique=False)
    op.create_index(op.f("ix_sso_attempts_session_hash"), "sso_attempts", ["session_hash"], unique=False)
    op.create_table(
        "sso_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.Column("last_sign_in_at", instant, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sso_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sso_identities_issuer_subject")),
    )
    op.create_index(op.f("ix_sso_identities_user_id"), "sso_identities", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sso_identities_user_id"), table_name="sso_identities")
    op.drop_table("sso_identities")
    op.drop_index(op.f("ix_sso_attempts_session_hash"), table_name="sso_attempts")
    op.drop_index(op.f("ix_sso_attempts_user_id"), table_name="sso_attempts")
    op.drop_table("sso_attempts")
