"""The worker adapter: one pass of the SLA watcher (in its own transaction) followed by
mail delivery from the outbox, the periodic satisfaction surveys
(``services.survey_sweep``), and the uploads no message carried within a day swept
(``services.conversation.sweep_uploads``). ``unisupport worker`` repeats it; tests
call it with a pinned clock."""

from __future__ import annotations

from unisupport.clock import Clock
from unisupport.notifications.delivery import DeliveryReport, deliver_pending
from unisupport.notifications.mailer import Mailer
from unisupport.notifications.signed_links import MailLinks
from unisupport.services import survey_sweep
from unisupport.services.conversation import sweep_uploads
from unisupport.services.incident_notifications import queue
from unisupport.services.watcher import WatchReport, sweep
from unisupport.storage.blobs import BlobStore
from unisupport.storage.database import Database


def run_once(
    database: Database,
    mailer: Mailer | None,
    *,
    clock: Clock,
    name: str,
    blobs: BlobStore | None = None,
    links: MailLinks | None = None,
    survey_interval_days: int | None = None,
) -> tuple[WatchReport, DeliveryReport | None]:
    """``blobs``: where attachments are read from (to mail them) and swept; ``links``:
    how optional mail's unsubscribe and survey links are signed (default: from the
    environment); ``survey_interval_days``: the periodic surveys' interval (default:
    ``UNISUPPORT_SURVEY_INTERVAL_DAYS``, R-CSAT-1)."""
    with database.transaction() as session:
        report = sweep(session, now=clock.now(), queue=queue)
    with database.transaction() as session:
        survey_sweep.sweep(session, now=clock.now(), interval=survey_interval_days)
    delivered = (
        deliver_pending(database, mailer, worker=name, clock=clock, blobs=blobs, links=links) if mailer else None
    )
    if blobs is not None:
        with database.transaction() as session:
            sweep_uploads(session, blobs, now=clock.now())
    return report, delivered
