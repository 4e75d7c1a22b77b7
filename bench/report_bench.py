"""Monthly SLA report benchmark (issue 10): the report of one month for every customer
(target ≤ 1 s) and for one customer (target ≤ 100 ms), on PostgreSQL, with SQLite
figures beside them at a smaller size.

    python bench/report_bench.py [--n 1000000] [--customers 2000] [--years 5]
                                 [--messages 8] [--runs 10] [--sqlite-n 100000]
                                 [--backends postgresql,sqlite]

PostgreSQL: a throw-away database created from UNISUPPORT_BENCH_POSTGRES_URL or
UNISUPPORT_TEST_POSTGRES_URL, migrated, dropped at the end; SQLite on a temp file.

Setup: the example order contoso-multicountry.yaml through ``services.orders``, an
admin, and one real incident per severity opened with ``services.incidents`` (its
plan, target, coverage, routing and explanation are the templates of the bulk rows).
Bulk (PostgreSQL: COPY; SQLite: executemany): ``--customers`` customers with one site
each (the calendars of Paris, Munich and Tokyo in turn, so business minutes are
counted on three calendars), then ``--n`` incidents opened uniformly over the last
``--years`` years at random customers (3 % Sev 1, 12 % A, 45 % B, 40 % C), each
answered (about 20 % after its due instant, those marked breached), mitigated and
closed; and ``--messages`` communications per incident, one in eight asking the
customer for an answer, a quarter of those missed (R-SLA-4). Then ANALYZE.

Measured, over ``--runs`` runs (median and slowest, client side, every line built):
``services.reports.sla.sla_report`` for the last full month, every customer; the same
month for one customer; and twelve months for one customer."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "src", ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from sqlalchemy import event, select, text  # noqa: E402
from throwaway import Throwaway, git_revision, load  # noqa: E402

from unisupport.access import SYSTEM, Role  # noqa: E402
from unisupport.incidents.requests import IncidentIn  # noqa: E402
from unisupport.orders.validation import read_order_document  # noqa: E402
from unisupport.services import incidents as svc  # noqa: E402
from unisupport.services.orders import import_order  # noqa: E402
from unisupport.services.reports.sla import Period, sla_report  # noqa: E402
from unisupport.services.users import create_user, principal_for_user, user_by_email  # noqa: E402
from unisupport.storage.database import Database, make_engine, migrate  # noqa: E402
from unisupport.storage.tables import IncidentRow, OrderRow, SiteRow  # noqa: E402

EXAMPLE = ROOT / "examples" / "orders" / "contoso-multicountry.yaml"
CONTACT = "marie.dupont@contoso.example"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
SEVERITY_MIX = (("1", 0.03), ("A", 0.12), ("B", 0.45), ("C", 0.40))
TARGET_ALL_S, TARGET_ONE_S = 1.0, 0.1
INCIDENT_COLUMNS = (
    "customer_id",
    "order_id",
    "site_id",
    "contact_id",
    "opened_by",
    "channel",
    "product",
    "title",
    "business_impact",
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
    "breached_at",
    "mitigated_at",
    "closed_at",
    "version",
    "created_at",
    "updated_at",
    "reply_token",
    "severity_to_confirm",
)
COMMUNICATION_COLUMNS = (
    "customer_id",
    "incident_id",
    "direction",
    "medium",
    "automated",
    "author",
    "at",
    "logged_at",
    "body",
    "first_response",
    "requests_customer_action",
    "customer_response_due",
    "missed_at",
)


def copy_rows(db: Database, table: str, columns: tuple[str, ...], rows) -> None:
    """COPY on PostgreSQL, executemany on SQLite; rows are tuples in ``columns`` order."""
    if db.engine.dialect.name == "postgresql":
        raw = db.engine.raw_connection()
        try:
            with (
                raw.driver_connection.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp,
            ):
                for row in rows:
                    cp.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    marks = ", ".join("?" for _ in columns)
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")  # one transaction, not one per row (the driver is in autocommit mode)
        batch: list[tuple] = []
        for row in rows:
            batch.append(tuple(_sqlite(v) for v in row))
            if len(batch) >= 50_000:
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
                batch.clear()
        if batch:
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
        raw.commit()
    finally:
        raw.close()


def _sqlite(value):
    if isinstance(value, datetime):  # as storage.base.UTCDateTime stores it
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def setup(db: Database) -> tuple[dict, list[SiteRow], int, int]:
    with db.transaction() as s:
        import_order(s, read_order_document(EXAMPLE), actor="setup", now=datetime(2026, 1, 1, tzinfo=UTC))
        create_user(s, email="admin@provider.example", name="Admin", role=Role.ADMIN, actor="setup", now=NOW)
    templates = {}
    with db.transaction() as s:
        admin = principal_for_user(s, user_by_email(s, "admin@provider.example").id)
        order = s.scalar(select(OrderRow).where(OrderRow.number == "ESO-2026-0042"))
        for sev, _ in SEVERITY_MIX:
            data = IncidentIn.model_validate(
                {
                    "order": order.number,
                    "site": "paris",
                    "contact": CONTACT,
                    "product": "exchange-online",
                    "severity": sev,
                    "title": f"Template {sev}",
                    "business_impact": "Mail flow stopped",
                    "channel": "portal",
                }
            )
            inc = svc.open_incident(s, admin, data, now=NOW)
            templates[sev] = (inc.team, json.dumps(inc.routing), json.dumps(inc.explanation), inc.plan)
            templates[sev] += (inc.target_minutes, inc.coverage)
        sites = list(s.scalars(select(SiteRow).where(SiteRow.customer_id == order.customer_id)))
        s.expunge_all()
        return templates, sites, order.id, inc.contact_id


def generate(db: Database, args, n: int) -> dict:
    templates, sites, order_id, contact_id = setup(db)
    t0 = time.perf_counter()
    copy_rows(
        db,
        "customers",
        ("code", "name", "created_at"),
        ((f"bench-{k:05d}", f"Bench customer {k}", NOW) for k in range(args.customers)),
    )
    with db.engine.connect() as c:
        customers = [r[0] for r in c.execute(text("SELECT id FROM customers WHERE code LIKE 'bench-%' ORDER BY id"))]
    copy_rows(
        db,
        "sites",
        ("customer_id", "code", "name", "country", "timezone", "language", "calendar"),
        (
            (cid, "main", "Main", site.country, site.timezone, site.language, json.dumps(site.calendar or {}))
            for k, cid in enumerate(customers)
            for site in (sites[k % len(sites)],)
        ),
    )
    with db.engine.connect() as c:
        site_of = dict(c.execute(text("SELECT customer_id, id FROM sites WHERE code = 'main'")).all())
    t1 = time.perf_counter()
    rng = random.Random(args.seed)
    sevs, weights = [s for s, _ in SEVERITY_MIX], [w for _, w in SEVERITY_MIX]
    span = int(args.years * 365.25 * 86400)
    t_now = int(NOW.timestamp())
    fromts = datetime.fromtimestamp

    def incidents():
        for k in range(n):
            sev = rng.choices(sevs, weights)[0]
            team, routing, explanation, plan, target, coverage = templates[sev]
            cid = customers[rng.randrange(len(customers))]
            opened = t_now - 86400 * 3 - rng.randrange(span)
            window = target * 60 * (1 if coverage == "24x7" else 3)  # business time spans nights
            due = opened + window
            late = rng.random() < 0.2
            responded = opened + int(window * (rng.uniform(1.05, 2) if late else rng.uniform(0.05, 0.95)))
            mitigated = responded + rng.randint(600, 3 * 86400)
            closed = mitigated + rng.randint(600, 5 * 86400)
            o = fromts(opened, UTC)
            yield (
                cid,
                order_id,
                site_of[cid],
                contact_id,
                CONTACT,
                "portal",
                "exchange-online",
                f"Bench incident {k}",
                "Users work around it",
                sev,
                sev,
                sev in ("1", "A"),
                "en",
                "closed",
                team,
                routing,
                explanation,
                plan,
                target,
                coverage,
                o,
                o,
                fromts(due, UTC),
                fromts(due - window // 4, UTC),
                fromts(responded, UTC),
                fromts(due, UTC) if late else None,
                fromts(mitigated, UTC),
                fromts(closed, UTC),
                4,
                o,
                fromts(closed, UTC),
                f"bench{k:027d}",
                False,
            )

    copy_rows(db, "incidents", INCIDENT_COLUMNS, incidents())
    t2 = time.perf_counter()
    messages = 0
    if args.messages:
        with db.engine.connect() as c:
            ids = c.execute(
                text("SELECT id, customer_id, opened_at FROM incidents WHERE reply_token LIKE 'bench%'")
            ).all()

        def communications():
            for iid, cid, opened in ids:
                opened = opened if isinstance(opened, datetime) else datetime.fromisoformat(opened)
                opened = opened.replace(tzinfo=UTC) if opened.tzinfo is None else opened
                for m in range(args.messages):
                    at = opened + timedelta(minutes=30 * (m + 1))
                    asks = m % 8 == 3
                    missed = asks and rng.random() < 0.25
                    yield (
                        cid,
                        iid,
                        "outbound" if m % 2 else "inbound",
                        "email",
                        False,
                        CONTACT,
                        at,
                        at,
                        "A message of the conversation",
                        m == 1,
                        asks,
                        at + timedelta(hours=4) if asks else None,
                        at + timedelta(hours=4) if missed else None,
                    )

        copy_rows(db, "incident_communications", COMMUNICATION_COLUMNS, communications())
        messages = len(ids) * args.messages
    t3 = time.perf_counter()
    with db.engine.connect() as c:
        c.execute(text("ANALYZE"))
        c.commit()
    t4 = time.perf_counter()
    return {
        "customers": f"{args.customers:,} customers and sites in {t1 - t0:.1f} s",
        "incidents": f"{n:,} incidents in {t2 - t1:.1f} s",
        "messages": f"{messages:,} communications in {t3 - t2:.1f} s",
        "analyze": f"ANALYZE in {t4 - t3:.1f} s",
    }


def timed(db: Database, runs: int, period: Period, customer: str | None) -> tuple[float, float, int]:
    times, lines = [], 0
    for _ in range(runs):
        with db.reading() as s:
            t = time.perf_counter()
            lines = len(sla_report(s, SYSTEM, period, now=NOW, customer=customer))
            times.append(time.perf_counter() - t)
    return statistics.median(times), max(times), lines


def breakdown(db: Database, period: Period) -> str:
    """Where one every-customer report spends its time: each statement's, and the rest (Python)."""
    spent: dict[str, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:60]
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - conn.info.pop("t0")

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        total, _, _ = timed(db, 1, period, None)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    parts = [f"{v * 1e3:.0f} ms {k}…" for k, v in sorted(spent.items(), key=lambda kv: -kv[1])[:4]]
    return f"  breakdown of one every-customer run ({total * 1e3:.0f} ms): " + "; ".join(parts)


