"""SLA watcher benchmark: 1,000,000 open incidents, 10,000 of them breaching now.

    python bench/watcher_bench.py [--n 1000000] [--breaches 10000] [--runs 200]
                                  [--sqlite-n 100000] [--sqlite-breaches 1000]
                                  [--diagnose auto|always|never] [--update-breaches 10000]

PostgreSQL (the target): a throw-away database created from the admin URL in
UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL, migrated, dropped at
the end. SQLite (optional, smaller N, no target: clearly labelled) on a temp file.

Setup, through the services: the example order contoso-multicountry.yaml
(``services.orders.import_order``), the six routing teams with three engineers each,
two incident managers, and marie.dupont@contoso.example as a customer user (so the
notification language comes from her user, as in production). Four real incidents
(Sev 1, A, B, C on site paris) are opened with ``services.incidents.open_incident``:
their routing, plan, target and coverage are the templates of the bulk rows.

Bulk load (PostgreSQL: COPY; SQLite: executemany INSERT through SQLAlchemy Core) of
``--n`` open incidents for that customer/order/site/contact: severities 3 % Sev 1,
12 % A, 45 % B, 40 % C; ``first_response_due`` uniform over the next 30 days,
``first_response_warn_at`` a quarter of the target before it (rows whose warning
instant has passed were warned by an earlier sweep: ``warned_at`` set); 40 % of the
not-yet-due rows already had their first response and 10 % of those are mitigated;
``--breaches`` rows, at random places in the table, were due 1 s to 2 h ago and have
no first response: they breach now. Routing is the template's; the explanation a
small constant dict. Each incident also gets its automatic acknowledgement
communication (INSERT … SELECT). Then VACUUM ANALYZE (autovacuum's job in production).

Measured:
(i)  the due-soon queries, p50/p99 over ``--runs`` runs (client-side, rows fetched):
     the dashboard's ``status != 'closed' AND first_response_at IS NULL AND
     first_response_due <= now + 15 min ORDER BY first_response_due LIMIT 1000``, the
     same for (now, now + 15 min] only, and the watcher's own breach and warning
     queries (the expressions of services/watcher.py ``sweep``); EXPLAIN (ANALYZE,
     BUFFERS) of each shows which index is used;
     On PostgreSQL each query is also PREPAREd and EXPLAINed after 10 executions:
     psycopg prepares a statement on its 5th execution on a connection, and the
     server may then switch to a generic plan;
(ii) one ``sweep(session, now=…, queue=incident_notifications.queue)`` in one
     transaction, committed: time, breaches marked, outbox rows queued; then a second
     sweep at the same instant (finds nothing), and 10 more in a row, as a
     long-lived watcher runs them.
(iii) with ``--update-breaches N`` (default 10,000; 0 skips it): N update targets
     ("next update due", R-INC-2) of incidents that had their first response, due
     in the past, then one sweep, committed: time, targets breached, outbox rows (the
     team and the incident managers of each). On PostgreSQL on this machine, the
     server backend's CPU seconds during each timed sweep are shown too
     (``/proc/<pid>/stat``): steadier than wall time on a shared machine.
With ``--experiments``, on PostgreSQL (throw-away database; the schema is put
back): the queries and the 10 sweeps (a) without server-side prepared statements
(psycopg prepare_threshold=None), (b) with candidate partial indexes, (c) with both.
When the first sweep exceeds 2 s (``--diagnose auto``), the state is put back and,
in rolled-back transactions: sweep without queue and the queue function timed apart,
every SQL statement counted and timed (the COPYs of ``storage.bulk`` are not
statements: they show in the profile), and cProfile's top 15.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import random
import re
import signal
import sqlite3
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import sqlalchemy
from sqlalchemy import create_engine, event, func, insert, select, text
from throwaway import Throwaway, admin_url, git_revision, load, show, verdict

from unisupport.access import Role
from unisupport.incidents.requests import IncidentIn
from unisupport.incidents.routing import TEAMS
from unisupport.orders.validation import read_order_document
from unisupport.services import incident_notifications
from unisupport.services import incidents as svc
from unisupport.services.orders import import_order
from unisupport.services.users import create_team, create_user, principal_for_user, user_by_email
from unisupport.services.watcher import sweep
from unisupport.storage.database import Database, make_engine, migrate
from unisupport.storage.tables import (
    IncidentEventRow,
    IncidentRow,
    OrderRow,
    OutboxRow,
)
from unisupport.storage.tables.incidents import AWAITING

EXAMPLE = ROOT / "examples" / "orders" / "contoso-multicountry.yaml"
CONTACT = "marie.dupont@contoso.example"
SETUP_AT = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_QUERY_MS = 20.0
TARGET_SWEEP_S = 2.0
SEVERITY_MIX = (("1", 0.03), ("A", 0.12), ("B", 0.45), ("C", 0.40))
ENGINEERS_PER_TEAM = 3
INCIDENT_MANAGERS = 2
COLUMNS = (
    "customer_id",
    "order_id",
    "site_id",
    "contact_id",
    "opened_by",
    "channel",
    "product",
    "title",
    "business_impact",
    "description",
    "tenant",
    "severity",
    "highest_severity",
    "production_impact",
    "language",
    "status",
    "team",
    "routing",
    "explanation",
    "plan",
    "target_minutes",
    "coverage",
    "opened_at",
    "target_started_at",
    "first_response_due",
    "first_response_warn_at",
    "first_response_at",
    "warned_at",
    "breached_at",
    "escalated_at",
    "critical_resource_due",
    "critical_resource_at",
    "mitigated_at",
    "closed_at",
    "version",
    "created_at",
    "updated_at",
    "reply_token",
)


# --------------------------------------------------------------------------- helpers
_BASE32 = str.maketrans("0189", "wxyz")  # hex digits into the reply token's alphabet (a-z, 2-7)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x >= 1 else f"{x * 1e3:.0f} ms"


class TempDatabase(Throwaway):
    """A throw-away database, migrated, with its ``Database``."""

    def __init__(self, backend: str):
        super().__init__(backend, prefix="unisupport-watcher-bench-")
        self.db = Database(make_engine(self.url))
        migrate(self.db.engine)

    def describe(self) -> str:
        with self.db.engine.connect() as c:
            if self.backend == "sqlite":
                return (
                    f"SQLite {sqlite3.sqlite_version}, file {self.tmpdir}/unisupport.db, "
                    f"journal_mode={c.exec_driver_sql('PRAGMA journal_mode').scalar()}"
                )
            return (
                f"PostgreSQL {show(c, 'server_version')}, database {self.pg_name}, fsync={show(c, 'fsync')} "
                f"synchronous_commit={show(c, 'synchronous_commit')} shared_buffers={show(c, 'shared_buffers')} "
                f"work_mem={show(c, 'work_mem')} random_page_cost={show(c, 'random_page_cost')}"
            )

    def drop(self) -> None:
        self.db.engine.dispose()
        super().drop()


class StatementLog:
    """Every SQL statement of an engine while active: count and time per shape, and
    whether a shape's time grows along the run (first vs last 1,000 calls)."""

    def __init__(self, engine: sqlalchemy.Engine):
        self.engine = engine
        self.times: dict[str, list[float]] = defaultdict(list)
        self.last: tuple[str, Any] | None = None

    @staticmethod
    def shape(statement: str) -> str:
        s = re.sub(r"\s+", " ", statement)
        s = re.sub(r"\((?:\s*(?:%\([^)]*\)s(?:::[A-Z]+)?|\?|\$\d+)\s*,?)+\)", "(…)", s)  # IN (…), VALUES (…)
        s = re.sub(r"(?:, \(…\))+", ", (…)…", s)
        return s[:130] + ("…" if len(s) > 130 else "")

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()
        self.last = (statement, parameters)

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.times[self.shape(statement)].append(time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter()))

    def __enter__(self) -> Self:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def print(self, title: str, top: int = 10) -> None:
        total_n = sum(len(v) for v in self.times.values())
        total_s = sum(sum(v) for v in self.times.values())
        print(f"{title}: {total_n:,} statements, {total_s:.2f} s inside the driver (execute, round trip included)")
        for shape, ts in sorted(self.times.items(), key=lambda kv: -sum(kv[1]))[:top]:
            print(f"  {len(ts):>7,} x {sum(ts) * 1e3:>9,.0f} ms {sum(ts) / len(ts) * 1e6:>7,.0f} us each  {shape}")
            if len(ts) >= 4000:  # along the run: mean per tenth of the calls, and the slowest call
                k = len(ts) // 10
                tenths = " ".join(f"{sum(ts[i * k : (i + 1) * k]) / k * 1e6:,.0f}" for i in range(10))
                print(
                    f"            mean us per tenth of the calls, in order: {tenths}; slowest {max(ts) * 1e3:,.1f} ms"
                )


