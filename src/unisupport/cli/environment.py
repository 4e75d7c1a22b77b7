"""What every command that touches the database shares: the database (migrated on
first use, and named on stderr when it was just created), the acting user, the clock
and JSON output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

from sqlalchemy.orm import Session

import unisupport
from unisupport.clock import SystemClock
from unisupport.errors import InvalidInput
from unisupport.inputs import FIRST_DAY, LAST_DAY
from unisupport.settings import DATA_DIR, DATABASE_URL, Settings
from unisupport.storage.database import Database, sqlite_file

DEFAULT_DATABASE = "data/unisupport.db"  # under the current folder, unless UNISUPPORT_DATA_DIR says
CHECKOUT = Path(unisupport.__file__).resolve().parents[2]  # the clone, when run from one (src/unisupport/)

_database: Database | None = None


def database() -> Database:
    global _database
    if _database is None:
        _database = open_database(Settings.from_env())
    return _database


def open_database(settings: Settings) -> Database:
    """The database of ``settings``, migrated. When that is a SQLite file that did not
    exist (in ``./data`` or in UNISUPPORT_DATA_DIR), say so on stderr, in one line: run
    from another folder, the default ``./data`` is another, empty database, and
    ``user list`` showing nothing would otherwise be all the user sees."""
    file = sqlite_file(settings.database_url)
    # A file UNISUPPORT_DATABASE_URL names is the one asked for, new or not.
    new = file is not None and not file.exists() and settings.database_from != DATABASE_URL
    opened = Database.from_settings(settings)
    if new and file is not None:
        print(new_database_notice(settings, file.resolve()), file=sys.stderr)
    return opened


def new_database_notice(settings: Settings, file: Path, *, checkout: Path = CHECKOUT) -> str:
    """One line: which database was created and, for the default one, how to use
    another — the clone's own (scripts/run.sh's) when there is one."""
    if settings.database_from != "default":
        return f"created a new empty database at {file} ({settings.database_from} names a folder without one)"
    kept = checkout / DEFAULT_DATABASE
    if kept.resolve() == file.resolve():  # the clone's own, as scripts/run.sh makes it
        return f"created a new empty database at {file}"
    where = (
        f"{checkout} to use the database scripts/run.sh made there"
        if kept.is_file() and (checkout / "pyproject.toml").is_file()
        else f"the folder that holds {DEFAULT_DATABASE} to use an existing one"
    )
    return f"created a new empty database at {file}; set {DATA_DIR} or run from {where}"


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
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None
    if not FIRST_DAY <= day <= LAST_DAY:  # the API's span for every date input (inputs.Day)
        raise InvalidInput(
            f"{value} is not a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}", field=field
        )
    return day


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, default=_default))
