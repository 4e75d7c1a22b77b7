"""SQL statements and in-process time per API request: POST /api/v1/incidents and
GET /api/v1/incidents/{id}, in this process (FastAPI's TestClient, no network).

    python bench/api_statements.py [--backends sqlite,postgresql] [-n 50] [--show] [--service 400]

For each backend, a throw-away database prepared like bench/api_bench.py's (the two
example orders, the teams, a user and a token per role); then ``-n`` creations and
``-n`` reads by marie.dupont@contoso.example, counting the statements each sends
(SQLAlchemy's ``before_cursor_execute``: SQLite's BEGIN is counted, COMMIT and
ROLLBACK, which are driver calls, are not) and timing them. ``--show`` prints the
statements of one creation. ``--service N``: N creations without HTTP (the token's
check then ``open_and_view`` in ``Database.transaction()``, one thread), this
process's CPU per creation and, on PostgreSQL, that of the database backend serving
them (its ``/proc`` counters: the server must run on this machine). PostgreSQL needs UNISUPPORT_BENCH_POSTGRES_URL (or
UNISUPPORT_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event

from api_bench import CONTACT, TempDatabase, prepare
from throwaway import admin_url

ROOT = Path(__file__).resolve().parents[1]


def body(i: int) -> dict:
    return {
        "site": "paris",
        "contact": CONTACT,
        "product": "exchange-online",
        "severity": "B",
        "title": f"Mail flow stopped (statements {i})",
        "business_impact": "Order confirmations are not sent",
        "channel": "portal",
    }


def measure(backend: str, n: int, show: bool, profile: int = 0) -> None:
    from fastapi.testclient import TestClient

    from unisupport.api.app import create_app
    from unisupport.storage.database import Database, make_engine

    db = TempDatabase(backend)
    try:
        token = prepare(db.url)
        database = Database(make_engine(db.url))
        statements: list[str] = []

        @event.listens_for(database.engine, "before_cursor_execute")
        def _count(_conn, _cursor, statement, _params, _context, _many):  # noqa: ANN001
            statements.append(statement)

        # Entered, the client keeps one event loop and its worker threads, as a server
        # does (site calendars are cached per thread).
        with TestClient(create_app(database), headers={"Authorization": f"Bearer {token}"}) as client:
            client.post("/api/v1/incidents", json=body(-1)).raise_for_status()  # warm-up: caches, pool

            def run(method: str, path_of, n: int) -> tuple[list[int], list[float], list[int]]:
                counts, times, ids = [], [], []
                for i in range(n):
                    statements.clear()
                    start = time.perf_counter()
                    r = client.post("/api/v1/incidents", json=body(i)) if method == "POST" else client.get(path_of(i))
                    times.append((time.perf_counter() - start) * 1000)
                    r.raise_for_status()
                    counts.append(len(statements))
                    ids.append(r.json()["id"])
                return counts, times, ids

            cpu0 = time.process_time()
            counts, times, ids = run("POST", None, n)
            cpu = (time.process_time() - cpu0) / n * 1000
            if profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                run("POST", None, profile)
                profiler.disable()
                print(f"--- where the CPU of {profile} creations goes ({backend}, cProfile, process time) ---")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
            if show:
                statements.clear()
                client.post("/api/v1/incidents", json=body(10**6)).raise_for_status()
                print(f"--- the statements of one creation ({backend}) ---")
                for s in statements:
                    print("  " + " ".join(s.split())[:160])
            g_counts, g_times, _ = run("GET", lambda i: f"/api/v1/incidents/{ids[i % len(ids)]}", n)
            print(
                f"{backend}: POST /api/v1/incidents: {statistics.median(counts):.0f} statements (min {min(counts)}, "
                f"max {max(counts)}), median {statistics.median(times):.1f} ms in-process, {cpu:.2f} ms CPU each (this "
                "process: the TestClient, the app and the driver)"
            )
            print(
                f"{backend}: GET /api/v1/incidents/{{id}}: {statistics.median(g_counts):.0f} statements, "
                f"median {statistics.median(g_times):.1f} ms in-process"
            )
        database.engine.dispose()
    finally:
        db.drop()


def measure_service(backend: str, n: int) -> None:
    """The creation's CPU without HTTP, in this process and (PostgreSQL) in the backend."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from unisupport.incidents.requests import IncidentIn
    from unisupport.services.incidents.opening import open_and_view
    from unisupport.services.users import authenticate_token
    from unisupport.storage.database import Database, make_engine

    db = TempDatabase(backend)
    try:
        token = prepare(db.url)
        database = Database(make_engine(db.url))

        def one(i: int) -> int | None:
            data = IncidentIn.model_validate(body(i))
            with database.transaction() as session:
                use = authenticate_token(session, token)
                assert use is not None
                open_and_view(session, use.principal, data, now=datetime.now(UTC))
                if backend == "postgresql":
                    return session.execute(text("SELECT pg_backend_pid()")).scalar()
            return None

        for i in range(50):  # warm-up: caches, prepared statements
            pid = one(-1 - i)
        backend_cpu = (lambda: _cpu_of(pid)) if pid else (lambda: 0.0)
        cpu0, server0 = time.process_time(), backend_cpu()
        for i in range(n):
            assert one(i) == pid  # one connection, reused: its backend did all the work
        mine, theirs = (time.process_time() - cpu0) / n * 1000, (backend_cpu() - server0) / n * 1000
        extra = f", PostgreSQL backend {theirs:.2f} ms" if pid else ""
        print(f"{backend}: the service alone, {n} creations: {mine:.2f} ms CPU each in this process{extra}")
        database.engine.dispose()
    finally:
        db.drop()


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--show", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N more creations (cProfile)")
    parser.add_argument("--service", type=int, default=0, metavar="N", help="N creations without HTTP (see above)")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "postgresql" and not admin_url():
            print("postgresql: skipped (no UNISUPPORT_BENCH_POSTGRES_URL)", file=sys.stderr)
            continue
        if args.service:
            measure_service(backend, args.service)
        else:
            measure(backend, args.n, args.show, args.profile)


if __name__ == "__main__":
    main()
