"""Ledger benchmark: concurrent consumptions and balance reads, SQLite against PostgreSQL.

    python bench/ledger_bench.py [--workers 8] [--seconds 10] [--entries 1000000]
                                 [--backends sqlite,postgresql]

One run, each backend on a throw-away database (SQLite: a temp file in WAL mode;
PostgreSQL: a fresh database created from the admin URL in
UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL, dropped at the end):

(a) ``--workers`` concurrent processes, each running transactions that post ONE
    consume posting of 1 credit (``ledger.post``) on the same order, first all on the
    SAME account (contention on one row), then each on its OWN account; committed
    consumptions, consumptions/s, p50/p99 latency per transaction, errors, then
    ``ledger.verify`` must return []. An extra phase times ``quick_balances`` from a
    reader process while the writers hammer the same account.
(b) one order whose ledger holds ``--entries`` entries (bulk-inserted, append-only:
    inserts only; the accounts' running balances and entry counts are set to match),
    then ``quick_balances`` (O(1) running balances, target under 5 ms) against
    ``balances`` (sums by kind) and ``verify`` (full re-derivation); verify must
    return [] on the big ledger.

Every phase is bounded in time; a final table compares the backends.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import platform
import sqlite3
import sys
import time
import traceback
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT / "tests"):  # tests/ for order_documents.order()
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import alembic
import sqlalchemy
from sqlalchemy import func, insert, select, text, update
from throwaway import Throwaway, admin_url, load, show

from unisupport.ledger.posting import AccountSpec, EntryKind, Posting
from unisupport.services import ledger
from unisupport.storage.base import SCALE
from unisupport.storage.database import Database, make_engine, migrate
from unisupport.storage.tables import LedgerAccountRow, LedgerEntryRow, OrderRow

GRANT = Decimal(10_000_000)  # credits granted to every benchmarked account: no refusal
ONE = Decimal(1)
DAY = date(2026, 3, 2)
IMPORTED = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
SAME_KEY = "line:credits-y1"  # a real credits account of tests/order_documents.order()
TARGET_QB_MS = 5.0
SLOW_CALLS, SLOW_BUDGET_S = 5, 60.0  # balances()/verify(): at most 5 calls or 60 s each


# --------------------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def ms(x: float) -> str:
    return "n/a" if math.isnan(x) else (f"{x * 1e3:.2f}" if x < 1 else f"{x * 1e3:,.0f}")


def filesystem_of(path: str) -> str:
    best, fstype = "", "?"
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                _dev, mnt, typ, *_ = line.split()
                if path.startswith(mnt) and len(mnt) > len(best):
                    best, fstype = mnt, typ
    except OSError:
        pass  # no /proc/mounts: the file system stays unnamed
    return f"{fstype} at {best or '?'}"


class Backend(Throwaway):
    """A throw-away, migrated database."""

    def __init__(self, name: str):
        super().__init__(name, prefix="unisupport-ledger-bench-")
        self.name = name
        self.db = Database(make_engine(self.url))
        migrate(self.db.engine)

    def describe(self) -> str:
        with self.db.engine.connect() as c:
            if self.name == "sqlite":
                jm = c.exec_driver_sql("PRAGMA journal_mode").scalar()
                sync = c.exec_driver_sql("PRAGMA synchronous").scalar()
                return (
                    f"SQLite {sqlite3.sqlite_version} | file {self.tmpdir}/unisupport.db "
                    f"({filesystem_of(self.tmpdir)}) | journal_mode={jm} synchronous={sync} (2=FULL, 1=NORMAL) | BEGIN "
                    "IMMEDIATE per transaction"
                )
            return (
                f"PostgreSQL {show(c, 'server_version')} | database {self.pg_name} | fsync={show(c, 'fsync')} "
                f"synchronous_commit={show(c, 'synchronous_commit')} shared_buffers={show(c, 'shared_buffers')} "
                f"work_mem={show(c, 'work_mem')} | SELECT … FOR UPDATE on the account row"
            )

    def close(self) -> None:
        self.db.engine.dispose()
        self.drop()


def import_bench_order(db: Database, number: str) -> tuple[int, int]:
    from order_documents import order

    from unisupport.services.orders import import_order

    with db.transaction() as s:
        result = import_order(s, order(number=number), actor="bench", now=IMPORTED)
    return result.customer_id, result.order_id


def snapshot(db: Database, customer_id: int, order_id: int) -> dict[str, tuple[Decimal, int]]:
    with db.transaction() as s:
        return {a.key: (a.balance, a.entries) for a in ledger.accounts(s, customer_id=customer_id, order_id=order_id)}


def verify(db: Database, customer_id: int, order_id: int) -> list:
    with db.transaction() as s:
        return ledger.verify(s, customer_id=customer_id, order_id=order_id)


# --------------------------------------------------------------------------- (a) workers
#
# Processes, not threads. The per-transaction work is mostly Python (the ORM unit of
# work, type processing, building the Posting/entry objects) and holds the GIL; with
# threads in one interpreter, 8 "concurrent" workers would largely queue on the GIL, so
# the SQLite figure would measure one CPython interpreter rather than the database's
# locking, and the PostgreSQL figure would understate what 8 server processes can
# absorb. Production runs several worker processes (API workers, CLI commands, jobs),
# each with its own engine, which is what multiprocessing reproduces. "spawn" gives
# every worker a clean interpreter and its own engine/connection (no sockets or SQLite
# handles inherited through fork).


def worker(
    mode: str, url: str, customer_id: int, order_id: int, key: str, tag: str, seconds: float, barrier, results
) -> None:
    out = {"tag": tag, "mode": mode, "committed": 0, "errors": 0, "samples": [], "lat": [], "t0": 0.0, "t1": 0.0}
    try:
        db = Database(make_engine(url))
        with db.transaction() as s:  # warm up: connection, mapper configuration, statement cache
            ledger.quick_balances(s, customer_id=customer_id, order_id=order_id)
            s.get(OrderRow, order_id)
    except Exception:  # noqa: BLE001
        out["errors"] += 1
        out["samples"].append(traceback.format_exc(limit=3))
        barrier.wait()
        results.put(out)
        return
    barrier.wait()
    start = time.monotonic()
    deadline = start + seconds
    out["t0"] = start
    n = 0
    lat = out["lat"]
    while time.monotonic() < deadline:
        t = time.perf_counter()
        try:
            # Readers use a read-only transaction: on SQLite it never queues behind writers.
            with db.transaction() if mode == "consume" else db.reading() as s:
                if mode == "consume":
                    order = s.get(OrderRow, order_id)
                    ledger.post(
                        s,
                        order,
                        [
                            Posting(
                                key,
                                EntryKind.CONSUME,
                                -ONE,
                                f"bench consumption {tag}:{n}",
                                "R-CRED-1",
                                DAY,
                                f"bench:{tag}:{n}",
                            )
                        ],
                        actor="bench",
                        at=datetime.now(UTC),
                        correlation=f"bench:{tag}:{n}",
                    )
                else:
                    ledger.quick_balances(s, customer_id=customer_id, order_id=order_id)
            lat.append(time.perf_counter() - t)
            out["committed"] += 1
        except Exception:  # noqa: BLE001
            out["errors"] += 1
            if len(out["samples"]) < 3:
                out["samples"].append(traceback.format_exc(limit=3))
        n += 1
    out["t1"] = time.monotonic()
    db.engine.dispose()
    results.put(out)


def run_workers(
    be: Backend, customer_id: int, order_id: int, specs: list[tuple[str, str, str]], seconds: float
) -> list[dict]:
    """specs: (mode, account key, tag) per process. Returns each process's result."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(specs) + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker, args=(mode, be.url, customer_id, order_id, key, tag, seconds, barrier, results), daemon=True
        )
        for mode, key, tag in specs
    ]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
    except Exception:  # noqa: BLE001
        print("  ! workers did not all start within 120 s")
    out = []
    for _ in procs:
        try:
            out.append(results.get(timeout=seconds + 180))
        except Exception:  # noqa: BLE001
            print("  ! a worker did not report within its time bound")
            break
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.terminate()
    return out


