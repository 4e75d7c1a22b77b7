"""Two watchers sweeping one PostgreSQL database at once (tests/test_watcher.py,
tests/test_states.py): the first claims ``first_limit`` rows of each kind and holds
them locked (FOR UPDATE SKIP LOCKED) while the second sweeps; both commit."""

from __future__ import annotations

import threading
from datetime import datetime

from unisupport.services.watcher import WatchReport, sweep
from unisupport.storage.database import Database


def sweep_twice_at_once(
    db: Database, now: datetime, queue, *, first_limit: int = 10
) -> tuple[WatchReport, WatchReport]:
    first_claimed, second_done = threading.Event(), threading.Event()
    reports: dict[str, WatchReport] = {}

    def first() -> None:
        with db.transaction() as session:
            reports["first"] = sweep(session, now=now, limit=first_limit, queue=queue)
            first_claimed.set()
            assert second_done.wait(30)  # holds its rows locked while the other sweeps

    def second() -> None:
        assert first_claimed.wait(30)
        with db.transaction() as session:
            reports["second"] = sweep(session, now=now, queue=queue)
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return reports["first"], reports["second"]
