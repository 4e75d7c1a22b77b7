"""Database fixtures: every storage test runs on SQLite and on PostgreSQL.

The schema is built with Alembic (``alembic upgrade head``) once per database and
test session; each test runs inside a transaction that is rolled back at its end, so
tests never clean up by deleting rows. PostgreSQL comes from
``UNISUPPORT_TEST_POSTGRES_URL`` (``.ci/run`` starts a server and sets it); under
CI a missing PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from unisupport.clock import FixedClock
from unisupport.storage.database import Database, make_engine, migrate

POSTGRES = os.environ.get("UNISUPPORT_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

BACKENDS = ["sqlite", "postgresql"]


def _backend_param(name: str):
    if name == "postgresql" and not POSTGRES:
        if IN_CI:
            raise RuntimeError("CI must run the storage tests on PostgreSQL: set UNISUPPORT_TEST_POSTGRES_URL")
        return pytest.param(
            name,
            marks=pytest.mark.skip(
                reason="no PostgreSQL here: set UNISUPPORT_TEST_POSTGRES_URL (.ci/start-postgres.sh prints one)"
            ),
        )
    return pytest.param(name)


class TempDatabases:
    """Creates throw-away databases: a file for SQLite, a database for PostgreSQL."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self.tmp = tmp_path_factory
        self.created: list[str] = []

    def new_url(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp.mktemp('db') / 'unisupport.db'}"
        name = f"unisupport_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)  # type: ignore[arg-type]

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def temp_databases(tmp_path_factory) -> Iterator[TempDatabases]:
    dbs = TempDatabases(tmp_path_factory)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session", params=[_backend_param(b) for b in BACKENDS])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def engine(backend: str, temp_databases: TempDatabases) -> Iterator[Engine]:
    """One migrated database per backend for the whole test session."""
    engine = make_engine(temp_databases.new_url(backend))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (savepoints inside)."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def fresh_database(backend: str, temp_databases: TempDatabases) -> Iterator[Database]:
    """A new, migrated, empty database whose transactions really commit: for tests
    of concurrency and of commands that own their transaction."""
    db = Database(make_engine(temp_databases.new_url(backend)))
    migrate(db.engine)
    yield db
    db.engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