def consume_phase(be: Backend, label: str, customer_id: int, order_id: int, keys: list[str], seconds: float) -> dict:
    before = snapshot(be.db, customer_id, order_id)
    tag = uuid.uuid4().hex[:6]
    res = run_workers(be, customer_id, order_id, [("consume", k, f"{tag}w{i}") for i, k in enumerate(keys)], seconds)
    after = snapshot(be.db, customer_id, order_id)
    committed = sum(r["committed"] for r in res)
    errors = sum(r["errors"] for r in res) + (len(keys) - len(res))
    lat = [x for r in res for x in r["lat"]]
    wall = (max(r["t1"] for r in res) - min(r["t0"] for r in res)) if res else float("nan")
    # Cross-check against the database: every committed consumption is one entry and -1.
    by_key: dict[str, int] = {}
    for r in res:  # a worker's tag ends with its index in keys (one may not have reported)
        k = keys[int(r["tag"].rsplit("w", 1)[1])]
        by_key[k] = by_key.get(k, 0) + r["committed"]
    db_ok = all(after[k][1] - before[k][1] == c and before[k][0] - after[k][0] == c for k, c in by_key.items())
    row = {
        "label": label,
        "committed": committed,
        "wall": wall,
        "rate": committed / wall if wall else float("nan"),
        "p50": pct(lat, 0.50),
        "p99": pct(lat, 0.99),
        "max": max(lat) if lat else float("nan"),
        "errors": errors,
        "db_ok": db_ok,
        "per_worker": [r["committed"] for r in res],
        "samples": [s for r in res for s in r["samples"]][:3],
    }
    print(
        f"  {label}: {committed:,} committed in {wall:.2f} s = {row['rate']:,.0f} consumptions/s | "
        f"latency p50 {ms(row['p50'])} ms, p99 {ms(row['p99'])} ms, max {ms(row['max'])} ms | errors {errors} | "
        f"per worker {row['per_worker']} | db counts/balances match: {db_ok}"
    )
    for s in row["samples"]:
        print("    error sample:", s.strip().splitlines()[-1])
    return row


