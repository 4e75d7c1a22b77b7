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
