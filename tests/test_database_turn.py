"""The SQLite writer turn across processes (storage.database.FileTurn, D144, D149):
a process waiting for the turn gets it before the holder's next writer, and a turn
whose asker gave up is passed on, never kept."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from unisupport.storage import database
from unisupport.storage.database import Database, FileTurn, make_engine

# Another process (a worker of `serve --workers N`): takes the turn, holds it until a
# line comes in, lets it go and at once asks for it again (its next writer), writes
# "holder again" in the log while holding it, and lets it go.
HOLDER = """
import sys
from unisupport.storage.database import FileTurn
turn = FileTurn(sys.argv[1])
assert turn.acquire(5)
print("holding", flush=True)
sys.stdin.readline()
turn.release()
got = turn.acquire(5)
if got:
    with open(sys.argv[2], "a") as log:
        log.write("holder again\\n")
    turn.release()
print("done" if got else "no turn", flush=True)
"""


def start_holder(tmp_path) -> tuple[subprocess.Popen, str, str]:  # noqa: ANN001
    path, log = str(tmp_path / "x.db-writer"), str(tmp_path / "log")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, log], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder, path, log


def gate_is_held(path: str) -> bool:
    probe = os.open(path + "-gate", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(probe)


def wait_until(predicate, seconds: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.001)
    return True


def test_the_waiting_process_gets_the_turn_before_the_holders_next_writer(tmp_path):
    holder, path, log = start_holder(tmp_path)
    turn = FileTurn(path)
    got: list[bool] = []

    def write() -> None:
        got.append(turn.acquire(5))
        with open(log, "a") as out:
            out.write("waiter\n")
        turn.release()

    try:
        waiter = threading.Thread(target=write)
        waiter.start()
        assert wait_until(lambda: gate_is_held(path))  # this process waits, in the gate
        holder.stdin.write("\n")
        holder.stdin.flush()
        waiter.join(10)
        assert got == [True]
        assert holder.stdout.readline().strip() == "done"
        with open(log) as written:
            assert written.read().splitlines() == ["waiter", "holder again"]
    finally:
        holder.kill()
        holder.wait()


def test_a_turn_whose_asker_gave_up_is_passed_on(tmp_path):
    holder, path, log = start_holder(tmp_path)
    turn = FileTurn(path)
    try:
        assert turn.acquire(0.05) is False  # the holder keeps it: no turn within the deadline
        holder.stdin.write("\n")
        holder.stdin.flush()
        # This process's waiter got the turn after its asker gave up: it lets it go,
        # so the holder's next writer gets it.
        assert holder.stdout.readline().strip() == "done"
        assert turn.acquire(5) is True
        turn.release()
        with open(log) as written:
            assert written.read().splitlines() == ["holder again"]
    finally:
        holder.kill()
        holder.wait()


def test_a_free_turn_is_taken_at_once_and_given_back(tmp_path):
    path = str(tmp_path / "x.db-writer")
    turn = FileTurn(path)
    assert turn.acquire(0) is True
    assert not gate_is_held(path)  # the gate is held only while waiting
    other = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):  # the turn is held: another descriptor cannot take it
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        turn.release()
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # given back
        fcntl.flock(other, fcntl.LOCK_UN)
    finally:
        os.close(other)


def test_a_file_locked_by_an_outside_writer_fails_as_sqlalchemy_operational_error(tmp_path, monkeypatch):
    """BEGIN IMMEDIATE goes straight to sqlite3 (D150): a file another program keeps
    locked past the busy timeout still fails as SQLAlchemy's OperationalError (the API's
    503 with Retry-After), nothing written."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)
    path = tmp_path / "x.db"
    outside = sqlite3.connect(path, isolation_level=None)
    outside.execute("CREATE TABLE t (x INTEGER)")
    db = Database(make_engine(f"sqlite:///{path}"))
    try:
        outside.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            with db.transaction() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
        outside.execute("ROLLBACK")
        with db.reading() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        outside.close()
        db.engine.dispose()
