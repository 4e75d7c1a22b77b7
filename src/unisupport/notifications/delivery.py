"""The delivery worker's job: claim due notifications, render and send each, record
the outcome. Each step is its own short transaction, and none is open while SMTP
talks (see ``notifications.outbox`` for the at-least-once contract).

SQLite deployments run one worker; PostgreSQL deployments may run several."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from unisupport.clock import Clock
from unisupport.notifications.kinds import is_optional
from unisupport.notifications.mail_thread import thread_headers
from unisupport.notifications.mailer import WRITTEN_BY_PEOPLE, Mailer, MailFile, compose, mail_domain, render
from unisupport.notifications.outbox import (
    LEASE_SECONDS,
    MAX_ATTEMPTS,
    claim,
    claims_held,
    mark_failed,
    mark_sent,
    mark_withheld,
    message_id_for,
    retry_delay,
)
from unisupport.notifications.preferences import is_refused
from unisupport.notifications.signed_links import MailLinks
from unisupport.storage.blobs import BlobMissing, BlobStore
from unisupport.storage.database import Database

log = logging.getLogger(__name__)

# A row is not sent when less than this is left of its claim: another worker could
# take it over while SMTP is still talking.
SEND_MARGIN = timedelta(seconds=60)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # for good: a permanent error, or the attempts used up
    retried: int = 0  # back in the queue, with backoff
    withheld: int = 0  # optional mail its recipient refused after it was queued (R-COM-1)


@dataclass(frozen=True)
class _Claimed:
    """What the send needs of a claimed row: jobs carry values, not ORM objects."""

    id: int
    kind: str
    language: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    claimed_at: datetime
    subject_type: str = ""
    subject_id: int = 0
    headers: dict[str, str] | None = None
    attachments: list[dict[str, Any]] | None = None


def is_permanent(error: BaseException) -> bool:
    """Errors that another try cannot cure: the server refused this recipient or this
    message for good (5xx). Unreachable servers, timeouts, 4xx, and failures of the
    login or of the sender address (configuration, fixed by an operator) are retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False


def deliver_pending(
    database: Database,
    mailer: Mailer,
    *,
    worker: str,
    clock: Clock,
    limit: int = 100,
    lease_seconds: int = LEASE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
    blobs: BlobStore | None = None,
    links: MailLinks | None = None,
) -> DeliveryReport:
    """Send what is due, ``limit`` claims at a time, until nothing is left to claim.
    A bad template, a malformed payload, a missing attachment or an SMTP refusal
    fails that row (with the error recorded) and the loop goes on; only database
    errors stop it. ``blobs``: where the attachments rows refer to are read. The run's claims
    carry its claim key: while this process lives they are its own; if it dies, they are
    free at once (``notifications.outbox``). ``links``: how the optional mails' one-click
    unsubscribe and survey links are signed (R-COM-1, R-CSAT-1); by default from the
    environment (``MailLinks.from_env``), read when the first such mail is sent."""
    with claims_held(database.engine) as key:
        return _deliver_batches(
            database,
            mailer,
            worker=worker,
            clock=clock,
            limit=limit,
            lease_seconds=lease_seconds,
            max_attempts=max_attempts,
            claim_key=key,
            blobs=blobs,
            links=links,
        )


def _deliver_batches(
    database: Database,
    mailer: Mailer,
    *,
    worker: str,
    clock: Clock,
    limit: int,
    lease_seconds: int,
    max_attempts: int,
    claim_key: int | None,
    blobs: BlobStore | None,
    links: MailLinks | None,
) -> DeliveryReport:
    report = DeliveryReport()
    signing = _Links(links)
    lease = timedelta(seconds=lease_seconds)
    while True:
        with database.transaction() as session:
            claimed_at = clock.now()  # what claim() records on each row it takes
            batch = [
                _Claimed(
                    row.id,
                    row.kind,
                    row.language,
                    row.recipient,
                    dict(row.payload),
                    row.attempts,
                    row.created_at,
                    claimed_at,
                    row.subject_type,
                    row.subject_id,
                    dict(row.headers) if row.headers else None,
                    list(row.attachments) if row.attachments else None,
                )
                for row in claim(
                    session,
                    worker=worker,
                    now=claimed_at,
                    limit=limit,
                    lease_seconds=lease_seconds,
                    max_attempts=max_attempts,
                    claim_key=claim_key,
                )
            ]
        if not batch:
            return report
        for item in batch:
            if clock.now() >= item.claimed_at + lease - SEND_MARGIN:
                # Our claim on the rest of the batch is running out: leave those
                # rows to be taken over rather than risk two senders.
                return report
            _deliver(
                database,
                mailer,
                item,
                worker=worker,
                clock=clock,
                max_attempts=max_attempts,
                report=report,
                blobs=blobs,
                links=signing,
            )


class _Links:
    """The run's link signer, made from the environment only when an optional mail needs one."""

    def __init__(self, links: MailLinks | None):
        self._links = links

    def get(self) -> MailLinks:
        if self._links is None:
            self._links = MailLinks.from_env()
        return self._links