# --------------------------------------------------------------------------- world


@dataclass
class Template:
    severity: str
    team: str
    routing: dict
    explanation: dict
    plan: str
    target_minutes: int
    coverage: str
    escalated: bool


@dataclass
class World:
    customer_id: int
    order_id: int
    site_id: int
    contact_id: int
    templates: dict[str, Template]
    real_incidents: list[int]


def build_world(db: Database, now: datetime) -> World:
    with db.transaction() as s:
        import_order(s, read_order_document(EXAMPLE), actor="setup", now=SETUP_AT)
        for code, (en, _fr) in TEAMS.items():
            create_team(s, code=code, name=en, actor="setup", now=SETUP_AT)
    with db.transaction() as s:
        for code in TEAMS:
            for k in range(ENGINEERS_PER_TEAM):
                create_user(
                    s,
                    email=f"eng{k}.{code}@provider.example",
                    name=f"Engineer {k} {code}",
                    role=Role.ENGINEER,
                    language="fr" if k == 0 else "en",
                    teams=[code],
                    actor="setup",
                    now=SETUP_AT,
                )
        for k in range(INCIDENT_MANAGERS):
            create_user(
                s,
                email=f"im{k}@provider.example",
                name=f"Incident manager {k}",
                role=Role.INCIDENT_MANAGER,
                language="en",
                actor="setup",
                now=SETUP_AT,
            )
        create_user(s, email="admin@provider.example", name="Admin", role=Role.ADMIN, actor="setup", now=SETUP_AT)
        create_user(
            s,
            email=CONTACT,
            name="Marie Dupont",
            role=Role.SUPPORT_ADMINISTRATOR,
            customer_code="contoso",
            contact_email=CONTACT,
            language="fr",
            actor="setup",
            now=SETUP_AT,
        )
    templates: dict[str, Template] = {}
    real = []
    with db.transaction() as s:
        admin = principal_for_user(s, user_by_email(s, "admin@provider.example").id)
        order = s.scalar(select(OrderRow).where(OrderRow.number == "ESO-2026-0042"))
        for sev, _share in SEVERITY_MIX:
            data = IncidentIn.model_validate(
                {
                    "order": order.number,
                    "site": "paris",
                    "contact": CONTACT,
                    "product": "exchange-online",
                    "severity": sev,
                    "title": f"Template Sev {sev}",
                    "business_impact": "Mail flow stopped",
                    "channel": "portal",
                }
            )
            inc = svc.open_incident(s, admin, data, now=now)
            real.append(inc.id)
            explanation = {
                "severity": inc.severity,
                "plan": inc.plan,
                "target_minutes": inc.target_minutes,
                "coverage": inc.coverage,
                "considered": [
                    {"plan": c["plan"], "applies": c["applies"], "reason": "bench row"}
                    for c in inc.explanation.get("considered", [])
                ][:4],
            }
            templates[sev] = Template(
                sev,
                inc.team,
                inc.routing,
                explanation,
                inc.plan,
                inc.target_minutes,
                inc.coverage,
                inc.escalated_at is not None,
            )
        world = World(inc.customer_id, inc.order_id, inc.site_id, inc.contact_id, templates, real)
    return world


