"""Search and queue benchmark (issue 10 item 5, docs/decisions.md D106–D110).

    python bench/search_bench.py [--n 200000] [--open 10000] [--messages 4]
                                 [--sqlite-n 100000] [--sqlite-messages 2]
                                 [--runs 200] [--creations 60] [--backends postgresql,sqlite]

For each backend, a throw-away database (PostgreSQL: created from the admin URL in
UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL, dropped at the end;
SQLite: a temp file) prepared like bench/api_bench.py's (tests/api_server.start: the
two example orders, the teams, a user per role), then:

1. **Write-path cost of the search triggers**: ``--creations`` incidents opened through
   ``services.incidents.open_incident`` with the triggers, and as many with the
   incident trigger removed (PostgreSQL: disabled; SQLite: dropped, then put back),
   interleaved in batches of 10; the difference of the medians is the cost the search
   adds to one creation.
2. **Bulk load** (PostgreSQL: COPY, SQLite: executemany; the triggers write the search
   entries as in production): ``--n`` incidents over five years, 80 % Contoso, 20 %
   Fabrikam, ``--open`` of them open (the rest closed), titles, impacts and messages
   drawn from a vocabulary of 300 French and English support words and 20,000 rarer
   tokens; ``--messages`` messages per incident, one in ten an internal note. Then
   ANALYZE.
3. **Search**: ``services.search.search_incidents`` (limit 50, the page's), p50/p99 over
   ``--runs`` runs per query shape — a common word, a mid-frequency word, two words,
   a rare token, a French plural — as the incident manager (every customer) and as
   Marie (Contoso's support administrator). Target on PostgreSQL: p99 ≤ 50 ms.
4. **Queue page**: GET /queue in this process (FastAPI's TestClient, no network,
   signed in as the incident manager, who sees every team's and customer's
   ``--open`` open incidents): the default sort (next deadline), sorted by engineer,
   and searched by a word; p50/p99 of the time in the server. Target on PostgreSQL:
   p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from sqlalchemy import select, text  # noqa: E402

from api_bench import TempDatabase, prepare  # noqa: E402
from throwaway import load, verdict  # noqa: E402

NOW = datetime.now(UTC).replace(microsecond=0)
WORDS = (
    "imprimante réseau messagerie serveur connexion utilisateur mot passe compte licence facture commande "
    "sauvegarde restauration disque mémoire lenteur panne coupure erreur certificat domaine annuaire groupe "
    "partage dossier fichier synchronisation calendrier réunion téléphone poste écran clavier souris badge "
    "accès droits sécurité pare-feu routeur commutateur liaison fibre latence débit application base données "
    "requête index rapport tableau export import migration mise jour correctif version déploiement test "
    "production incident urgent bloqué client fournisseur contrat délai réponse escalade ticket demande "
    "printer network mailbox server connection user password account license invoice order backup restore "
    "disk memory slowness outage failure error certificate domain directory group share folder file sync "
    "calendar meeting phone desktop screen keyboard mouse badge access rights security firewall router switch "
    "link fiber latency throughput application database query index report dashboard export import migration "
    "update patch version deployment test production incident urgent blocked customer vendor contract delay "
    "response escalation ticket request cluster node virtual machine storage blob queue function gateway "
    "identity token login logout session cookie browser proxy dns dhcp vpn tenant subscription quota billing "
    "alert monitor metric log trace crash hang timeout retry throttling spooler driver firmware bios reboot "
    "imprimantes serveurs utilisateurs connexions erreurs pannes printers servers users connections errors"
).split()
RARE = [f"zq{k:05d}" for k in range(20000)]
QUERIES = {
    "common word": "error",
    "mid-frequency word": "spooler",
    "two words": "printer firmware",
    "rare token": "zq01234",
    "French plural": "imprimantes",
}


def sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, k=n)
    if rng.random() < 0.3:
        words[rng.randrange(n)] = rng.choice(RARE)
    return " ".join(words)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def principal(db, email: str):
    from unisupport.services.users import principal_for_user, user_by_email

    with db.reading() as s:
        return principal_for_user(s, user_by_email(s, email).id)


def incident_in(i: int):
    from unisupport.incidents.requests import IncidentIn

    return IncidentIn(
        site="paris", product="exchange-online", severity="B", title=f"Bench {i}", business_impact="Users blocked"
    )


def write_cost(db, backend: str, creations: int) -> tuple[float, float]:
    """Median ms per creation with the search triggers and without the incident's."""
    from unisupport.services import incidents as svc

    marie = principal(db, "marie.dupont@contoso.example")
    with_t, without_t = [], []

    def batch(into: list[float], k: int) -> None:
        for i in range(10):
            with db.transaction() as s:
                start = time.perf_counter()
                svc.open_incident(s, marie, incident_in(k * 10 + i), now=NOW)
                s.flush()
                into.append((time.perf_counter() - start) * 1000)

    trigger_sql = None
    if backend == "sqlite":
        with db.engine.connect() as c:
            trigger_sql = c.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'incident_search_incident_insert'")
            ).scalar()
    for k in range(max(1, creations // 10)):
        batch(with_t, k)
        with db.engine.begin() as c:
            if backend == "sqlite":
                c.exec_driver_sql("DROP TRIGGER incident_search_incident_insert")
            else:
                c.exec_driver_sql("ALTER TABLE incidents DISABLE TRIGGER incident_search_incident_insert")
        batch(without_t, 1000 + k)
        with db.engine.begin() as c:
            if backend == "sqlite":
                c.exec_driver_sql(trigger_sql)
            else:
                c.exec_driver_sql("ALTER TABLE incidents ENABLE TRIGGER incident_search_incident_insert")
    return statistics.median(with_t), statistics.median(without_t)


def bulk_load(db, n: int, open_n: int, messages: int, seed: int = 7) -> float:
    """The incidents and their messages, through storage.bulk; seconds taken."""
    from unisupport.storage.bulk import append_rows
    from unisupport.storage.tables import IncidentRow, MessageRow

    rng = random.Random(seed)
    incidents, messages_t = IncidentRow.__table__, MessageRow.__table__
    with db.reading() as s:
        templates = [dict(r._mapping) for r in s.execute(select(incidents).order_by(incidents.c.id.desc()).limit(1))]
        fabrikam = s.execute(text("SELECT id FROM customers WHERE code = 'fabrikam'")).scalar()
        fab_site = s.execute(text("SELECT id FROM sites WHERE customer_id = :c"), {"c": fabrikam}).scalar()
        fab_order = s.execute(text("SELECT id FROM orders WHERE customer_id = :c"), {"c": fabrikam}).scalar()
        fab_contact = s.execute(text("SELECT id FROM contacts WHERE customer_id = :c"), {"c": fabrikam}).scalar()
        first_id = s.scalar(text("SELECT max(id) FROM incidents")) + 1
        first_message = (s.scalar(text("SELECT max(id) FROM incident_messages")) or 0) + 1
    template = templates[0]
    span = 5 * 365 * 86400
    started = time.perf_counter()
    chunk, mchunk = [], []
    message_id = first_message
    open_at = set(rng.sample(range(n), open_n))

    def flush() -> None:
        with db.transaction() as s:
            append_rows(s.connection(), incidents, chunk)
            if mchunk:
                append_rows(s.connection(), messages_t, mchunk)
        chunk.clear()
        mchunk.clear()

    for k in range(n):
        iid = first_id + k
        is_open = k in open_at
        opened = NOW - timedelta(seconds=rng.randint(60, 30 * 86400) if is_open else rng.randint(86400, span))
        due = opened + timedelta(hours=rng.randint(1, 48))
        row = dict(template)
        if rng.random() < 0.2:
            row.update(customer_id=fabrikam, site_id=fab_site, order_id=fab_order, contact_id=fab_contact)
        responded = opened + timedelta(minutes=rng.randint(5, 120)) if (not is_open or rng.random() < 0.5) else None
        row.update(
            id=iid,
            title=sentence(rng, 6)[:200],
            business_impact=sentence(rng, 12),
            description=sentence(rng, 30) if rng.random() < 0.5 else None,
            status="open" if is_open else "closed",
            opened_at=opened,
            target_started_at=opened,
            first_response_due=due,
            first_response_warn_at=due - timedelta(minutes=30),
            first_response_at=responded,
            warned_at=None,
            breached_at=None,
            mitigated_at=None if is_open else opened + timedelta(hours=5),
            closed_at=None if is_open else opened + timedelta(hours=6),
            created_at=opened,
            updated_at=opened,
            version=1,
            reply_token=f"{iid:032d}",
            previous_incident_id=None,
        )
        chunk.append(row)
        for j in range(messages):
            internal = rng.random() < 0.1
            mchunk.append(
                {
                    "id": message_id,
                    "customer_id": row["customer_id"],
                    "incident_id": iid,
                    "visibility": "internal" if internal else "public",
                    "from_customer": (not internal) and j % 2 == 1,
                    "channel": "web",
                    "author": "bench@provider.example",
                    "author_name": None,
                    "at": opened + timedelta(minutes=10 * (j + 1)),
                    "body": sentence(rng, rng.randint(15, 40)),
                    "recipients": None,
                    "communication_id": None,
                    "mail_message_id": None,
                    "in_reply_to": None,
                    "created_at": opened + timedelta(minutes=10 * (j + 1)),
                }
            )
            message_id += 1
        if len(chunk) >= 5000:
            flush()
    if chunk:
        flush()
    with db.engine.connect() as c:
        if db.engine.dialect.name == "postgresql":
            c.exec_driver_sql("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
            c.exec_driver_sql("SELECT setval('incident_messages_id_seq', (SELECT max(id) FROM incident_messages))")
            c.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def time_searches(db, runs: int) -> dict[tuple[str, str], tuple[float, float, int]]:
    from unisupport.services import search

    who = {
        "incident manager": principal(db, "im@provider.example"),
        "customer": principal(db, "marie.dupont@contoso.example"),
    }
    out = {}
    for role, p in who.items():
        for shape, q in QUERIES.items():
            times, found = [], 0
            for _ in range(runs):
                with db.reading() as s:
                    start = time.perf_counter()
                    found = len(search.search_incidents(s, p, q, limit=50))
                    times.append((time.perf_counter() - start) * 1000)
            out[(role, shape)] = (pct(times, 0.5), pct(times, 0.99), found)
    return out


def time_queue(db, runs: int) -> dict[str, tuple[float, float, int]]:
    from fastapi.testclient import TestClient

    from unisupport.api.app import create_app

    out = {}
    with TestClient(create_app(db)) as client:
        page = client.get("/sign-in").text
        csrf = re.search(r'name="(csrf[^"]*)" value="([^"]+)"', page)
        assert csrf, "no CSRF field on the sign-in page"
        form = {csrf.group(1): csrf.group(2), "email": "im@provider.example", "password": "correct horse battery"}
        signed = client.post("/sign-in", data=form, follow_redirects=False)
        assert signed.status_code == 303, signed.text[:300]
        for label, path in (
            ("default sort (next deadline)", "/queue"),
            ("sorted by engineer", "/queue?sort=-assignee"),
            ("searched by a word", "/queue?q=spooler"),
        ):
            times, rows = [], 0
            for _ in range(runs):
                start = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 200, r.text[:300]
                rows = r.text.count('data-testid="incident-row-')
            out[label] = (pct(times, 0.5), pct(times, 0.99), rows)
    return out


def bench(backend: str, n: int, open_n: int, messages: int, runs: int, creations: int) -> list[str]:
    from unisupport.storage.database import Database, make_engine

    tdb = TempDatabase(backend)
    lines = [f"## {backend}: {n:,} incidents ({open_n:,} open), {messages} messages each — {load()}"]
    try:
        prepare(tdb.url)
        db = Database(make_engine(tdb.url))
        with_t, without_t = write_cost(db, backend, creations)
        lines.append(
            f"creation through the service: {with_t:.2f} ms with the search trigger, {without_t:.2f} ms without "
            f"(median of {creations} each): the search adds {with_t - without_t:+.2f} ms"
        )
        seconds = bulk_load(db, n, open_n, messages)
        with db.reading() as s:
            entries = s.scalar(text("SELECT count(*) FROM incident_search"))
        lines.append(f"bulk load with the triggers: {seconds:.0f} s, {entries:,} search entries")
        target = 50 if backend == "postgresql" else None
        for (role, shape), (p50, p99, found) in time_searches(db, runs).items():
            mark = f"  {verdict(p99 <= target)} (p99 ≤ {target} ms)" if target else ""
            lines.append(f"search, {role}, {shape}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {found} hits{mark}")
        target = 100 if backend == "postgresql" else None
        for label, (p50, p99, rows) in time_queue(db, max(20, runs // 4)).items():
            mark = f"  {verdict(p99 <= target)} (p99 ≤ {target} ms)" if target else ""
            lines.append(f"queue page, {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rows} rows shown{mark}")
        db.engine.dispose()
    finally:
        tdb.drop()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=4)
    parser.add_argument("--sqlite-n", type=int, default=100_000)
    parser.add_argument("--sqlite-messages", type=int, default=2)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--creations", type=int, default=60)
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        n, messages = (args.n, args.messages) if backend == "postgresql" else (args.sqlite_n, args.sqlite_messages)
        for line in bench(backend, n, min(args.open, n), messages, args.runs, args.creations):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