def optional_mail(links: MailLinks, item: _Claimed) -> tuple[dict[str, Any], dict[str, str]]:
    """What an optional mail carries on top of its payload (R-COM-1): its one-click
    unsubscribe link (RFC 8058 headers, and in the text), the preferences page, and for
    a survey its signed answer link (R-CSAT-1)."""
    unsubscribe = links.unsubscribe_url(item.recipient, item.kind)
    context: dict[str, Any] = {"unsubscribe_url": unsubscribe, "preferences_url": links.preferences_url()}
    if "survey_id" in item.payload and "expires_at" in item.payload:
        expires = datetime.fromisoformat(str(item.payload["expires_at"]))
        context["survey_url"] = links.survey_url(int(item.payload["survey_id"]), expires)
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return context, headers


def _withheld(database: Database, item: _Claimed, *, worker: str, report: DeliveryReport) -> bool:
    """Withhold an optional mail refused since it was queued (R-COM-1); True when it was."""
    with database.transaction() as session:
        if not is_refused(session, item.recipient, item.kind):
            return False
        if mark_withheld(
            session,
            item.id,
            worker=worker,
            reason=f"{item.recipient} refused {item.kind} mail after it was queued (R-COM-1)",
        ):
            report.withheld += 1
    return True


def _deliver(
    database: Database,
    mailer: Mailer,
    item: _Claimed,
    *,
    worker: str,
    clock: Clock,
    max_attempts: int,
    report: DeliveryReport,
    blobs: BlobStore | None = None,
    links: _Links | None = None,
) -> None:
    optional = is_optional(item.kind)
    if optional and _withheld(database, item, worker=worker, report=report):
        return
    try:
        extra: tuple[dict[str, Any], dict[str, str]] = ({}, {})
        if optional:
            extra = optional_mail((links or _Links(None)).get(), item)
        subject, body = render(item.kind, item.language, item.payload | extra[0])
        message = compose(
            message_id=message_id_for(item.id, item.created_at, mailer.mail_from),
            recipient=item.recipient,
            mail_from=mailer.mail_from,
            subject=subject,
            body=body,
            language=item.language,
            date=clock.now(),
            automatic=item.kind not in WRITTEN_BY_PEOPLE,
            headers=thread_headers(
                item.subject_type, item.subject_id, item.payload, item.headers, domain=mail_domain(mailer.mail_from)
            )
            | extra[1],
            files=_files(item, blobs),
        )
    except Exception as exc:  # noqa: BLE001 - a template, payload or attachment error: this row only, for good
        _failed(
            database,
            item,
            worker=worker,
            clock=clock,
            max_attempts=max_attempts,
            report=report,
            error=f"cannot render {item.kind}.{item.language}: {type(exc).__name__}: {exc}",
            retry_after=None,
        )
        return
    try:
        message_id = mailer.send(message)
    except Exception as exc:  # noqa: BLE001 - whatever SMTP raised, this row only; retried unless permanent
        retry_after = None if is_permanent(exc) else retry_delay(item.attempts)
        _failed(
            database,
            item,
            worker=worker,
            clock=clock,
            max_attempts=max_attempts,
            report=report,
            error=f"cannot send: {type(exc).__name__}: {exc}",
            retry_after=retry_after,
        )
        return
    with database.transaction() as session:
        mark_sent(session, item.id, message_id=message_id, now=clock.now())
    report.sent += 1


def _files(item: _Claimed, blobs: BlobStore | None) -> list[MailFile]:
    """The row's attachments, read from the blob store by their digests."""
    if not item.attachments:
        return []
    if blobs is None:
        raise BlobMissing("no blob store to read the attachments from")
    return [
        MailFile(a["filename"], a["content_type"], blobs.get(a["sha256"]), bool(a.get("inline")))
        for a in item.attachments
    ]


def _failed(
    database: Database,
    item: _Claimed,
    *,
    worker: str,
    clock: Clock,
    max_attempts: int,
    report: DeliveryReport,
    error: str,
    retry_after: timedelta | None,
) -> None:
    with database.transaction() as session:
        status = mark_failed(
            session,
            item.id,
            worker=worker,
            error=error,
            now=clock.now(),
            retry_after=retry_after,
            max_attempts=max_attempts,
        )
    if status == "failed":
        report.failed += 1
        log.error("%s; failed for good (unisupport outbox retry %s sends it again)", failure_line(item, error), item.id)
    elif status == "pending" and retry_after is not None:  # back in the queue: after a delay
        report.retried += 1
        next_try = clock.now() + retry_after
        log.warning(
            "%s; next try at %s", failure_line(item, error), f"{next_try.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        )


def failure_line(item: _Claimed, error: str) -> str:
    """Which mail, to whom and why, on one line (a server's reply may hold several)."""
    why = " ".join(error.split())
    return f"mail {item.id} ({item.kind}) to {item.recipient} not sent, attempt {item.attempts}: {why}"
