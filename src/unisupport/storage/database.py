"""Engines, the one transaction boundary, and migrations.

``Database.transaction()`` is the only place that commits: one transaction per CLI
command, API request or worker job; services only add and flush. On SQLite every
transaction starts with ``BEGIN IMMEDIATE`` so that writers queue instead of failing
half-way, and spending the last credit is serialised; on PostgreSQL the account row is
locked with ``SELECT … FOR UPDATE``.

SQLite writers of one process also queue on an in-process lock (one per database
file, held for the whole writing transaction, released on every path): without it,
the threads of a server all wait in sqlite3's busy handler, which sleeps up to 100 ms
between tries, so a creation under four concurrent clients could wait seconds. The
writers of different processes (``serve --workers N``, the worker, the CLI) then take
turns on an advisory lock of the kernel (``flock``) on ``<file>-writer`` next to the
database, tried every 0.2–2 ms, for the same reason (decision D144): four workers had a
p99 of 1.5 s in sqlite3's busy handler. ``BEGIN IMMEDIATE`` and ``busy_timeout`` still
order any other writer of the file. A writer that cannot get its turn within the busy
timeout fails like one that cannot get the file lock (``OperationalError``, "database
is locked"), answered 503 with ``Retry-After``; a client retrying with its
Idempotency-Key never creates twice.
PostgreSQL needs no such lock: writers lock only the rows they change.

``Database.reading()`` is for work that only reads (GET requests, reports): on SQLite
it begins deferred and never waits for writers (WAL), and it refuses to flush changes.
On PostgreSQL with a read replica (``UNISUPPORT_DATABASE_READ_URL``, decision D146) it
runs on the replica while the replica answers and lags at most the bound
(``UNISUPPORT_DATABASE_READ_MAX_LAG_SECONDS``), checked at most once a second
(:class:`ReadReplica`), else on the primary; ``reading(fresh=True)`` always reads the
primary (what must see a write just made: the admission's token check)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from unisupport.clock import Clock, SystemClock
from unisupport.errors import InvalidInput
from unisupport.settings import DATA_DIR, DATABASE_READ_URL, DATABASE_URL, Settings

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "unisupport_read_only"
BUSY_TIMEOUT_S = 60  # how long a SQLite writer waits for the database (in-process lock, then file lock)
# PostgreSQL connections of one process. A request holds at most one at a time, and a
# server process runs at most 40 sync endpoints at once (anyio's default thread
# limiter): 10 kept open for the usual load, up to 40 under a burst, so that no request
# ever waits for a connection (a pool timeout would be an error, not a 503). Each
# server process may open 40: workers × 40 must fit the server's max_connections.
POOL_SIZE = 10
POOL_OVERFLOW = 30

FILE_TURN_PAUSES_S = (0.0002, 0.002)  # first and longest pause between tries of the writer file lock

_write_locks: dict[str, threading.Lock] = {}
_file_turns: dict[str, FileTurn] = {}
_write_locks_guard = threading.Lock()


class FileTurn:
    """This process's turn among the processes writing one SQLite file: ``flock`` on
    ``<file>-writer`` (see the module). Taken only under the file's in-process lock,
    so one thread at a time uses it; the descriptor is opened once per process."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def acquire(self, timeout: float) -> bool:
        if self._pid != os.getpid():  # first use in this process (or a forked child)
            self._fd, self._pid = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o666), os.getpid()
        deadline = time.monotonic() + timeout
        pause, longest = FILE_TURN_PAUSES_S
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, longest)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]


def sqlite_file_turn(engine: Engine) -> FileTurn | None:
    """The writer file lock of ``engine``'s SQLite file (one per file and process);
    None on PostgreSQL and in-memory SQLite (one process only)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    path = os.path.realpath(database) + "-writer"
    with _write_locks_guard:
        return _file_turns.setdefault(path, FileTurn(path))


def sqlite_write_lock(engine: Engine) -> threading.Lock | None:
    """The in-process lock SQLite writers of ``engine``'s database file take (see the
    module); one per file, shared by every engine on it; None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    key = os.path.realpath(database) if database and database != ":memory:" else f"engine:{id(engine)}"
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for PostgreSQL and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"{url!r} is not a database URL", field=DATABASE_URL) from None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def make_engine(url: str, *, field: str = DATABASE_URL, **kwargs) -> Engine:
    """An engine for ``url``; the folder of a SQLite file is created if need be (a
    folder that cannot be is an InvalidInput naming ``field``, the setting to fix)."""
    file = sqlite_file(url)  # also checks that it is a URL
    if make_url(url).get_backend_name() == "sqlite":
        folder = None if file is None else file.parent
        try:
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file is in the way" if isinstance(exc, FileExistsError | NotADirectoryError) else exc.strerror
            raise InvalidInput(f"cannot create the folder {str(folder)!r}: {why}", field=field) from None
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):  # noqa: ANN001
            # Let SQLAlchemy's "begin" event below decide when transactions start.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # noqa: ANN001
            # Writers take the write lock at once (they queue instead of failing half-way);
            # read-only work begins deferred and, in WAL mode, never waits for writers.
            read_only = connection.get_execution_options().get(READ_ONLY)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    # The server's own plan choice (plan_cache_mode=auto): a statement psycopg prepares
    # (its 5th execution on a connection) is planned a few times, then its generic
    # plan is reused; the queries over the watcher's partial indexes ask for a plan
    # each time themselves (plan_each_execution). The pool: see POOL_SIZE; the pre-ping
    # (~0.04 ms a checkout on loopback) replaces a connection the server dropped
    # (restart, idle timeout) before a request uses it.
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_pre_ping": True} | kwargs
    return create_engine(url, **kwargs)


