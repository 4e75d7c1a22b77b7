"""The worker adapter: one pass of the SLA watcher (in its own transaction) followed by
mail delivery from the outbox. ``unisupport worker`` repeats it; tests call it with a
pinned clock."""

from __future__ import annotations

from unisupport.clock import Clock
from unisupport.notifications.delivery import DeliveryReport, deliver_pending
from unisupport.notifications.mailer import Mailer
from unisupport.services.incident_notifications import queue
from unisupport.services.watcher import WatchReport, sweep
from unisupport.storage.database import Database


def run_once(
    database: Database, mailer: Mailer | None, *, clock: Clock, name: str
) -> tuple[WatchReport, DeliveryReport | None]:
    with database.transaction() as session:
        report = sweep(session, now=clock.now(), queue=queue)
    delivered = deliver_pending(database, mailer, worker=name, clock=clock) if mailer else None
    return report, delivered
