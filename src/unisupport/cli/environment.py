"""What every command that touches the database shares: the database (migrated on
first use), the acting user, the clock and JSON output."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, overload

from sqlalchemy.orm import Session

from unisupport.clock import SystemClock
from unisupport.errors import InvalidInput
from unisupport.storage.database import Database

_database: Database | None = None


def database() -> Database:
    global _database
    if _database is None:
        _database = Database.from_settings()
    return _database


@contextmanager
def transaction() -> Iterator[Session]:
    """One command, one transaction."""
    with database().transaction() as session:
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    """A command that only reads: never queues behind writers on SQLite."""
    with database().reading() as session:
        yield session


def actor() -> str:
    """Who is acting: ``UNISUPPORT_ACTOR``, or ``cli:<login>``."""
    return os.environ.get("UNISUPPORT_ACTOR") or f"cli:{getpass.getuser()}"


def now() -> datetime:
    return SystemClock().now()


@overload
def parse_date(value: str, field: str) -> date: ...
@overload
def parse_date(value: None, field: str) -> None: ...
@overload
def parse_date(value: str | None, field: str) -> date | None: ...
def parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=_default))
