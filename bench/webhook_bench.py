"""Webhook benchmark (issue 11, docs/webhooks.md): events fanned out to subscriptions on
PostgreSQL, delivered by a real ``unisupport worker`` process to a real local receiver
that verifies every signature, with a kill -9 of the worker midway.

    python bench/webhook_bench.py [--events 10000] [--subscriptions 100] [--customers 10]
                                  [--incidents 1000] [--kill-at 0.5]

Needs UNISUPPORT_BENCH_POSTGRES_URL or UNISUPPORT_TEST_POSTGRES_URL (bench/throwaway.py).

Setup: a throw-away database with ``--customers`` customers and ``--subscriptions``
subscriptions to ``incident.updated`` (subscription i for customer i mod customers,
each with its own secret and path on the receiver). Event n is about incident
n mod ``--incidents`` of customer (incident mod customers): each event reaches the
subscriptions of its customer, in order per incident.

Measured: this process publishes the events through ``notifications.webhooks.publish``
(in transactions of 100, as the services do, timed: events/s) while ``unisupport
worker`` delivers them; when ``--kill-at`` of the deliveries have arrived the worker
is killed with SIGKILL and a second ``unisupport worker --once`` delivers the rest.
Reported: deliveries per second (first arrival to last), p50/p99 from the event's
creation to its verified arrival, lost (an expected webhook-id that never arrived),
duplicates (two webhook-ids for one event and subscription, or one webhook-id for two),
the re-sends of one webhook-id after the kill (at least once: a receiver de-duplicates
them), the order per incident and subscription, and bad signatures.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from sqlalchemy import func, select  # noqa: E402
from throwaway import Throwaway, git_revision, load, verdict  # noqa: E402

from unisupport.cli.webhook_receiver import Receiver, receiving  # noqa: E402
from unisupport.notifications.webhooks import publish  # noqa: E402
from unisupport.services.webhooks import new_secret  # noqa: E402
from unisupport.storage.database import Database, make_engine, migrate  # noqa: E402
from unisupport.storage.tables import (  # noqa: E402
    CustomerRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionEventRow,
    WebhookSubscriptionRow,
)


def setup(database: Database, receiver: Receiver, customers: int, subscriptions: int) -> list[int]:
    now = datetime.now(UTC)
    with database.transaction() as session:
        rows = [CustomerRow(code=f"bench-{i}", name=f"Bench {i}", created_at=now) for i in range(customers)]
        session.add_all(rows)
        session.flush()
        ids = [c.id for c in rows]
        for i in range(subscriptions):
            secret = new_secret()
            receiver.secrets[f"/s{i}"] = secret
            sub = WebhookSubscriptionRow(
                customer_id=ids[i % customers], url=f"{receiver.url}/s{i}", description="", internal=False,
                secret=secret, owner_email="bench@provider.example", owner_language="en", created_by="bench",
                created_at=now, active=True, failures_in_a_row=0,
            )  # fmt: skip
            session.add(sub)
            session.flush()
            session.add(WebhookSubscriptionEventRow(subscription_id=sub.id, event_type="incident.updated"))
    return ids


def publish_all(database: Database, customers: list[int], events: int, incidents: int, timing: dict) -> None:
    started = time.perf_counter()
    for first in range(0, events, 100):
        with database.transaction() as session:
            now = datetime.now(UTC)
            for n in range(first, min(first + 100, events)):
                incident = n % incidents + 1
                data = {"incident": {"id": incident, "sequence": n}, "change": {"status": ["open", "mitigated"]}}
                publish(
                    session, "incident.updated", customer_id=customers[incident % len(customers)], data=data,
                    now=now, incident_id=incident,
                )  # fmt: skip
    timing["publish"] = time.perf_counter() - started


def worker(url: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, UNISUPPORT_DATABASE_URL=url, UNISUPPORT_WEBHOOK_ALLOW_PRIVATE="127.0.0.1")
    env["PYTHONPATH"] = str(ROOT / "src")
    command = [sys.executable, "-m", "unisupport.cli.main", "worker", "--interval", "0.5", "--name", "bench", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--kill-at", type=float, default=0.5)
    options = parser.parse_args()
    db = Throwaway("postgresql", prefix="unisupport-webhook-bench-")
    try:
        database = Database(make_engine(db.url))
        migrate(database.engine)
        with receiving(Receiver()) as receiver:
            customers = setup(database, receiver, options.customers, options.subscriptions)
            timing: dict[str, float] = {}
            publisher = threading.Thread(
                target=publish_all, args=(database, customers, options.events, options.incidents, timing)
            )
            first = worker(db.url)
            publisher.start()
            expected = None
            killed_at = 0
            while True:
                time.sleep(0.2)
                if expected is None and not publisher.is_alive():
                    with database.reading() as session:
                        expected = session.scalar(select(func.count()).select_from(WebhookDeliveryRow))
                target = expected or options.events * options.subscriptions // options.customers
                if len(receiver.accepted) >= options.kill_at * target:
                    first.send_signal(signal.SIGKILL)
                    first.wait()
                    killed_at = len(receiver.accepted)
                    break
            publisher.join()
            with database.reading() as session:
                expected = session.scalar(select(func.count()).select_from(WebhookDeliveryRow))
            second = worker(db.url, "--once")
            second.wait(timeout=3600)
            time.sleep(0.5)
        return report(database, receiver, options, timing, expected or 0, killed_at, db)
    finally:
        db.drop()


def report(database, receiver, options, timing, expected, killed_at, db) -> int:  # noqa: C901 — one report
    with database.reading() as session:
        rows = session.execute(
            select(
                WebhookDeliveryRow.event_id, WebhookDeliveryRow.subscription_id, WebhookDeliveryRow.status,
                WebhookEventRow.key, WebhookEventRow.created_at, WebhookEventRow.incident_id,
            ).join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
        ).all()  # fmt: skip
        statuses = Counter(r.status for r in rows)
    from unisupport.notifications.webhooks import webhook_id

    wanted = {webhook_id(r.key, r.event_id, r.subscription_id): r for r in rows}
    arrivals = Counter(r.webhook_id for r in receiver.accepted)
    first_arrival = {}
    for r in receiver.accepted:
        first_arrival.setdefault(r.webhook_id, r)
    lost = [i for i in wanted if i not in arrivals]
    strangers = [i for i in arrivals if i not in wanted]
    resent = sum(n - 1 for n in arrivals.values() if n > 1)
    # One id per (event, subscription): the payload's sequence and path name the pair.
    pairs = defaultdict(set)
    for r in receiver.accepted:
        pairs[(r.payload["data"]["incident"]["sequence"], r.path)].add(r.webhook_id)
    two_ids = sum(1 for ids in pairs.values() if len(ids) > 1)
    latencies = sorted(first_arrival[i].at - wanted[i].created_at.timestamp() for i in wanted if i in first_arrival)
    times = [r.at for r in first_arrival.values()]
    span = max(times) - min(times) if times else 0.0
    # Order per incident and subscription: the sequence numbers, in arrival order, rise.
    order_broken = 0
    last: dict[tuple[int, str], int] = {}
    for r in sorted(first_arrival.values(), key=lambda r: r.at):
        key = (r.payload["data"]["incident"]["id"], r.path)
        seq = r.payload["data"]["incident"]["sequence"]
        if last.get(key, -1) > seq:
            order_broken += 1
        last[key] = max(last.get(key, -1), seq)
    print(f"webhook benchmark on PostgreSQL · {git_revision(ROOT)} · {load()}")
    print(
        f"{options.events} events, {options.subscriptions} subscriptions over {options.customers} customers, "
        f"{options.incidents} incidents: {expected} deliveries"
    )
    published = timing.get("publish", 0.0)
    print(f"published in {published:.1f} s ({options.events / max(published, 1e-9):.0f} events/s, while delivering)")
    print(
        f"deliveries: {len(first_arrival)} arrived in {span:.1f} s = "
        f"{len(first_arrival) / max(span, 1e-9):.0f} per second"
    )
    if latencies:
        p50 = statistics.median(latencies)
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        worst = latencies[-1]
        print(
            f"change to verified arrival: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms"
        )
    print(f"worker killed (SIGKILL) after {killed_at} arrivals; the second worker delivered the rest")
    print(f"statuses in the database: {dict(statuses)}")
    print(f"lost: {len(lost)} · unknown ids: {len(strangers)} · two ids for one delivery: {two_ids}")
    print(f"re-sent with the same webhook-id after the kill (de-duplicated by the receiver): {resent}")
    print(f"order per incident and subscription broken: {order_broken} · bad signatures: {receiver.bad_signatures}")
    passed = not lost and not strangers and not two_ids and not order_broken and not receiver.bad_signatures
    passed = passed and statuses.get("delivered", 0) == expected
    print(verdict(passed))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