def bench(backend: str, n: int, args) -> list[str]:
    tmp = Throwaway(backend, prefix="unisupport-report-bench-")
    try:
        db = Database(make_engine(tmp.url))
        migrate(db.engine)
        built = generate(db, args, n)
        for v in built.values():
            print(f"  [{backend}] {v}", flush=True)
        month = Period(date(2026, 11, 1), date(2026, 11, 30))
        year = Period(date(2025, 12, 1), date(2026, 11, 30))
        with db.reading() as s:
            in_month = s.execute(
                select(IncidentRow.id).where(
                    IncidentRow.opened_at >= datetime(2026, 11, 1, tzinfo=UTC),
                    IncidentRow.opened_at < NOW,
                )
            ).all()
        out = [f"[{backend}] {n:,} incidents, {len(in_month):,} opened in 2026-11; {load()}"]
        timed(db, 1, month, None)  # warm: calendars expanded, caches filled
        for label, period, customer, target in (
            ("2026-11, every customer", month, None, TARGET_ALL_S),
            ("2026-11, one customer", month, "bench-00042", TARGET_ONE_S),
            ("12 months, one customer", year, "bench-00042", None),
        ):
            median, worst, lines = timed(db, args.runs, period, customer)
            verdict = "" if target is None or backend != "postgresql" else (" PASS" if median <= target else " FAIL")
            goal = f" (target ≤ {target * 1e3:.0f} ms)" if target else ""
            out.append(
                f"  {label}: median {median * 1e3:.0f} ms, slowest {worst * 1e3:.0f} ms, {lines:,} lines{goal}{verdict}"
            )
        out.append(breakdown(db, month))
        db.engine.dispose()
        return out
    finally:
        tmp.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sqlite-n", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--years", type=float, default=5)
    parser.add_argument("--messages", type=int, default=8)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    print(f"report bench at {git_revision(ROOT)}; {load()}", flush=True)
    lines = []
    for backend in args.backends.split(","):
        lines += bench(backend, args.n if backend == "postgresql" else args.sqlite_n, args)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