def plan_each_execution(session: Session) -> None:
    """For the rest of the transaction, on PostgreSQL, a plan for each execution of a
    statement with the values given (``plan_cache_mode = force_custom_plan``): a
    generic plan of ``first_response_due <= $1`` cannot tell a thousand rows from a
    million and ignores the partial indexes of the incidents still awaiting an answer
    and of the pending update targets (the watcher's queries went from ~1 ms to
    ~400 ms on a million incidents). Everything else keeps the server's choice, which
    reuses plans (a creation's statements and their foreign-key checks: about half
    the database's CPU of a creation, D154). Nothing on SQLite."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "heads")


def _no_turn() -> OperationalError:
    return OperationalError(
        "BEGIN IMMEDIATE", None, Exception(f"database is locked: no turn to write within {BUSY_TIMEOUT_S} s")
    )


class ReadOnly(RuntimeError):
    """A change flushed in :meth:`Database.reading` (a programming error)."""


def _refuse_to_write(session: Session, _context, _instances) -> None:  # noqa: ANN001
    if session.new or session.deleted or any(session.is_modified(row) for row in session.dirty):
        raise ReadOnly("a read-only transaction (Database.reading) must not write")


# How far behind the primary a standby is, in seconds: 0 when it has replayed all it
# received (an idle primary writes nothing new to replay), else the age of the last
# transaction it replayed; 0 for a server that is not a standby.
REPLICA_LAG = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0"
    " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)
REPLICA_CHECK_EVERY = timedelta(seconds=1)


class ReadReplica:
    """A PostgreSQL standby for read-only transactions (D146): usable while it answers
    and lags at most ``max_lag_s``; checked at most once per :data:`REPLICA_CHECK_EVERY`
    of ``clock``, one thread at a time (the others keep the last verdict)."""

    def __init__(self, engine: Engine, *, max_lag_s: float, clock: Clock | None = None):
        self.engine = engine
        self.max_lag_s = max_lag_s
        self.clock = clock or SystemClock()
        self.lag_s: float | None = None  # the last lag measured; None: the replica did not answer
        self._checked: datetime | None = None
        self._usable = False
        self._checking = threading.Lock()

    def usable(self) -> bool:
        now = self.clock.now()
        if self._checked is not None and now - self._checked < REPLICA_CHECK_EVERY:
            return self._usable
        if not self._checking.acquire(blocking=False):
            return self._usable  # another thread is asking the replica
        try:
            try:
                with self.engine.connect() as connection:
                    self.lag_s = float(connection.execute(REPLICA_LAG).scalar_one())
            except DBAPIError:
                self.lag_s = None  # down or unreachable: the primary serves the reads
            self._usable = self.lag_s is not None and self.lag_s <= self.max_lag_s
            self._checked = now
            return self._usable
        finally:
            self._checking.release()


def _read_sessions(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
    event.listen(sessions, "before_flush", _refuse_to_write)
    return sessions


class Database:
    """An engine and its session factory (and, optionally, a read replica's)."""

    def __init__(self, engine: Engine, *, replica: ReadReplica | None = None):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.read_sessions = _read_sessions(engine)
        self.replica = replica
        self.replica_sessions = _read_sessions(replica.engine) if replica is not None else None
        self.write_lock = sqlite_write_lock(engine)
        self.file_turn = sqlite_file_turn(engine)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, migrate_now: bool = True) -> Database:
        settings = settings or Settings.from_env()
        replica = None
        if settings.database_read_url:
            replica = ReadReplica(
                make_engine(settings.database_read_url, field=DATABASE_READ_URL),
                max_lag_s=settings.database_read_max_lag_s,
            )
        db = cls(
            make_engine(
                settings.database_url, field=DATABASE_URL if settings.database_from == DATABASE_URL else DATA_DIR
            ),
            replica=replica,
        )
        if migrate_now:
            try:
                migrate(db.engine)
            except OperationalError as exc:
                raise InvalidInput(f"cannot reach the database: {exc.orig}", field=DATABASE_URL) from None
        return db

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The one commit point: commit when the block succeeds, roll back otherwise.
        On SQLite, the writers of this process first take turns on :attr:`write_lock`,
        then this process takes its turn among the processes writing the file
        (:attr:`file_turn`)."""
        lock, turn = self.write_lock, self.file_turn
        started = time.monotonic()
        if lock is not None and not lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise _no_turn()
        try:
            if turn is not None and not turn.acquire(max(0.0, BUSY_TIMEOUT_S - (time.monotonic() - started))):
                raise _no_turn()
            try:
                with self.sessions() as session, session.begin():
                    yield session
            finally:
                if turn is not None:
                    turn.release()
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def reading(self, *, fresh: bool = False) -> Iterator[Session]:
        """A transaction that only reads (balances, reports): on SQLite it does not
        take the write lock, so it never queues behind writers. Writing in it is a bug
        (SQLite would refuse to upgrade the lock under contention, and the work would
        be rolled back anyway): a flush with changes raises :class:`ReadOnly`. With a
        read replica it runs there while the replica is usable, unless ``fresh``."""
        sessions = self.read_sessions
        if not fresh and self.replica_sessions is not None and self.replica.usable():  # type: ignore[union-attr]
            sessions = self.replica_sessions
        with sessions() as session:
            try:
                yield session
            finally:
                session.rollback()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except OperationalError:
            return False
