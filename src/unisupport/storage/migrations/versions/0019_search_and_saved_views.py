"""Full-text search over incidents and the users' saved views (docs/decisions.md D106–D108).

``incident_search`` holds one entry per searchable text: an incident's title, business
impact and description; each message's body; each attached file's name (once a message
carries it, with that message's visibility). Its key says what the entry is:
``source_id * 4 + kind`` (kind 0 incident, 1 message, 2 attachment), so that a trigger
finds its entry again without an index of its own. Triggers in the database keep it
up to date on every insert and update (one statement each, no round trip from Python).

* PostgreSQL: a table whose ``document`` is a generated tsvector, French and English
  together (``to_tsvector('french', …) || to_tsvector('english', …)``), GIN-indexed.
* SQLite: an FTS5 virtual table (``porter unicode61 remove_diacritics 2``).

The entries of the incidents, messages and files already there are written here.

Revision ID: 0019_search_and_saved_views
Revises: 0016_user_timezone
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import unisupport.storage.base

revision = "0019_search_and_saved_views"
down_revision = "0016_user_timezone"
branch_labels = None
depends_on = ("0012_conversation",)

INCIDENT_TEXT = "{r}.title || ' ' || {r}.business_impact || ' ' || coalesce({r}.description, '')"
# The text an attachment's entry carries: its name, with the visibility of the message carrying it.
MESSAGE_INTERNAL = "(SELECT m.visibility = 'internal' FROM incident_messages m WHERE m.id = {r}.message_id)"

POSTGRESQL = [
    """
    CREATE TABLE incident_search (
        key bigint PRIMARY KEY,
        incident_id integer NOT NULL REFERENCES incidents(id),
        customer_id integer NOT NULL,
        internal boolean NOT NULL,
        body text NOT NULL,
        document tsvector GENERATED ALWAYS AS (
            to_tsvector('french', translate(body, '._-/', '    '))
            || to_tsvector('english', translate(body, '._-/', '    '))
        ) STORED
    )""",
    "CREATE INDEX ix_incident_search_document ON incident_search USING gin (document)",
    "CREATE INDEX ix_incident_search_incident ON incident_search (incident_id)",
    f"""
    CREATE FUNCTION incident_search_incident() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO incident_search (key, incident_id, customer_id, internal, body)
        VALUES (NEW.id::bigint * 4, NEW.id, NEW.customer_id, false, {INCIDENT_TEXT.format(r="NEW")})
        ON CONFLICT (key) DO UPDATE SET body = excluded.body, customer_id = excluded.customer_id;
        RETURN NULL;
    END $$""",
    """
    CREATE TRIGGER incident_search_incident_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_search_incident()""",
    """
    CREATE TRIGGER incident_search_incident_update AFTER UPDATE OF title, business_impact, description ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_search_incident()""",
    """
    CREATE FUNCTION incident_search_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO incident_search (key, incident_id, customer_id, internal, body)
        VALUES (NEW.id::bigint * 4 + 1, NEW.incident_id, NEW.customer_id, NEW.visibility = 'internal', NEW.body)
        ON CONFLICT (key) DO UPDATE SET body = excluded.body, internal = excluded.internal;
        UPDATE incident_search SET internal = NEW.visibility = 'internal'
        WHERE key IN (SELECT a.id::bigint * 4 + 2 FROM incident_attachments a WHERE a.message_id = NEW.id)
          AND TG_OP = 'UPDATE';
        RETURN NULL;
    END $$""",
    """
    CREATE TRIGGER incident_search_message_insert AFTER INSERT ON incident_messages
    FOR EACH ROW EXECUTE FUNCTION incident_search_message()""",
    """
    CREATE TRIGGER incident_search_message_update AFTER UPDATE OF body, visibility ON incident_messages
    FOR EACH ROW EXECUTE FUNCTION incident_search_message()""",
    f"""
    CREATE FUNCTION incident_search_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.message_id IS NOT NULL THEN
            INSERT INTO incident_search (key, incident_id, customer_id, internal, body)
            VALUES (NEW.id::bigint * 4 + 2, NEW.incident_id, NEW.customer_id,
                    coalesce({MESSAGE_INTERNAL.format(r="NEW")}, true), NEW.filename)
            ON CONFLICT (key) DO UPDATE SET body = excluded.body, internal = excluded.internal;
        END IF;
        RETURN NULL;
    END $$""",
    """
    CREATE TRIGGER incident_search_attachment_insert AFTER INSERT ON incident_attachments
    FOR EACH ROW EXECUTE FUNCTION incident_search_attachment()""",
    """
    CREATE TRIGGER incident_search_attachment_update AFTER UPDATE OF message_id, filename ON incident_attachments
    FOR EACH ROW EXECUTE FUNCTION incident_search_attachment()""",
]

SQLITE = [
    """
    CREATE VIRTUAL TABLE incident_search USING fts5(
        body, incident_id UNINDEXED, customer_id UNINDEXED, internal UNINDEXED,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )""",
    f"""
    CREATE TRIGGER incident_search_incident_insert AFTER INSERT ON incidents BEGIN
        INSERT INTO incident_search (rowid, body, incident_id, customer_id, internal)
        VALUES (NEW.id * 4, {INCIDENT_TEXT.format(r="NEW")}, NEW.id, NEW.customer_id, 0);
    END""",
    f"""
    CREATE TRIGGER incident_search_incident_update AFTER UPDATE OF title, business_impact, description
    ON incidents BEGIN
        UPDATE incident_search SET body = {INCIDENT_TEXT.format(r="NEW")} WHERE rowid = NEW.id * 4;
    END""",
    """
    CREATE TRIGGER incident_search_message_insert AFTER INSERT ON incident_messages BEGIN
        INSERT INTO incident_search (rowid, body, incident_id, customer_id, internal)
        VALUES (NEW.id * 4 + 1, NEW.body, NEW.incident_id, NEW.customer_id, NEW.visibility = 'internal');
    END""",
    """
    CREATE TRIGGER incident_search_message_update AFTER UPDATE OF body, visibility ON incident_messages BEGIN
        UPDATE incident_search SET body = NEW.body, internal = NEW.visibility = 'internal'
        WHERE rowid = NEW.id * 4 + 1;
        UPDATE incident_search SET internal = NEW.visibility = 'internal'
        WHERE rowid IN (SELECT a.id * 4 + 2 FROM incident_attachments a WHERE a.message_id = NEW.id);
    END""",
    f"""
    CREATE TRIGGER incident_search_attachment_insert AFTER INSERT ON incident_attachments
    WHEN NEW.message_id IS NOT NULL BEGIN
        INSERT INTO incident_search (rowid, body, incident_id, customer_id, internal)
        VALUES (NEW.id * 4 + 2, NEW.filename, NEW.incident_id, NEW.customer_id,
                coalesce({MESSAGE_INTERNAL.format(r="NEW")}, 1));
    END""",
    f"""
    CREATE TRIGGER incident_search_attachment_update AFTER UPDATE OF message_id, filename ON incident_attachments
    WHEN NEW.message_id IS NOT NULL BEGIN
        DELETE FROM incident_search WHERE rowid = NEW.id * 4 + 2;
        INSERT INTO incident_search (rowid, body, incident_id, customer_id, internal)
        VALUES (NEW.id * 4 + 2, NEW.filename, NEW.incident_id, NEW.customer_id,
                coalesce({MESSAGE_INTERNAL.format(r="NEW")}, 1));
    END""",
]

BACKFILL = [
    f"""INSERT INTO incident_search ({{key}}, body, incident_id, customer_id, internal)
    SELECT i.id * 4, {INCIDENT_TEXT.format(r="i")}, i.id, i.customer_id, {{false}} FROM incidents i""",
    """INSERT INTO incident_search ({key}, body, incident_id, customer_id, internal)
    SELECT m.id * 4 + 1, m.body, m.incident_id, m.customer_id, m.visibility = 'internal' FROM incident_messages m""",
    f"""INSERT INTO incident_search ({{key}}, body, incident_id, customer_id, internal)
    SELECT a.id * 4 + 2, a.filename, a.incident_id, a.customer_id, coalesce({MESSAGE_INTERNAL.format(r="a")}, {{true}})
    FROM incident_attachments a WHERE a.message_id IS NOT NULL""",
]


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(statement)
    words = (
        {"key": "key", "false": "false", "true": "true"} if postgres else {"key": "rowid", "false": "0", "true": "1"}
    )
    for statement in BACKFILL:
        op.execute(statement.format(**words))

    instant = unisupport.storage.base.UTCDateTime(timezone=True)
    document = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("filters", document, nullable=False),
        sa.Column("created_at", instant, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "page", "name"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute("DROP TABLE incident_search")
        for name in ("incident", "message", "attachment"):
            op.execute(f"DROP FUNCTION incident_search_{name}() CASCADE")
    else:
        for table in ("incident", "message", "attachment"):
            for when in ("insert", "update"):
                op.execute(f"DROP TRIGGER incident_search_{table}_{when}")
        op.execute("DROP TABLE incident_search")
