"""Read-only transactions on a PostgreSQL streaming replica (D146): used while it lags at
most the bound, the primary otherwise or when the replica is down. Needs the replica
.ci/start-postgres-replica.sh builds from the primary of .ci/start-postgres.sh
(UNISUPPORT_TEST_POSTGRES_REPLICA_URL); in CI its absence is an error."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from unisupport.clock import FixedClock
from unisupport.errors import InvalidInput
from unisupport.settings import DATABASE_READ_MAX_LAG, DATABASE_READ_URL, Settings
from unisupport.storage.database import Database, ReadReplica, make_engine, migrate

PRIMARY = os.environ.get("UNISUPPORT_TEST_POSTGRES_URL")
REPLICA = os.environ.get("UNISUPPORT_TEST_POSTGRES_REPLICA_URL")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
if IN_CI and not (PRIMARY and REPLICA):
    raise RuntimeError("CI must test the read replica: .ci/run sets UNISUPPORT_TEST_POSTGRES_REPLICA_URL")
needs_replica = pytest.mark.skipif(
    not (PRIMARY and REPLICA),
    reason="no PostgreSQL replica here: set UNISUPPORT_TEST_POSTGRES_URL and UNISUPPORT_TEST_POSTGRES_REPLICA_URL "
    "(.ci/start-postgres.sh, then .ci/start-postgres-replica.sh, print them)",
)


@pytest.fixture
def replicated():
    """A new database on the primary, migrated, and the same database's URL on the replica."""
    name = f"unisupport_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PRIMARY, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    primary = make_url(PRIMARY).set(database=name).render_as_string(hide_password=False)
    replica = make_url(REPLICA).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(primary)
    migrate(engine)
    engine.dispose()
    yield primary, replica
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _caught_up(primary_engine, replica_engine) -> None:
    """Wait (bounded) until the replica has replayed what the primary wrote: real replication."""
    with primary_engine.connect() as connection:
        target = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with replica_engine.connect() as connection:
            if connection.execute(text("SELECT pg_last_wal_replay_lsn() >= :t"), {"t": target}).scalar():
                return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up within 30 s")


def _where(db: Database, **kw) -> bool:
    """Whether a read-only transaction ran on the standby."""
    with db.reading(**kw) as session:
        return session.execute(text("SELECT pg_is_in_recovery()")).scalar()


@needs_replica
def test_reads_go_to_the_replica_writes_to_the_primary_and_a_lagging_replica_is_left(replicated):
    primary, replica_url = replicated
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    replica = ReadReplica(make_engine(replica_url), max_lag_s=0, clock=clock)
    db = Database(make_engine(primary), replica=replica)
    superuser = create_engine(REPLICA, isolation_level="AUTOCOMMIT")
    try:
        _caught_up(db.engine, replica.engine)
        assert _where(db) is True and replica.lag_s == 0
        assert _where(db, fresh=True) is False
        with db.transaction() as session:
            assert session.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
            session.execute(text("INSERT INTO customers (code, name, created_at) VALUES ('c', 'C', now())"))
        _caught_up(db.engine, replica.engine)
        clock.advance(seconds=1)
        with db.reading() as session:
            assert session.execute(text("SELECT code FROM customers")).scalars().all() == ["c"]
        # Replay paused and one more write: the replica now lags (more than the 0 s allowed).
        with superuser.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            with db.transaction() as session:
                session.execute(text("INSERT INTO customers (code, name, created_at) VALUES ('d', 'D', now())"))
            deadline = time.monotonic() + 30  # until the replica has *received* the write it does not replay
            while time.monotonic() < deadline:
                clock.advance(seconds=1)
                if not replica.usable():
                    break
                time.sleep(0.05)
            assert replica.lag_s is not None and replica.lag_s > 0
            with db.reading() as session:  # on the primary: the write is seen
                assert session.execute(text("SELECT count(*) FROM customers")).scalar() == 2
                assert session.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
            clock.advance(seconds=0.5)
            assert not replica.usable()  # the verdict is kept for a second, not asked again
        finally:
            with superuser.connect() as connection:
                connection.execute(text("SELECT pg_wal_replay_resume()"))
        _caught_up(db.engine, replica.engine)
        clock.advance(seconds=1)
        assert _where(db) is True and replica.lag_s == 0
    finally:
        superuser.dispose()
        replica.engine.dispose()
        db.engine.dispose()


@needs_replica
def test_a_replica_that_does_not_answer_leaves_the_reads_to_the_primary(replicated):
    primary, _ = replicated
    nobody = make_url(primary).set(port=1).render_as_string(hide_password=False)  # nothing listens on port 1
    replica = ReadReplica(make_engine(nobody), max_lag_s=5, clock=FixedClock(datetime.now(UTC)))
    db = Database(make_engine(primary), replica=replica)
    try:
        assert _where(db) is False and replica.lag_s is None
    finally:
        replica.engine.dispose()
        db.engine.dispose()


def test_the_read_replica_settings_are_checked():
    settings = Settings.from_env(
        {
            "UNISUPPORT_DATABASE_URL": "postgresql+psycopg://u@db/x",
            DATABASE_READ_URL: "postgresql+psycopg://u@replica/x",
            DATABASE_READ_MAX_LAG: "2.5",
        }
    )
    assert (settings.database_read_url, settings.database_read_max_lag_s) == ("postgresql+psycopg://u@replica/x", 2.5)
    assert Settings.from_env({"UNISUPPORT_DATABASE_URL": "postgresql+psycopg://u@db/x"}).database_read_max_lag_s == 5
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({"UNISUPPORT_DATA_DIR": "/tmp", DATABASE_READ_URL: "postgresql+psycopg://u@replica/x"})
    assert refused.value.field == DATABASE_READ_URL
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env({"UNISUPPORT_DATABASE_URL": "postgresql+psycopg://u@db/x", DATABASE_READ_MAX_LAG: "-1"})
    assert refused.value.field == DATABASE_READ_MAX_LAG