def generate(
    n: int, breaches: int, world: World, now: datetime, seed: int, responded_share: float, mitigated_share: float
):
    """The bulk rows, as tuples in COLUMNS order (aware datetimes, JSON as text)."""
    rng = random.Random(seed)
    breach_at = set(rng.sample(range(n), breaches))
    sevs = [s for s, _ in SEVERITY_MIX]
    weights = [w for _, w in SEVERITY_MIX]
    t_now = int(now.timestamp())
    routing_json = {s: json.dumps(t.routing) for s, t in world.templates.items()}
    explanation_json = {s: json.dumps(t.explanation) for s, t in world.templates.items()}
    fromts = datetime.fromtimestamp
    for k in range(n):
        sev = rng.choices(sevs, weights)[0]
        t = world.templates[sev]
        target_s = t.target_minutes * 60
        span = target_s if t.coverage == "24x7" else target_s * 3  # business time spans nights
        breach = k in breach_at
        due = t_now - rng.randint(1, 7200) if breach else t_now + rng.randint(1, 30 * 86400)
        opened = min(due - span, t_now - rng.randint(60, 3 * 86400))
        warn = due - target_s // 4
        warned = warn if warn <= t_now else None
        responded = None
        status, mitigated = "open", None
        if not breach and rng.random() < responded_share:
            responded = min(opened + rng.randint(60, max(61, target_s // 2)), t_now - 1)
            if rng.random() < mitigated_share:
                status, mitigated = "mitigated", min(responded + rng.randint(60, 86400), t_now)
        version = 1 + (warned is not None) + (responded is not None) + (mitigated is not None)
        updated = max(x for x in (opened, warned, responded, mitigated) if x is not None)
        opened_dt = fromts(opened, UTC)
        yield (
            world.customer_id,
            world.order_id,
            world.site_id,
            world.contact_id,
            CONTACT,
            "portal",
            "exchange-online",
            f"Bench incident {k}: mail flow degraded",
            "Order confirmations are delayed",
            None,
            None,
            sev,
            sev,
            sev in ("1", "A"),
            "en",
            status,
            t.team,
            routing_json[sev],
            explanation_json[sev],
            t.plan,
            t.target_minutes,
            t.coverage,
            opened_dt,
            opened_dt,
            fromts(due, UTC),
            fromts(warn, UTC),
            None if responded is None else fromts(responded, UTC),
            None if warned is None else fromts(warned, UTC),
            None,
            opened_dt if t.escalated else None,
            None,
            None,
            None if mitigated is None else fromts(mitigated, UTC),
            None,
            version,
            opened_dt,
            fromts(updated, UTC),
            f"{k:032x}"[-32:].translate(_BASE32),  # unique, and of the reply token's form
        )


def bulk_load(tdb: TempDatabase, world: World, args: argparse.Namespace, n: int, breaches: int, now: datetime) -> None:
    engine = tdb.db.engine
    rows = generate(n, breaches, world, now, args.seed, args.responded_share, args.mitigated_share)
    t0 = time.perf_counter()
    if tdb.backend == "postgresql":
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.cursor() as cur, cur.copy(f"COPY incidents ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
        finally:
            raw.close()
        how = "COPY incidents FROM STDIN (psycopg)"
    else:
        table = IncidentRow.__table__
        batch: list[dict] = []
        with engine.begin() as c:
            for row in rows:
                d = dict(zip(COLUMNS, row, strict=True))
                d["routing"], d["explanation"] = json.loads(d["routing"]), json.loads(d["explanation"])
                batch.append(d)
                if len(batch) == 5000:
                    c.execute(insert(table), batch)
                    batch = []
            if batch:
                c.execute(insert(table), batch)
        how = "executemany INSERT through SQLAlchemy Core"
    t1 = time.perf_counter()
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO incident_communications (customer_id, incident_id, direction, medium, automated, author, "
                "at, logged_at, body, first_response, requests_customer_action) SELECT customer_id, id, 'outbound', "
                "'email', :t, 'system', opened_at, opened_at, :body, :f, :f FROM incidents WHERE title LIKE 'Bench "
                "incident %'"
            ),
            {"t": True, "f": False, "body": svc.ACKNOWLEDGEMENT},
        )
    t2 = time.perf_counter()
    if tdb.backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE incidents")
            c.exec_driver_sql("VACUUM ANALYZE incident_communications")
            size = c.exec_driver_sql(
                "SELECT pg_size_pretty(pg_total_relation_size('incidents')), "
                "pg_size_pretty(pg_relation_size('ix_incidents_awaiting_due'))"
            ).one()
        sizes = f"incidents {size[0]} with indexes, ix_incidents_awaiting_due {size[1]}"
    else:
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
        sizes = f"file {os.path.getsize(tdb.url.removeprefix('sqlite:///')) / 2**20:.0f} MiB"
    t3 = time.perf_counter()
    with engine.connect() as c:
        counts = c.execute(
            text(
                "SELECT count(*), sum(CASE WHEN first_response_at IS NULL AND breached_at IS NULL AND "
                "first_response_due <= :now THEN 1 ELSE 0 END), sum(CASE WHEN status = 'mitigated' THEN 1 ELSE 0 END), "
                "sum(CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END) FROM incidents"
            ),
            {"now": now if tdb.backend == "postgresql" else now.replace(tzinfo=None)},
        ).one()
        by_sev = dict(
            c.execute(text("SELECT severity, count(*) FROM incidents GROUP BY severity ORDER BY severity")).all()
        )
        by_team = dict(c.execute(text("SELECT team, count(*) FROM incidents GROUP BY team ORDER BY team")).all())
    print(
        f"bulk load: {n:,} incidents by {how} in {t1 - t0:.1f} s; {n:,} acknowledgement communications (INSERT … "
        f"SELECT) in {t2 - t1:.1f} s; {'VACUUM ANALYZE' if tdb.backend == 'postgresql' else 'ANALYZE'} in "
        f"{t3 - t2:.1f} s; {sizes}"
    )
    print(
        f"  in the table: {counts[0]:,} incidents ({len(world.real_incidents)} opened through the service), "
        f"{counts[1]:,} due and unbreached at now, {counts[3]:,} with a first response, {counts[2]:,} mitigated, 0 "
        f"closed; severities {by_sev}; teams {by_team}"
    )


# --------------------------------------------------------------------------- queries


def queries(now: datetime) -> dict[str, Any]:
    """The dashboard's due-soon queries, and the watcher's own (same expressions as
    services/watcher.py sweep)."""
    soon = now + timedelta(minutes=15)
    columns = (
        IncidentRow.id,
        IncidentRow.customer_id,
        IncidentRow.first_response_due,
        IncidentRow.escalated_at,
        IncidentRow.severity,
        IncidentRow.team,
    )
    dash = (IncidentRow.id, IncidentRow.first_response_due, IncidentRow.severity, IncidentRow.team, IncidentRow.title)
    # The predicate of the partial indexes, written literally as the watcher does.
    awaiting = text(AWAITING)
    return {
        "due-soon (due <= now+15min, overdue included)": select(*dash)
        .where(awaiting, IncidentRow.first_response_due <= soon)
        .order_by(IncidentRow.first_response_due)
        .limit(1000),
        "due-soon window (now < due <= now+15min)": select(*dash)
        .where(awaiting, IncidentRow.first_response_due > now, IncidentRow.first_response_due <= soon)
        .order_by(IncidentRow.first_response_due)
        .limit(1000),
        "watcher breach query": select(*columns).where(awaiting, IncidentRow.first_response_due <= now).limit(50_000),
        "watcher warning query": select(*columns)
        .where(
            text(AWAITING + " AND warned_at IS NULL"),
            IncidentRow.first_response_warn_at <= now,
            IncidentRow.first_response_due > now,
        )
        .limit(50_000),
    }


def time_query(engine: sqlalchemy.Engine, query, runs: int) -> tuple[list[float], int, tuple[str, Any]]:
    log = StatementLog(engine)
    with engine.connect() as c:
        if engine.dialect.name == "postgresql":
            # As the sweeps and the queue run them: a plan for each execution, for their
            # transaction (storage.database.plan_each_execution, D154). The connections'
            # own setting (auto) gives these queries a generic plan after five runs,
            # which ignores the partial indexes: ~400 ms instead of ~10.
            c.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        with log:
            nrows = len(c.execute(query).all())
        for _ in range(min(5, runs)):
            c.execute(query).all()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            c.execute(query).all()
            times.append(time.perf_counter() - t0)
        c.rollback()
    return times, nrows, log.last  # type: ignore[return-value]


def explain(engine: sqlalchemy.Engine, backend: str, statement: tuple[str, Any]) -> list[str]:
    sql, params = statement
    with engine.connect() as c:
        if backend == "postgresql":
            lines = [r[0] for r in c.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
        else:
            lines = [" ".join(str(x) for x in r[1:]) for r in c.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
        c.rollback()
    return lines


def explain_prepared(engine: sqlalchemy.Engine, statement: tuple[str, Any]) -> list[str]:
    """PostgreSQL: the plan a long-lived process gets. psycopg prepares a statement
    on its 5th execution on a connection (prepare_threshold=5), and after 5 custom
    plans the server may switch to a generic plan (plan_cache_mode=auto): PREPARE,
    EXECUTE 10 times, then EXPLAIN (ANALYZE) EXECUTE shows the plan then in use
    ($n in the conditions: generic)."""
    sql, params = statement
    names: list[str] = []

    def number(m: re.Match) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    body = re.sub(r"%\(([^)]+)\)s", number, sql)  # the casts SQLAlchemy adds stay
    import psycopg

    with engine.connect() as c:
        # EXECUTE's arguments as typed literals (a bound $n there has no type).
        execute = psycopg.ClientCursor(c.connection.driver_connection).mogrify(
            "EXECUTE bench_q(" + ", ".join(f"%({n})s" for n in names) + ")", params
        )
        c.exec_driver_sql(f"PREPARE bench_q AS {body}")
        for _ in range(10):
            c.exec_driver_sql(execute).all()
        lines = [r[0] for r in c.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")]
        c.exec_driver_sql("DEALLOCATE bench_q")
        c.rollback()
    return lines


def measure_queries(
    tdb: TempDatabase,
    now: datetime,
    runs: int,
    label: str,
    only: tuple[str, ...] | None = None,
    show_plans: bool = True,
    engine: sqlalchemy.Engine | None = None,
    prepared_plan: bool = True,
) -> dict[str, dict]:
    engine = engine or tdb.db.engine
    out = {}
    for name, q in queries(now).items():
        if only and name not in only:
            continue
        times, nrows, stmt = time_query(engine, q, runs)
        plan = explain(engine, tdb.backend, stmt)
        out[name] = {"p50": pct(times, 0.5), "p99": pct(times, 0.99), "rows": nrows}
        index = sorted(set(re.findall(r"(ix_\w+|pk_\w+)", " ".join(plan)))) or ["no index"]
        server = next((ln.strip() for ln in plan if ln.strip().startswith("Execution Time")), "")
        print(
            f"  {name + ' ' + label:<62} rows {nrows:>6,}  p50 {pct(times, 0.5) * 1e3:8.2f} ms  p99 "
            f"{pct(times, 0.99) * 1e3:8.2f} ms  ({runs} runs)  index: {', '.join(index)}  {server}"
        )
        if show_plans:
            for ln in plan:
                print("      | " + ln)
        if tdb.backend == "postgresql" and prepared_plan:
            prepared = explain_prepared(engine, stmt)
            generic = any("$1" in ln for ln in prepared)
            index = sorted(set(re.findall(r"(ix_\w+|pk_\w+)", " ".join(prepared)))) or ["no index"]
            server = next((ln.strip() for ln in prepared if ln.strip().startswith("Execution Time")), "")
            out[name]["prepared_ms"] = float(server.split(":")[1].split()[0]) if server else float("nan")
            out[name]["generic"] = generic
            print(
                f"      prepared, after 10 executions: {'GENERIC' if generic else 'custom'} plan, index: "
                f"{', '.join(index)}, {server}"
            )
            if show_plans and (generic or index != sorted(set(re.findall(r"(ix_\w+|pk_\w+)", " ".join(plan))))):
                for ln in prepared:
                    print("      ~ " + ln)
    return out


# --------------------------------------------------------------------------- the sweep


def outbox_count(db: Database) -> int:
    with db.engine.connect() as c:
        return c.execute(select(func.count()).select_from(OutboxRow)).scalar_one()


def server_cpu(session) -> tuple[int, float] | None:
    """The CPU seconds used so far by the PostgreSQL backend of ``session`` (its pid
    and ``/proc/<pid>/stat``'s utime + stime), when the server runs on this machine;
    else None. Less sensitive than wall time to other work on a shared machine."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


LAST_SERVER_CPU: list[float | None] = [None]


def timed_sweep(db: Database, now: datetime, queue) -> tuple[Any, float, float]:
    with db.sessions() as session:
        session.begin()
        before = server_cpu(session)
        t0 = time.perf_counter()
        report = sweep(session, now=now, queue=queue)
        t1 = time.perf_counter()
        after = server_cpu(session)
        session.commit()
        t2 = time.perf_counter()
    LAST_SERVER_CPU[0] = after[1] - before[1] if before and after else None
    return report, t1 - t0, t2 - t1


def cpu_note(brackets: bool = False) -> str:
    """The server CPU of the last timed sweep, to add to its figure ("" if unknown)."""
    cpu = LAST_SERVER_CPU[0]
    if cpu is None:
        return ""
    return f" (server CPU {fmt_s(cpu)})" if brackets else f", server CPU {fmt_s(cpu)}"


def add_update_breaches(tdb: TempDatabase, n: int, now: datetime) -> int:
    """``n`` update targets ("next update due", R-INC-2) of incidents that had their
    first response, due 1 s to 2 h ago and warned at 75 % of their 60 minutes: the
    next sweep breaches them all. Appended by ``storage.bulk`` (COPY on PostgreSQL)."""
    from unisupport.storage.bulk import append_rows
    from unisupport.storage.tables import UpdateTargetRow

    rng = random.Random(7)
    with tdb.db.engine.begin() as c:
        incidents = c.execute(
            select(IncidentRow.id, IncidentRow.customer_id, IncidentRow.plan, IncidentRow.severity)
            .where(IncidentRow.first_response_at.is_not(None), IncidentRow.status == "open")
            .order_by(IncidentRow.id)
            .limit(n)
        ).all()
        rows = []
        for r in incidents:
            due = now - timedelta(seconds=rng.randint(1, 7200))
            warn = due - timedelta(minutes=15)
            rows.append(
                {
                    "customer_id": r.customer_id,
                    "incident_id": r.id,
                    "seq": 1,
                    "plan": r.plan,
                    "severity": r.severity,
                    "target_minutes": 60,
                    "coverage": "24x7",
                    "started_at": due - timedelta(minutes=60),
                    "due_at": due,
                    "warn_at": warn,
                    "warned_at": warn,
                    "pauses": [],
                    "paused_seconds": 0,
                    "explanation": {"bench": "row"},
                }
            )
        append_rows(c, UpdateTargetRow.__table__, rows)  # type: ignore[arg-type]
    if tdb.backend == "postgresql":
        with tdb.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE update_targets")
    return len(rows)


def reset_breaches(db: Database, now: datetime, backend: str) -> None:
    """Put the marked breaches back (bench only), for the diagnostic runs."""
    p = now if backend == "postgresql" else now.replace(tzinfo=None)
    with db.engine.begin() as c:
        c.execute(
            text(
                "UPDATE incidents SET breached_at = NULL, version = version - 1, updated_at = created_at, escalated_at "
                "= CASE WHEN escalated_at = :now THEN NULL ELSE escalated_at END WHERE breached_at IS NOT NULL"
            ),
            {"now": p},
        )
        c.execute(text("DELETE FROM incident_events WHERE actor = 'watcher'"))
        c.execute(text("DELETE FROM outbox WHERE kind IN ('incident.breached', 'incident.escalated')"))
    if backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE incidents")
            c.exec_driver_sql("VACUUM ANALYZE incident_events")
            c.exec_driver_sql("VACUUM ANALYZE outbox")


PARTIAL_INDEXES = {
    # Candidates (bench experiment only): the rows each query looks for, and no bound
    # parameter in the predicate, so that any plan can use them.
    "ix_bench_unanswered_due": "CREATE INDEX ix_bench_unanswered_due ON incidents (first_response_due) "
    "WHERE first_response_at IS NULL",
    "ix_bench_pending_due": "CREATE INDEX ix_bench_pending_due ON incidents (first_response_due) "
    "WHERE first_response_at IS NULL AND breached_at IS NULL",
    "ix_bench_pending_warn": "CREATE INDEX ix_bench_pending_warn ON incidents (first_response_warn_at) "
    "WHERE first_response_at IS NULL AND breached_at IS NULL AND warned_at IS NULL",
    # The sweep's critical-resource query (R-EVT-2) has no index at all: a full scan each sweep.
    "ix_bench_critical_due": "CREATE INDEX ix_bench_critical_due ON incidents (critical_resource_due) "
    "WHERE critical_resource_at IS NULL AND critical_resource_due IS NOT NULL",
}
EXPERIMENT_RUNS = 50


def steady_sweeps(engine: sqlalchemy.Engine, now: datetime, k: int = 10) -> list[float]:
    """``k`` sweeps in a row at ``now`` (nothing due), each its own transaction, as a
    long-lived watcher process runs them (the pool hands back the same connection)."""
    db = Database(engine)
    times = []
    for _ in range(k):
        with db.transaction() as session:
            t0 = time.perf_counter()
            report = sweep(session, now=now, queue=incident_notifications.queue)
            times.append(time.perf_counter() - t0)
        assert report.breached == report.warned == 0
    return times


def show_sweeps(label: str, times: list[float]) -> str:
    text_ = " ".join(f"{t * 1e3:.0f}" for t in times)
    print(f"  {label}: {len(times)} sweeps in a row, nothing due, ms each: {text_}")
    return f"first {times[0] * 1e3:.0f} / median {pct(times, 0.5) * 1e3:.0f} / last {times[-1] * 1e3:.0f} ms"


def experiments(tdb: TempDatabase, now: datetime) -> dict[str, Any]:
    """PostgreSQL, after the sweep (nothing due): the due-soon and watcher queries, and
    10 sweeps in a row, (a) without server-side prepared statements (psycopg
    prepare_threshold=None), (b) with partial indexes, (c) with both. The indexes are
    created in this throw-away database, then dropped."""
    names = (
        "due-soon (due <= now+15min, overdue included)",
        "due-soon window (now < due <= now+15min)",
        "watcher breach query",
        "watcher warning query",
    )
    runs = EXPERIMENT_RUNS
    out: dict[str, Any] = {}
    print(f"\n  experiments, after the sweep (nothing due; {runs} runs per query; bench only, the schema is put back):")
    # Built here, not with make_engine (which sets its own connect_args on PostgreSQL).
    unprepared = create_engine(tdb.url, connect_args={"prepare_threshold": None})
    try:
        print(
            "  (a) psycopg prepare_threshold=None (no server-side prepared statements, hence no generic plan), indexes "
            "as they are:"
        )
        out["a"] = measure_queries(
            tdb, now, runs, "[a: no prepare]", only=names, show_plans=False, engine=unprepared, prepared_plan=False
        )
        out["a_sweeps"] = show_sweeps("(a)", steady_sweeps(unprepared, now))
        with tdb.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            t0 = time.perf_counter()
            for ddl in PARTIAL_INDEXES.values():
                c.exec_driver_sql(ddl)
            c.exec_driver_sql("ANALYZE incidents")
            built = time.perf_counter() - t0
            sizes = c.exec_driver_sql(
                "SELECT string_agg(relname || ' ' || pg_size_pretty(pg_relation_size(oid)), ', ' ORDER BY relname) "
                "FROM pg_class WHERE left(relname, 9) = 'ix_bench_' OR relname IN ('ix_incidents_awaiting_due', "
                "'ix_incidents_awaiting_warn')"
            ).scalar()
        print(f"  partial indexes built in {built:.1f} s ({sizes}):")
        for ddl in PARTIAL_INDEXES.values():
            print(f"      {ddl}")
        try:
            print("  (b) partial indexes, prepared statements as they are (psycopg prepare_threshold=5):")
            out["b"] = measure_queries(tdb, now, runs, "[b: partial idx]", only=names, show_plans=False)
            print("  (c) partial indexes and prepare_threshold=None:")
            out["c"] = measure_queries(
                tdb, now, runs, "[c: both]", only=names, show_plans=False, engine=unprepared, prepared_plan=False
            )
            out["c_sweeps"] = show_sweeps("(c)", steady_sweeps(unprepared, now))
        finally:
            with tdb.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                for name in PARTIAL_INDEXES:
                    c.exec_driver_sql(f"DROP INDEX {name}")
                c.exec_driver_sql("ANALYZE incidents")
    finally:
        unprepared.dispose()
    return out


def diagnose(tdb: TempDatabase, now: datetime, breaches: int) -> dict[str, float]:
    db = tdb.db
    out: dict[str, float] = {}
    print("\n  diagnosis (state put back, each run in a rolled-back transaction):")
    # 1. sweep without queue, then the queue function alone, statements counted.
    with db.sessions() as session:
        session.begin()
        with StatementLog(db.engine) as sweep_log:
            t0 = time.perf_counter()
            report = sweep(session, now=now, queue=None)
            t1 = time.perf_counter()
        ids = report.incidents.get("breached", [])
        with StatementLog(db.engine) as log:
            t2 = time.perf_counter()
            queued = incident_notifications.queue(session, ids, "incident.breached", now)
            t3 = time.perf_counter()
        session.rollback()
    out["sweep_no_queue"], out["queue_only"] = t1 - t0, t3 - t2
    print(
        f"  sweep(queue=None): {report.breached:,} breaches marked in {fmt_s(t1 - t0)}; "
        f"incident_notifications.queue alone: {queued:,} rows in {fmt_s(t3 - t2)} "
        f"({(t3 - t2) / max(len(ids), 1) * 1e3:.2f} ms per incident, {(t3 - t2) / max(queued, 1) * 1e6:.0f} us per row)"
    )
    sweep_log.print("  SQL statements of sweep(queue=None)", top=8)
    log.print("  SQL statements of queue() alone", top=8)
    # 2. cProfile of the whole sweep with the real queue.
    profiler = cProfile.Profile()
    with db.sessions() as session:
        session.begin()
        t0 = time.perf_counter()
        profiler.enable()
        sweep(session, now=now, queue=incident_notifications.queue)
        profiler.disable()
        out["profiled"] = time.perf_counter() - t0
        session.rollback()
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(15)
    print(
        f"  cProfile of sweep(queue=incident_notifications.queue), {fmt_s(out['profiled'])} under the profiler, top 15 "
        "by cumulative time:"
    )
    body = buf.getvalue()
    body = body[body.find("   ncalls") :] if "   ncalls" in body else body
    for ln in body.rstrip().splitlines():
        print("    " + ln)
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats("tottime").print_stats(10)
    body = buf.getvalue()
    body = body[body.find("   ncalls") :] if "   ncalls" in body else body
    print("  top 10 by own time:")
    for ln in body.rstrip().splitlines():
        print("    " + ln)
    return out


def bench_backend(backend: str, args: argparse.Namespace, now: datetime) -> list[tuple[str, str, str, str]]:
    n, breaches = (args.n, args.breaches) if backend == "postgresql" else (args.sqlite_n, args.sqlite_breaches)
    tag = "PG" if backend == "postgresql" else f"SQLite (N={n:,}, info only)"
    tdb = TempDatabase(backend)
    rows: list[tuple[str, str, str, str]] = []
    info = backend != "postgresql"
    try:
        print(
            f"\n=== {backend}{'' if backend == 'postgresql' else ' — SMALLER N, NO TARGET: for comparison only'}: "
            f"{tdb.describe()}"
        )
        t0 = time.perf_counter()
        world = build_world(tdb.db, now)
        print(
            f"setup through the services in {time.perf_counter() - t0:.1f} s: order ESO-2026-0042, {len(TEAMS)} teams "
            f"x {ENGINEERS_PER_TEAM} engineers, {INCIDENT_MANAGERS} incident managers, customer user {CONTACT} (fr); "
            "templates from real incidents: "
            + "; ".join(
                f"Sev {t.severity}: team {t.team}, plan {t.plan}, {t.target_minutes} min {t.coverage}"
                f"{', escalated at opening' if t.escalated else ''}"
                for t in world.templates.values()
            )
        )
        bulk_load(tdb, world, args, n, breaches, now)

        print(
            f"\n(i) queries at now = {now.isoformat()} (client-side wall time, rows fetched into Python; "
            f"{'EXPLAIN (ANALYZE, BUFFERS)' if backend == 'postgresql' else 'EXPLAIN QUERY PLAN'} below each):"
        )
        runs = args.runs if backend == "postgresql" else max(20, args.runs // 4)
        before = measure_queries(tdb, now, runs, "[before sweep]")

        print("\n(ii) sweep(session, now=now, queue=incident_notifications.queue), one transaction, committed:")
        out0 = outbox_count(tdb.db)
        report, t_sweep, t_commit = timed_sweep(tdb.db, now, incident_notifications.queue)
        first_cpu = cpu_note(brackets=True)
        queued_rows = outbox_count(tdb.db) - out0
        with tdb.db.engine.connect() as c:
            marked = c.execute(
                select(func.count()).select_from(IncidentRow).where(IncidentRow.breached_at.is_not(None))
            ).scalar_one()
            evts = c.execute(
                select(func.count()).select_from(IncidentEventRow).where(IncidentEventRow.actor == "watcher")
            ).scalar_one()
        total = t_sweep + t_commit
        per = ENGINEERS_PER_TEAM + 1 + INCIDENT_MANAGERS
        print(
            f"  first sweep: {fmt_s(t_sweep)} + commit {fmt_s(t_commit)} = {fmt_s(total)}{cpu_note()}; "
            f"report {report.to_dict()}; "
            f"in the database: {marked:,} incidents marked breached, {evts:,} watcher events, {queued_rows:,} outbox "
            f"rows (expected {breaches:,} x {per} = {breaches * per:,}: {ENGINEERS_PER_TEAM} team members + the "
            f"contact + {INCIDENT_MANAGERS} incident managers)"
        )
        report2, t2_sweep, t2_commit = timed_sweep(tdb.db, now, incident_notifications.queue)
        print(f"  second sweep at the same instant: {fmt_s(t2_sweep + t2_commit)}; report {report2.to_dict()}")
        print("  the watcher's queries after the sweep (steady state, nothing due):")
        after = measure_queries(
            tdb,
            now,
            runs,
            "[after sweep]",
            only=("watcher breach query", "watcher warning query"),
            show_plans=backend == "postgresql",
        )
        steady = show_sweeps("as it is", steady_sweeps(tdb.db.engine, now))
        exp = experiments(tdb, now) if backend == "postgresql" and args.experiments else None
        update_rows: list[tuple[str, str, str, str]] = []
        wanted = args.update_breaches if backend == "postgresql" else min(args.update_breaches, args.sqlite_breaches)
        if wanted:
            added = add_update_breaches(tdb, wanted, now)
            out1 = outbox_count(tdb.db)
            ureport, tu_sweep, tu_commit = timed_sweep(tdb.db, now, incident_notifications.queue)
            uqueued = outbox_count(tdb.db) - out1
            print(
                f"\n(iii) update targets: {added:,} due in the past, one sweep: {fmt_s(tu_sweep)} + commit "
                f"{fmt_s(tu_commit)} = {fmt_s(tu_sweep + tu_commit)}{cpu_note()}; report {ureport.to_dict()}; "
                f"{uqueued:,} outbox rows (expected {added:,} x {ENGINEERS_PER_TEAM + INCIDENT_MANAGERS}: the team and "
                "the incident managers)"
            )
            update_rows.append(
                (
                    f"{tag}: update-target sweep: {ureport.update_breached:,} breaches + {uqueued:,} notifications",
                    fmt_s(tu_sweep + tu_commit)
                    + cpu_note().replace(", server CPU", " (server CPU")
                    + (")" if cpu_note() else ""),
                    "-",
                    "info" if ureport.update_breached == added else "FAIL (not all marked)",
                )
            )

        d = before["due-soon (due <= now+15min, overdue included)"]
        w = before["due-soon window (now < due <= now+15min)"]
        b = before["watcher breach query"]
        ba = after["watcher breach query"]
        wa = after["watcher warning query"]
        tq = f"p99 <= {TARGET_QUERY_MS:g} ms"
        v = (lambda x: verdict(x <= TARGET_QUERY_MS / 1e3)) if not info else (lambda x: "info")
        rows += [
            (
                f"{tag}: due-soon <= now+15min (ORDER BY due LIMIT 1000)",
                f"p50 {d['p50'] * 1e3:.1f} / p99 {d['p99'] * 1e3:.1f} ms",
                tq,
                v(d["p99"]),
            ),
            (
                f"{tag}: due-soon window (now, now+15min]",
                f"p50 {w['p50'] * 1e3:.1f} / p99 {w['p99'] * 1e3:.1f} ms ({w['rows']} rows)",
                tq,
                v(w["p99"]),
            ),
            # Fetching the 10,000 due rows into Python: information, not the target's query
            # (the target is the check a watcher runs when nothing is due, just below).
            (
                f"{tag}: watcher breach query, {b['rows']:,} rows",
                f"p50 {b['p50'] * 1e3:.1f} / p99 {b['p99'] * 1e3:.1f} ms",
                "-",
                "info",
            ),
            (
                f"{tag}: watcher breach query, nothing due",
                f"p50 {ba['p50'] * 1e3:.1f} / p99 {ba['p99'] * 1e3:.1f} ms",
                tq,
                v(ba["p99"]),
            ),
            (
                f"{tag}: watcher warning query, nothing due",
                f"p50 {wa['p50'] * 1e3:.1f} / p99 {wa['p99'] * 1e3:.1f} ms",
                tq,
                v(wa["p99"]),
            ),
            (
                f"{tag}: sweep: {report.breached:,} breaches + {queued_rows:,} notifications",
                fmt_s(total) + first_cpu,
                f"<= {TARGET_SWEEP_S:g} s",
                "info" if info else verdict(total <= TARGET_SWEEP_S and report.breached == breaches),
            ),
            (f"{tag}: second sweep (nothing to do)", fmt_s(t2_sweep + t2_commit), "-", "-"),
            (f"{tag}: 10 more sweeps, nothing due", steady, "-", "-"),
        ]
        rows += update_rows
        if exp:
            rows.append((f"{tag}: exp. (a) no prepared stmts: 10 sweeps", exp["a_sweeps"], "-", "-"))
            rows.append((f"{tag}: exp. (c) (a) + partial indexes: 10 sweeps", exp["c_sweeps"], "-", "-"))
            for key, what in (
                ("a", "exp. (a) no prepared stmts"),
                ("b", "exp. (b) partial indexes"),
                ("c", "exp. (c) both"),
            ):
                for q, short in (
                    ("due-soon (due <= now+15min, overdue included)", "due-soon <= now+15min"),
                    ("due-soon window (now < due <= now+15min)", "due-soon window"),
                    ("watcher breach query", "breach query, nothing due"),
                    ("watcher warning query", "warning query, nothing due"),
                ):
                    x = exp[key][q]
                    rows.append(
                        (
                            f"{tag}: {what}: {short}",
                            f"p50 {x['p50'] * 1e3:.1f} / p99 {x['p99'] * 1e3:.1f} ms",
                            tq,
                            verdict(x["p99"] <= TARGET_QUERY_MS / 1e3) + " (experiment)",
                        )
                    )
        if not info and (args.diagnose == "always" or (args.diagnose == "auto" and total > TARGET_SWEEP_S)):
            reset_breaches(tdb.db, now, backend)
            dg = diagnose(tdb, now, breaches)
            rows += [
                (f"{tag}: diag sweep(queue=None)", fmt_s(dg["sweep_no_queue"]), "-", "-"),
                (f"{tag}: diag queue() alone", fmt_s(dg["queue_only"]), "-", "-"),
            ]
    finally:
        tdb.drop()
    return rows


def main() -> int:
    # SIGTERM (timeout, kill) unwinds like Ctrl-C, so the throw-away databases are dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open incidents in PostgreSQL")
    parser.add_argument("--breaches", type=int, default=10_000, help="of which due in the past, no first response")
    parser.add_argument("--sqlite-n", type=int, default=100_000, help="incidents in SQLite (0: skip SQLite)")
    parser.add_argument("--sqlite-breaches", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=200, help="runs per query")
    parser.add_argument("--responded-share", type=float, default=0.4)
    parser.add_argument("--mitigated-share", type=float, default=0.1)
    parser.add_argument(
        "--diagnose", choices=("auto", "always", "never"), default="auto", help="auto: when the first sweep exceeds 2 s"
    )
    parser.add_argument(
        "--experiments",
        action="store_true",
        help="also the PostgreSQL experiments: no prepared statements; extra partial indexes; both",
    )
    parser.add_argument(
        "--update-breaches",
        type=int,
        default=10_000,
        help="update targets due in the past, swept after the first-response breaches (0: skip; SQLite: at most "
        "--sqlite-breaches)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.sqlite_n == 0:
        args.sqlite_breaches = 0
    if not (
        0 < args.breaches <= args.n <= 5_000_000
        and 0 <= args.sqlite_breaches <= args.sqlite_n <= 1_000_000
        and 1 <= args.runs <= 10_000
    ):
        parser.error(
            "0 < --breaches <= --n <= 5,000,000; --sqlite-breaches <= --sqlite-n <= 1,000,000; 1 <= --runs <= 10,000"
        )

    import alembic
    import psycopg

    from unisupport import __version__

    now = datetime.now(UTC).replace(microsecond=0)
    print("unisupport SLA watcher benchmark (bench/watcher_bench.py)")
    print(f"command: {' '.join([sys.executable] + sys.argv)}")
    print(
        f"versions: unisupport {__version__} | Python {platform.python_version()} | SQLAlchemy "
        f"{sqlalchemy.__version__} | alembic {alembic.__version__} | psycopg {psycopg.__version__} | SQLite "
        f"{sqlite3.sqlite_version} | {platform.platform()} | {os.cpu_count()} CPUs"
    )
    print(f"{load()}; started {datetime.now(UTC).isoformat(timespec='seconds')}; {git_revision(ROOT)}")
    backends = []
    notes = []
    if admin_url():
        backends.append("postgresql")
    else:
        notes.append(
            "NOTE: no PostgreSQL: set UNISUPPORT_BENCH_POSTGRES_URL (or UNISUPPORT_TEST_POSTGRES_URL) to an admin URL; "
            "the targets are for PostgreSQL, so only the SQLite run (info only) happened"
        )
    if args.sqlite_n > 0:
        backends.append("sqlite")
    for note in notes:
        print(note)
    rows: list[tuple[str, str, str, str]] = []
    for backend in backends:
        rows += bench_backend(backend, args, now)
    print(f"\n{load()}")
    for note in notes:
        print(note)
    print("\nmetric | value | target | verdict")
    w = max(len(m) for m, *_ in rows) if rows else 10
    vw = max(len(v) for _, v, _, _ in rows) if rows else 10
    for m, v, t, said in rows:
        print(f"{m:<{w}} | {v:<{vw}} | {t:<15} | {said}")
    return 0 if all(not v.startswith("FAIL") for *_, v in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