def read_under_load(be: Backend, customer_id: int, order_id: int, workers: int, seconds: float) -> dict:
    tag = uuid.uuid4().hex[:6]
    specs = [("consume", SAME_KEY, f"{tag}w{i}") for i in range(workers)] + [("read", SAME_KEY, f"{tag}r")]
    res = run_workers(be, customer_id, order_id, specs, seconds)
    reader = next((r for r in res if r["mode"] == "read"), None)
    writes = sum(r["committed"] for r in res if r["mode"] == "consume")
    lat = reader["lat"] if reader else []
    row = {
        "reads": len(lat),
        "p50": pct(lat, 0.5),
        "p99": pct(lat, 0.99),
        "max": max(lat) if lat else float("nan"),
        "errors": sum(r["errors"] for r in res),
        "writes": writes,
    }
    print(
        f"  quick_balances from a reader while {workers} writers consume on {SAME_KEY} ({seconds:.0f} s): "
        f"{row['reads']:,} reads, p50 {ms(row['p50'])} ms, p99 {ms(row['p99'])} ms, max {ms(row['max'])} ms "
        f"| {writes:,} writes meanwhile | errors {row['errors']}"
    )
    return row


def phase_a(be: Backend, args) -> dict:
    customer_id, order_id = import_bench_order(be.db, "ESO-BENCH-A")
    own = [f"line:bench-w{i}" for i in range(args.workers)]
    with be.db.transaction() as s:
        row = s.get(OrderRow, order_id)
        ledger.open_accounts(
            s,
            row,
            [AccountSpec(k, "credits", f"Bench credits {k}", service="proactive-credits") for k in own],
            site_ids={},
            line_ids={},
        )
        ledger.post(
            s,
            row,
            [
                Posting(k, EntryKind.GRANT, GRANT, "bench grant", "R-ORD-1", DAY, f"bench:grant:{k}")
                for k in [SAME_KEY, *own]
            ],
            actor="bench",
            at=IMPORTED,
        )
    print(
        f"  order ESO-BENCH-A (id {order_id}); {GRANT:,} credits granted to {SAME_KEY} and to {len(own)} own accounts"
    )
    same = consume_phase(
        be,
        f"same account ({args.workers} workers -> {SAME_KEY})",
        customer_id,
        order_id,
        [SAME_KEY] * args.workers,
        args.seconds,
    )
    mine = consume_phase(
        be, f"own accounts ({args.workers} workers, one account each)", customer_id, order_id, own, args.seconds
    )
    reads = read_under_load(be, customer_id, order_id, args.workers, max(2.0, args.seconds / 2))
    problems = verify(be.db, customer_id, order_id)
    print(f"  ledger.verify after (a): {problems!r}")
    return {"same": same, "own": mine, "reads": reads, "verify": problems}


