"""What the watcher's sweeps (``services.watcher``, ``services.update_watch``) do with
the rows they mark, in bulk: claim and mark them in one statement, stage their ids,
and have the database write their timeline events.

* ``mark`` — ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)
  RETURNING …``: on PostgreSQL two watchers sweeping at once take disjoint rows; on
  SQLite the transaction's write lock serialises them.
* ``staged`` — the marked ids in a temporary table (COPY on PostgreSQL, then
  ANALYZE: the planner otherwise expects thousands of times more rows), for the
  ``INSERT … SELECT`` statements that follow.
* ``record_events`` — the timeline events of the staged rows, every kind of event in
  one ``INSERT … SELECT`` (docs/decisions.md D147): each row read once, and its
  events written in the order of the kinds given, row by row.
* ``writing_in_bulk`` — while a sweep writes thousands of rows: on PostgreSQL the
  foreign-key checks of each row reuse one plan (D147)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, case, insert, literal, select, union_all
from sqlalchemy.orm import Session

from unisupport.storage.base import Document
from unisupport.storage.bulk import append_rows
from unisupport.storage.portable_sql import json_document
from unisupport.storage.tables import IncidentEventRow


def mark(
    session: Session,
    row: type,
    condition: Sequence[Any],
    limit: int,
    values: dict[str, Any],
    returning: Sequence[Any],
    *,
    ordered: bool = False,
) -> list[Any]:
    """Mark the rows of ``row`` (a table class) matching ``condition`` in one statement
    and return their ``returning`` columns as they are now, by id (``ordered``: the
    lowest ids are claimed first)."""
    claim = select(row.id).where(*condition)  # type: ignore[attr-defined]  # every table has an id
    if ordered:
        claim = claim.order_by(row.id)  # type: ignore[attr-defined]
    claimed = claim.limit(limit).with_for_update(skip_locked=True).scalar_subquery()
    statement = (
        row.__table__.update()  # type: ignore[attr-defined]  # a mapped class
        .where(row.id.in_(claimed))  # type: ignore[attr-defined]
        .values(**values)
        .returning(row.id, *returning)  # type: ignore[attr-defined]
    )
    return sorted(session.connection().execute(statement).all(), key=lambda r: r.id)


@contextmanager
def writing_in_bulk(session: Session) -> Iterator[None]:
    """On PostgreSQL, for the block, ``plan_cache_mode = auto`` and ``jit = off``,
    then back to what they were. A sweep asks for a plan at each execution
    (``storage.database.plan_each_execution``, D154: its queries need their literal
    partial-index predicates planned with the instant given), and that applies to
    the statements the server runs inside its foreign-key triggers too: every row
    inserted re-planned ``SELECT 1 FROM customers WHERE id = $1 FOR KEY SHARE`` —
    80,000 plans in a sweep of 10,000 breaches. With ``auto`` the server plans each
    check a few times, then reuses the plan; the checks themselves are unchanged.
    JIT compilation (10 to 100 ms a statement, chosen by cost estimates that grow
    with the rows staged) buys nothing for statements that mostly write (D147)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    was = connection.exec_driver_sql(
        "SELECT current_setting('plan_cache_mode'), current_setting('jit'), "
        "set_config('plan_cache_mode', 'auto', true), set_config('jit', 'off', true)"
    ).one()
    yield  # after an error the transaction rolls back, and these settings with it
    connection.exec_driver_sql(
        "SELECT set_config('plan_cache_mode', %(plans)s, true), set_config('jit', %(jit)s, true)",
        {"plans": was[0], "jit": was[1]},
    )


_STAGING = MetaData()
MARKED = Table("watch_marked", _STAGING, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"])


@contextmanager
def staged(session: Session, ids: Sequence[int]) -> Iterator[Table]:
    """``ids`` in the temporary table ``watch_marked`` (one column, ``id``) for as long
    as the block runs."""
    connection = session.connection()
    _STAGING.create_all(connection, checkfirst=False)
    append_rows(connection, MARKED, [{"id": i} for i in ids])
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {MARKED.name}")
    try:
        yield MARKED
    finally:
        _STAGING.drop_all(connection, checkfirst=False)


@dataclass(frozen=True)
class Event:
    """One kind of timeline event for each staged row: its ``kind``, instant ``at``
    (an SQL expression), ``after`` document as key/value pairs (strings are
    literals, other items SQL expressions), ``reason`` and ``rule``."""

    kind: str
    at: Any
    after: list[Any]
    reason: str
    rule: str


def record_events(
    session: Session, row: type, customer_id: Any, incident_id: Any, marked: Table, events: Sequence[Event]
) -> None:
    """The ``events`` of each row of ``row`` staged in ``marked``, by the watcher, in
    one ``INSERT … SELECT``: the staged rows joined once to a numbering of the kinds."""
    kinds = union_all(*[select(literal(n).label("n")) for n in range(len(events))]).subquery("kinds")

    def each(values: list[Any]):
        return case({n: v for n, v in enumerate(values)}, value=kinds.c.n) if len(values) > 1 else values[0]

    def document(pairs: list[Any]):
        return json_document(*[literal(x) if isinstance(x, str) else x for x in pairs])

    source = (
        select(
            customer_id,
            incident_id,
            each([e.at for e in events]),
            literal("watcher"),
            each([literal(e.kind) for e in events]),
            literal(None, Document),
            each([document(e.after) for e in events]),
            each([literal(e.reason) for e in events]),
            each([literal(e.rule) for e in events]),
        )
        .select_from(row)
        .join(marked, marked.c.id == row.id)  # type: ignore[attr-defined]
        .join(kinds, literal(True))
        .order_by(row.id, kinds.c.n)  # type: ignore[attr-defined]
    )
    session.connection().execute(
        insert(IncidentEventRow).from_select(
            ["customer_id", "incident_id", "at", "actor", "kind", "before", "after", "reason", "rule"], source
        )
    )
