"""SQL expressions that read the same on SQLite and PostgreSQL, for the statements
that build rows inside the database (the watcher's events and notifications: a
sweep of 10,000 breaches writes 80,000 rows without bringing them to Python).

* ``iso_utc(instant)`` — an instant as ISO 8601 text in UTC, to the second:
  ``2026-11-30T09:15:00+00:00`` (what ``datetime.isoformat`` gives for a UTC
  instant without microseconds; ``datetime.fromisoformat`` reads it back).
* ``json_document(key, value, …)`` — a JSON object (``jsonb_build_object`` /
  ``json_object``).
* ``json_merged(document, more)`` — a JSON object with the keys of ``more`` added
  (``jsonb ||`` / ``json_patch``; the values of ``more`` win).
* ``zero_padded(number, width)`` — ``42`` → ``000042`` (wider numbers unclipped).
* ``whole_minutes(earlier, later)`` — the minutes from one instant to the other,
  rounded down.
* ``epoch(instant)`` — an instant as whole seconds since 1970-01-01 UTC (an integer;
  the reports read thousands of instants without converting each in Python)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from unisupport.storage.base import Document


class iso_utc(FunctionElement):  # lower case: it reads as a SQL function
    type = String()
    inherit_cache = True
    name = "iso_utc"


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element: iso_utc, compiler: Any, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"""to_char(({moment}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # SQLite keeps instants as UTC text (storage.base.UTCDateTime).
    return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {compiler.process(element.clauses, **kw)})"


class json_document(FunctionElement):
    type = Document
    inherit_cache = True
    name = "json_document"


@compiles(json_document, "postgresql")
def _json_postgresql(element: json_document, compiler: Any, **kw: Any) -> str:
    return f"jsonb_build_object({compiler.process(element.clauses, **kw)})"


@compiles(json_document, "sqlite")
def _json_sqlite(element: json_document, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


class json_merged(FunctionElement):
    type = Document
    inherit_cache = True
    name = "json_merged"


@compiles(json_merged, "postgresql")
def _merged_postgresql(element: json_merged, compiler: Any, **kw: Any) -> str:
    document, more = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({document}) || ({more}))"


@compiles(json_merged, "sqlite")
def _merged_sqlite(element: json_merged, compiler: Any, **kw: Any) -> str:
    document, more = (compiler.process(c, **kw) for c in element.clauses)
    return f"json_patch({document}, {more})"


class zero_padded(FunctionElement):
    type = String()
    inherit_cache = True
    name = "zero_padded"


def _number_and_width(element: zero_padded, compiler: Any, **kw: Any) -> tuple[str, int]:
    number, width = list(element.clauses)
    return compiler.process(number, **kw), int(width.value)


@compiles(zero_padded, "postgresql")
def _padded_postgresql(element: zero_padded, compiler: Any, **kw: Any) -> str:
    number, width = _number_and_width(element, compiler, **kw)
    return (
        f"CASE WHEN ({number}) < {10**width} THEN lpad(CAST(({number}) AS TEXT), {width}, '0') "
        f"ELSE CAST(({number}) AS TEXT) END"
    )


@compiles(zero_padded, "sqlite")
def _padded_sqlite(element: zero_padded, compiler: Any, **kw: Any) -> str:
    number, width = _number_and_width(element, compiler, **kw)
    return f"printf('%0{width}d', {number})"


class whole_minutes(FunctionElement):
    type = Integer()
    inherit_cache = True
    name = "whole_minutes"


@compiles(whole_minutes, "postgresql")
def _minutes_postgresql(element: whole_minutes, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(extract(epoch FROM (({later}) - ({earlier}))) / 60) AS INTEGER)"


@compiles(whole_minutes, "sqlite")
def _minutes_sqlite(element: whole_minutes, compiler: Any, **kw: Any) -> str:
    earlier, later = (compiler.process(c, **kw) for c in element.clauses)
    # Whole seconds (julianday's fractions are not exact), then division rounded down
    # (SQLite's integer division rounds towards zero; floor() is not in every build).
    seconds = f"(CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER))"
    return f"(CASE WHEN {seconds} >= 0 THEN {seconds} / 60 ELSE -((59 - {seconds}) / 60) END)"


class epoch(FunctionElement):
    type = Integer()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM ({compiler.process(element.clauses, **kw)}))) AS BIGINT)"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"