# --------------------------------------------------------------------------- (b) 1M entries

PATTERN = (
    (EntryKind.GRANT, 3),
    (EntryKind.CONSUME, -2),
    (EntryKind.REFUND, 1),
    (EntryKind.FORFEIT, -1),
)  # net +1 per cycle


def bulk_rows(accounts: list[LedgerAccountRow], n: int, customer_id: int, order_id: int):
    """``n`` entries spread round-robin over the order's accounts, kinds cycling through
    PATTERN (so balances never go negative and ``balances`` has several sums per
    account). Yields (account_id, unit, kind, amount_int, balance_after_int, i) with
    amounts already scaled to ten-thousandths; also fills ``totals``."""
    running = {a.id: int(a.balance * SCALE) for a in accounts}
    counter = {a.id: 0 for a in accounts}
    k = len(accounts)
    for i in range(n):
        a = accounts[i % k]
        kind, amount = PATTERN[counter[a.id] % 4]
        counter[a.id] += 1
        running[a.id] += amount * SCALE
        yield a.id, a.unit, kind.value, amount * SCALE, running[a.id], i
    bulk_rows.totals = {aid: (running[aid], counter[aid]) for aid in running}  # type: ignore[attr-defined]


def bulk_insert(be: Backend, customer_id: int, order_id: int, n: int, batch: int) -> float:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    with be.db.transaction() as s:
        accounts = ledger.accounts(s, customer_id=customer_id, order_id=order_id)
        rows = bulk_rows(accounts, n, customer_id, order_id)
        if be.name == "postgresql":
            # COPY on the session's own connection, inside the same transaction as the
            # running-balance update below.
            raw = s.connection().connection.dbapi_connection
            cols = (
                "customer_id, order_id, account_id, kind, amount, unit, balance_after, reason, rule, actor, at, "
                "effective_on, correlation, idempotency_key, booking_id"
            )
            with raw.cursor() as cur, cur.copy(f"COPY ledger_entries ({cols}) FROM STDIN") as copy:
                for aid, unit, kind, amount, after, i in rows:
                    copy.write_row(
                        (
                            customer_id,
                            order_id,
                            aid,
                            kind,
                            amount,
                            unit,
                            after,
                            "bench bulk entry",
                            None,
                            "bench",
                            at,
                            DAY,
                            f"bulk:{i // batch}",
                            None,
                            None,
                        )
                    )
        else:
            table = LedgerEntryRow.__table__
            stmt = insert(table)
            buf: list[dict] = []
            for aid, unit, kind, amount, after, i in rows:
                buf.append(
                    {
                        "customer_id": customer_id,
                        "order_id": order_id,
                        "account_id": aid,
                        "kind": kind,
                        "amount": Decimal(amount) / SCALE,
                        "unit": unit,
                        "balance_after": Decimal(after) / SCALE,
                        "reason": "bench bulk entry",
                        "rule": None,
                        "actor": "bench",
                        "at": at,
                        "effective_on": DAY,
                        "correlation": f"bulk:{i // batch}",
                        "idempotency_key": None,
                        "booking_id": None,
                    }
                )
                if len(buf) >= batch:
                    s.execute(stmt, buf)
                    buf = []
            if buf:
                s.execute(stmt, buf)
        for a in accounts:  # keep the running balances consistent with the entries
            balance, count = bulk_rows.totals[a.id]  # type: ignore[attr-defined]
            s.execute(
                update(LedgerAccountRow)
                .where(LedgerAccountRow.id == a.id)
                .values(balance=Decimal(balance) / SCALE, entries=a.entries + count)
            )
    return time.perf_counter() - t0


