"""Joins the two revisions that both followed 0016: the incidents' states and update
targets (0017), and the report indexes, search and sign-in revisions (0018 to 0023), written in parallel.
A database at either one upgrades through the other; a test can go back to just before
one of them and keep the other (tests/test_search.py).

Revision ID: 0017_merge_states_search
Revises: 0017_states_update_targets, 0023_webhooks
"""

revision = "0017_merge_states_search"
down_revision = ("0017_states_update_targets", "0023_webhooks")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
