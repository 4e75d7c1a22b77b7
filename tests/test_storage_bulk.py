"""Appending rows in bulk (COPY on PostgreSQL, executemany on SQLite) stores exactly
what an ordinary insert stores: instants in UTC, JSON documents and the JSON null."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from unisupport.storage.bulk import append_rows
from unisupport.storage.tables import OutboxRow

PARIS_WINTER = timezone(timedelta(hours=1))


def _row(key: str, **changes) -> dict:
    row = {
        "customer_id": None,
        "kind": "incident.breached",
        "recipient": "eva@provider.example",
        "language": "fr",
        "subject_type": "incident",
        "subject_id": 7,
        "payload": {"title": "Mail flow stopped — «quoted»\ttab", "minutes": 25},
        "dedupe_key": key,
        "not_before": datetime(2026, 11, 30, 10, 15, tzinfo=PARIS_WINTER),
        "business_hours_site_id": None,
        "status": "pending",
        "attempts": 0,
        "created_at": datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    }
    return row | changes


def _read(session, key: str) -> tuple:
    r = session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key == key)).one()
    return (
        r.kind,
        r.recipient,
        r.language,
        r.subject_id,
        r.payload,
        r.not_before,
        r.created_at,
        r.status,
        r.attempts,
        r.last_error,
    )


def test_appended_rows_read_back_as_inserted_ones(session):
    session.execute(insert(OutboxRow), [_row("inserted")])
    append_rows(session.connection(), OutboxRow.__table__, [_row("appended"), _row("second", payload={"n": None})])
    assert _read(session, "appended") == _read(session, "inserted")
    assert _read(session, "appended")[5] == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    assert _read(session, "second")[4] == {"n": None}


def test_nothing_to_append_is_no_statement(session):
    append_rows(session.connection(), OutboxRow.__table__, [])
    assert session.scalars(select(OutboxRow)).all() == []


def test_a_naive_instant_is_refused_before_it_is_stored(session):
    # SQLAlchemy wraps the type's ValueError in a StatementError on SQLite.
    with pytest.raises((ValueError, StatementError)) as error:
        append_rows(
            session.connection(), OutboxRow.__table__, [_row("naive", not_before=datetime(2026, 11, 30, 10, 15))]
        )
    assert "naive" in str(error.value)


def test_rows_inserted_now_are_the_sessions_own_as_if_flushed(session):
    """storage.bulk.insert_rows (the opening's writes): one INSERT … RETURNING per
    table, ids in the rows' order, the rows persistent in the session with nothing
    left to load, a later change flushed as an UPDATE; an unset column takes its
    scalar default."""
    from sqlalchemy import event

    from unisupport.storage.bulk import insert_rows

    rows = [OutboxRow(**_row(f"bulk-{i}")) for i in range(3)]  # last_error, claimed_by … unset: None
    statements: list[str] = []
    engine = session.get_bind()

    def count(_conn, _cursor, statement, *_args):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        insert_rows(session, rows)
        inserted = len(statements)
        assert all(r.id for r in rows) and [r.id for r in rows] == sorted(r.id for r in rows)
        assert session.get(OutboxRow, rows[1].id) is rows[1]  # the identity map, no query
        assert rows[0].payload["minutes"] == 25 and rows[0].last_error is None and rows[0].claimed_by is None
        assert len(statements) == inserted  # nothing expired, nothing loaded
    finally:
        event.remove(engine, "before_cursor_execute", count)
    inserts = [x for x in statements if x.startswith("INSERT")]
    assert inserted == len(inserts) + statements.count("SAVEPOINT sa_savepoint_1")  # nothing but the inserts
    assert all(x.startswith("INSERT INTO outbox") and "RETURNING" in x for x in inserts)
    # PostgreSQL: one statement for the three rows (insertmanyvalues); SQLite: one per row
    assert len(inserts) == (1 if engine.dialect.name == "postgresql" else 3)
    rows[2].status = "sent"
    session.flush()
    session.expire_all()
    assert [
        (r.status, r.attempts)
        for r in session.scalars(select(OutboxRow).where(OutboxRow.id.in_([r.id for r in rows])).order_by(OutboxRow.id))
    ] == [
        ("pending", rows[0].attempts),
        ("pending", rows[1].attempts),
        ("sent", rows[2].attempts),
    ]
    assert _read(session, "bulk-0")[:6] == (
        "incident.breached",
        "eva@provider.example",
        "fr",
        7,
        {"title": "Mail flow stopped — «quoted»\ttab", "minutes": 25},
        datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
    )
