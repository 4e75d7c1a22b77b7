"""Joins the two revisions that both followed 0016: the incidents' states and update
targets (0017) and the full-text search with saved views (0019), written in parallel.
A database at either one upgrades through the other; a test can go back to just before
one of them and keep the other (tests/test_search.py).

Revision ID: 0017_merge_states_search
Revises: 0017_states_update_targets, 0019_search_and_saved_views
"""

revision = "0017_merge_states_search"
down_revision = ("0017_states_update_targets", "0019_search_and_saved_views")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
