"""Search without accents on PostgreSQL (docs/decisions.md D153): "reseau" finds "réseau".

SQLite's FTS5 table already folds diacritics (``unicode61 remove_diacritics 2``). On
PostgreSQL the ``unaccent`` extension (a trusted extension shipped with PostgreSQL's
contrib modules: a user who may create objects in the database may create it) gives a dictionary that two text
search configurations put before the French and English stemmers; the generated
``document`` column and its GIN index are rebuilt with them. Queries and snippets use
the same configurations (services/search.py), so a snippet still shows and highlights
the accented words as written. Where the extension cannot be created the two
configurations are plain copies of ``french`` and ``english``: search works, with the
accents, and a warning says so.

Revision ID: 0025_search_unaccent
Revises: 0024_sweep_indexes
"""

import warnings

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0025_search_unaccent"
down_revision = "0024_sweep_indexes"
branch_labels = None
depends_on = None

WORDS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


# What makes a database migrated without the extension fold accents later (docs/deployment.md).
LATER = " ".join(
    [
        "CREATE EXTENSION unaccent;",
        *(
            f"ALTER TEXT SEARCH CONFIGURATION unisupport_{language} ALTER MAPPING FOR {WORDS} "
            f"WITH unaccent, {language}_stem;"
            for language in ("french", "english")
        ),
        "UPDATE incident_search SET body = body;",  # the stored documents, computed again
    ]
)


def _document(french: str, english: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS ix_incident_search_document",
        "ALTER TABLE incident_search DROP COLUMN document",
        f"""ALTER TABLE incident_search ADD COLUMN document tsvector GENERATED ALWAYS AS (
            to_tsvector('{french}', translate(body, '._-/', '    '))
            || to_tsvector('{english}', translate(body, '._-/', '    '))
        ) STORED""",
        "CREATE INDEX ix_incident_search_document ON incident_search USING gin (document)",
    ]


def _create_unaccent() -> bool:
    """The extension, if this database user may create it (a savepoint keeps the
    migration's transaction usable when it may not): else the configurations are plain
    copies and search keeps the accents, as before, with a warning."""
    connection = op.get_bind()
    try:
        with connection.begin_nested():
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError as exc:
        warnings.warn(
            "search: the unaccent extension could not be created, so searches on PostgreSQL keep the accents. "
            f"Someone who may create it can run, in this database: {LATER}  ({exc.orig})",
            stacklevel=1,
        )
        return False
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    unaccent = _create_unaccent()
    for language in ("french", "english"):
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION unisupport_{language} (COPY = pg_catalog.{language})")
        if unaccent:
            op.execute(
                f"ALTER TEXT SEARCH CONFIGURATION unisupport_{language} ALTER MAPPING FOR {WORDS} "
                f"WITH unaccent, {language}_stem"
            )
    for statement in _document("unisupport_french", "unisupport_english"):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _document("french", "english"):
        op.execute(statement)
    for language in ("french", "english"):
        op.execute(f"DROP TEXT SEARCH CONFIGURATION unisupport_{language}")
