"""Appending many rows in one go: ``COPY … FROM STDIN`` on PostgreSQL (the fastest
way in, measured 10× a pipelined executemany for the watcher's timeline events), one
``executemany`` on SQLite. Values go through the columns' own conversions first
(aware instants to UTC, JSON documents to text), so a row appended here reads back
exactly as one inserted through SQLAlchemy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.types import TypeDecorator


def append_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the caller's
    transaction. No conflict handling: on PostgreSQL a constraint violation aborts
    the whole COPY (and the transaction), as one bad row of an INSERT would."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        connection.execute(table.insert(), list(rows))
        return
    names = list(rows[0])
    converters = [(i, convert) for i, name in enumerate(names) if (convert := _converter(table.c[name].type, dialect))]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]  # open: never None
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            values = [row[name] for name in names]
            for i, convert in converters:
                values[i] = convert(values[i])
            copy.write_row(values)


def _converter(column_type: Any, dialect: Any):
    """The conversion a column's values need before COPY, or None."""
    if isinstance(column_type, JSON):
        # As SQLAlchemy stores them: None is the JSON null, like any other value.
        return json.dumps
    if isinstance(column_type, TypeDecorator):
        return lambda value: column_type.process_bind_param(value, dialect)
    return None
