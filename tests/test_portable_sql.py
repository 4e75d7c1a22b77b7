"""The SQL expressions the watcher builds rows with give, on SQLite and PostgreSQL,
what Python gives for the same values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import literal, select

from unisupport.services.incident_notifications import incident_number
from unisupport.storage.base import UTCDateTime
from unisupport.storage.portable_sql import iso_utc, json_document, whole_minutes, zero_padded

INSTANTS = [
    datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
    datetime(2027, 1, 1, 23, 0, 1, 5, tzinfo=UTC),
]


def instant(value: datetime):
    return literal(value, UTCDateTime())


@pytest.mark.parametrize("value", INSTANTS)
def test_iso_utc_is_pythons_isoformat_to_the_second(session, value):
    text = session.scalar(select(iso_utc(instant(value))))
    assert text == value.replace(microsecond=0).isoformat() and datetime.fromisoformat(text) == value.replace(
        microsecond=0
    )


@pytest.mark.parametrize("number", [0, 7, 42, 999_999, 1_000_000, 12_345_678])
def test_zero_padded_numbers_are_the_incident_numbers(session, number):
    assert "INC-" + session.scalar(select(zero_padded(literal(number), 6))) == incident_number(number)


@pytest.mark.parametrize("seconds", [0, 59, 60, 61, 5_400, -1, -60, -61, 86_400 * 3 + 17])
def test_whole_minutes_round_down(session, seconds):
    start = INSTANTS[0]
    assert (
        session.scalar(select(whole_minutes(instant(start), instant(start + timedelta(seconds=seconds)))))
        == seconds // 60
    )


def test_json_documents_hold_text_numbers_and_null(session):
    document = session.scalar(
        select(json_document(literal("a"), literal("é « x »"), literal("n"), literal(120), literal("none"), None))
    )
    assert document == {"a": "é « x »", "n": 120, "none": None}