def time_calls(fn, calls: int, budget: float) -> list[float]:
    out: list[float] = []
    t_end = time.perf_counter() + budget
    while len(out) < calls and (not out or time.perf_counter() < t_end):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def quick_balances_timing(be: Backend, customer_id: int, order_id: int, calls: int) -> dict:
    for _ in range(10):  # warm up the pool and the statement cache
        with be.db.reading() as s:
            ledger.quick_balances(s, customer_id=customer_id, order_id=order_id)
    full, query = [], []
    for _ in range(calls):
        t = time.perf_counter()
        with be.db.reading() as s:
            q = time.perf_counter()
            ledger.quick_balances(s, customer_id=customer_id, order_id=order_id)
            query.append(time.perf_counter() - q)
        full.append(time.perf_counter() - t)
    return {"p50": pct(full, 0.5), "p99": pct(full, 0.99), "q50": pct(query, 0.5), "q99": pct(query, 0.99), "n": calls}


def plans(be: Backend, customer_id: int, order_id: int) -> None:
    qb = select(LedgerAccountRow.key, LedgerAccountRow.balance).where(
        LedgerAccountRow.customer_id == customer_id, LedgerAccountRow.order_id == order_id
    )
    agg = (
        select(LedgerEntryRow.account_id, LedgerEntryRow.kind, func.sum(LedgerEntryRow.amount))
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .group_by(LedgerEntryRow.account_id, LedgerEntryRow.kind)
    )
    ver = (
        select(LedgerEntryRow.account_id, func.sum(LedgerEntryRow.amount), func.count())
        .where(LedgerEntryRow.customer_id == customer_id, LedgerEntryRow.order_id == order_id)
        .group_by(LedgerEntryRow.account_id)
    )
    for name, stmt in (("quick_balances", qb), ("balances (sums by kind)", agg), ("verify (sums by account)", ver)):
        sql = str(stmt.compile(dialect=be.db.engine.dialect, compile_kwargs={"literal_binds": True})).replace("\n", " ")
        with be.db.engine.connect() as c:
            if be.name == "sqlite":
                lines = [r[-1] for r in c.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            else:
                lines = [r[0] for r in c.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")]
        print(f"  plan of {name}:")
        for line in lines:
            print(f"      {line}")


def phase_b(be: Backend, args) -> dict:
    customer_id, order_id = import_bench_order(be.db, "ESO-BENCH-1M")
    existing = sum(e for _b, e in snapshot(be.db, customer_id, order_id).values())
    n = max(0, args.entries - existing)
    how = "COPY" if be.name == "postgresql" else f"Core insert executemany, batches of {args.batch:,}"
    print(
        f"  order ESO-BENCH-1M (id {order_id}): {existing} activation entries + {n:,} bulk entries ({how}, one "
        "transaction) ...",
        flush=True,
    )
    took = bulk_insert(be, customer_id, order_id, n, args.batch)
    with be.db.engine.connect() as c:
        total = c.execute(
            select(func.count()).select_from(LedgerEntryRow).where(LedgerEntryRow.order_id == order_id)
        ).scalar()
    print(
        f"  inserted {n:,} entries in {took:.1f} s ({n / took:,.0f} rows/s); the order's ledger now holds {total:,} "
        "entries"
    )

    before = quick_balances_timing(be, customer_id, order_id, args.qb_calls)
    print(
        f"  quick_balances before ANALYZE ({before['n']} calls, each its own transaction): p50 {ms(before['p50'])} ms, "
        f"p99 {ms(before['p99'])} ms (query alone p50 {ms(before['q50'])}, p99 {ms(before['q99'])} ms)"
    )
    t = time.perf_counter()
    if be.name == "postgresql":  # VACUUM cannot run inside a transaction
        with be.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:  # on a pooled connection's own BEGIN IMMEDIATE, leaving its settings untouched
        with be.db.transaction() as s:
            s.execute(text("ANALYZE"))
    print(
        f"  {'VACUUM ANALYZE' if be.name == 'postgresql' else 'ANALYZE'} took {time.perf_counter() - t:.1f} s "
        "(autovacuum/autoanalyze would do this in production on PostgreSQL; nothing does it on SQLite)"
    )
    qb = quick_balances_timing(be, customer_id, order_id, args.qb_calls)
    print(
        f"  quick_balances ({qb['n']} calls, each its own transaction): p50 {ms(qb['p50'])} ms, p99 {ms(qb['p99'])} ms "
        f"(query alone p50 {ms(qb['q50'])}, p99 {ms(qb['q99'])} ms) -> target < {TARGET_QB_MS:g} ms"
    )

    def one(fn):
        def call() -> None:
            with be.db.reading() as s:
                fn(s, customer_id=customer_id, order_id=order_id)

        return call

    bal = time_calls(one(ledger.balances), SLOW_CALLS, SLOW_BUDGET_S)
    print(f"  balances ({len(bal)} calls): p50 {ms(pct(bal, 0.5))} ms, min {ms(min(bal))} ms, max {ms(max(bal))} ms")
    ver = time_calls(one(ledger.verify), SLOW_CALLS, SLOW_BUDGET_S)
    print(f"  verify ({len(ver)} calls): p50 {ms(pct(ver, 0.5))} ms, min {ms(min(ver))} ms, max {ms(max(ver))} ms")
    problems = verify(be.db, customer_id, order_id)
    print(f"  ledger.verify on the {total:,}-entry ledger: {problems!r}")
    plans(be, customer_id, order_id)
    return {
        "inserted": n,
        "total": total,
        "insert_s": took,
        "qb_before": before,
        "qb": qb,
        "balances": pct(bal, 0.5),
        "balances_n": len(bal),
        "verify_s": pct(ver, 0.5),
        "verify_n": len(ver),
        "verify": problems,
    }


# --------------------------------------------------------------------------- main


def table(results: dict[str, dict], args) -> None:
    def cell(backend: str, fn) -> str:
        r = results.get(backend)
        if r is None:
            return "skipped"
        if "error" in r:
            return "FAILED"
        try:
            return fn(r)
        except Exception:  # noqa: BLE001
            return "n/a"

    def verdict(check) -> str:
        out = []
        for b in ("sqlite", "postgresql"):
            r = results.get(b)
            if r is None or "error" in r:
                continue
            try:
                out.append(f"{'SQLite' if b == 'sqlite' else 'PG'} {'PASS' if check(r) else 'FAIL'}")
            except Exception:  # noqa: BLE001
                out.append(f"{b} n/a")
        return ", ".join(out) or "-"

    def rate(v: str):
        return lambda r: f"{r['a'][v]['rate']:,.0f}/s"

    def lat(v: str):
        return lambda r: f"{ms(r['a'][v]['p50'])} / {ms(r['a'][v]['p99'])} ms"

    w = args.workers
    rows = [
        (f"(a) same account, {w} workers: committed", lambda r: f"{r['a']['same']['committed']:,}", "-", None),
        ("(a) same account: consumptions/s", rate("same"), "-", None),
        ("(a) same account: p50 / p99 per tx", lat("same"), "-", None),
        (
            "(a) same account: errors",
            lambda r: str(r["a"]["same"]["errors"]),
            "0",
            lambda r: r["a"]["same"]["errors"] == 0 and r["a"]["same"]["db_ok"],
        ),
        (f"(a) own accounts, {w} workers: committed", lambda r: f"{r['a']['own']['committed']:,}", "-", None),
        ("(a) own accounts: consumptions/s", rate("own"), "-", None),
        ("(a) own accounts: p50 / p99 per tx", lat("own"), "-", None),
        (
            "(a) own accounts: errors",
            lambda r: str(r["a"]["own"]["errors"]),
            "0",
            lambda r: r["a"]["own"]["errors"] == 0 and r["a"]["own"]["db_ok"],
        ),
        ("(a) verify() after the runs", lambda r: repr(r["a"]["verify"]), "[]", lambda r: r["a"]["verify"] == []),
        (
            f"(a+) quick_balances under {w} writers p50/p99",
            lambda r: f"{ms(r['a']['reads']['p50'])} / {ms(r['a']['reads']['p99'])} ms",
            f"< {TARGET_QB_MS:g} ms (info)",
            lambda r: r["a"]["reads"]["p99"] * 1e3 < TARGET_QB_MS,
        ),
        (
            "(b) bulk insert of the entries",
            lambda r: f"{r['b']['inserted']:,} in {r['b']['insert_s']:.1f} s",
            "-",
            None,
        ),
        (
            "(b) quick_balances p50 / p99 (per tx)",
            lambda r: f"{ms(r['b']['qb']['p50'])} / {ms(r['b']['qb']['p99'])} ms",
            f"< {TARGET_QB_MS:g} ms",
            lambda r: r["b"]["qb"]["p99"] * 1e3 < TARGET_QB_MS,
        ),
        (
            "(b) quick_balances query alone p50/p99",
            lambda r: f"{ms(r['b']['qb']['q50'])} / {ms(r['b']['qb']['q99'])} ms",
            "-",
            None,
        ),
        (
            "(b) balances() p50",
            lambda r: f"{ms(r['b']['balances'])} ms (n={r['b']['balances_n']})",
            "- (slow expected)",
            None,
        ),
        (
            "(b) verify() p50",
            lambda r: f"{ms(r['b']['verify_s'])} ms (n={r['b']['verify_n']})",
            "- (slow expected)",
            None,
        ),
        (
            "(b) verify() on the big ledger",
            lambda r: f"{r['b']['verify']!r} ({r['b']['total']:,} entries)",
            "[]",
            lambda r: r["b"]["verify"] == [],
        ),
    ]
    data = [(m, cell("sqlite", f), cell("postgresql", f), t, verdict(v) if v else "-") for m, f, t, v in rows]
    head = ("metric", "SQLite", "PostgreSQL", "target", "verdict")
    widths = [max(len(head[i]), *(len(d[i]) for d in data)) for i in range(5)]
    print()
    print(" | ".join(head[i].ljust(widths[i]) for i in range(5)))
    print("-+-".join("-" * x for x in widths))
    for d in data:
        print(" | ".join(d[i].ljust(widths[i]) for i in range(5)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each consumption phase")
    ap.add_argument("--entries", type=int, default=1_000_000, help="entries in the big order's ledger")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--batch", type=int, default=20_000, help="executemany batch size (SQLite)")
    ap.add_argument("--qb-calls", type=int, default=200, help="quick_balances calls timed")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    print(f"command: {sys.executable} {' '.join(sys.argv)}")
    import psycopg

    print(
        f"python {platform.python_version()} | SQLAlchemy {sqlalchemy.__version__} | alembic {alembic.__version__} | "
        f"psycopg {psycopg.__version__} | sqlite3 library {sqlite3.sqlite_version} | {platform.machine()} | "
        f"{os.cpu_count()} CPUs | workers are processes (spawn)"
    )
    results: dict[str, dict] = {}
    for name in backends:
        if name == "postgresql" and not admin_url():
            print(
                "\n== postgresql: SKIPPED (set UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL; "
                ".ci/start-postgres.sh prints one)"
            )
            continue
        if name not in ("sqlite", "postgresql"):
            print(f"\n== {name}: unknown backend, skipped")
            continue
        print(f"\n== {name}")
        be = None
        try:
            be = Backend(name)
            print(f"  {be.describe()}")
            print(f"  before (a): {load()}")
            t = time.perf_counter()
            a = phase_a(be, args)
            print(f"  (a) took {time.perf_counter() - t:.0f} s | {load()}", flush=True)
            t = time.perf_counter()
            b = phase_b(be, args)
            print(f"  (b) took {time.perf_counter() - t:.0f} s | {load()}", flush=True)
            results[name] = {"a": a, "b": b}
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            results[name] = {"error": repr(exc)}
        finally:
            if be is not None:
                be.close()
                print(f"  dropped {'database ' + be.pg_name if be.pg_name else 'temp dir ' + str(be.tmpdir)}")
    table(results, args)


if __name__ == "__main__":
    main()
