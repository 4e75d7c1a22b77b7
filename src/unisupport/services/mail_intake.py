"""Taking mail in: one transaction per mail, and what happens when one fails.

:func:`receive` handles one mail (``services.mail_in.handle``) in its own
transaction. A mail whose handling raises is rolled back whole and noted as failed
in a second transaction (``record_failure``): it is listed by ``mail-in --status``
and tried again later (the MTA retries after exit 75; the mailbox keeps it
flagged). A database that cannot be reached raises :class:`TemporaryFailure`:
nothing was recorded, and the mail stays where it was.

:func:`poll` reads the IMAP mailbox in batches: fetch, handle and commit each
mail, then mark the batch (``imap``)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from unisupport.clock import Clock
from unisupport.mail_in.imap import Mailbox
from unisupport.mail_in.message import ParsedMail, parse, unreadable
from unisupport.mail_in.settings import MailInSettings
from unisupport.services.mail_in import Handled, handle, record_failure
from unisupport.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 50


class TemporaryFailure(Exception):
    """The database could not be reached: nothing was recorded, try again later."""


def receive(
    db: Database,
    raw: bytes,
    *,
    source: str,
    settings: MailInSettings,
    clock: Clock,
    mailbox_uid: str | None = None,
    bounce_unknown_token: bool = False,
) -> Handled:
    """Handle one mail, or record why it could not be (see the module)."""
    mail, unread = _parse(raw)
    if unread:
        return _failed(db, mail, source, clock, unread, mailbox_uid)
    for attempt in (1, 2):
        try:
            with db.transaction() as session:
                return handle(
                    session,
                    mail,
                    raw,
                    source=source,
                    settings=settings,
                    now=clock.now(),
                    mailbox_uid=mailbox_uid,
                    bounce_unknown_token=bounce_unknown_token,
                )
        except IntegrityError:
            # Another process claimed the same Message-ID meanwhile: the second
            # attempt finds its row (a duplicate), unless the error was something else.
            if attempt == 2:
                return _failed(db, mail, source, clock, "the database refused the mail twice", mailbox_uid)
        except OperationalError as exc:
            raise TemporaryFailure(f"the database cannot be used now: {exc.orig}") from None
        except Exception as exc:  # noqa: BLE001 - any other failure is this mail's, recorded, never lost
            log.exception("mail %s could not be handled", mail.message_id)
            return _failed(db, mail, source, clock, f"{type(exc).__name__}: {exc}", mailbox_uid)
    raise AssertionError("unreachable")


def _parse(raw: bytes) -> tuple[ParsedMail, str | None]:
    """The mail read, and why it could not be (parse() does not raise; should it,
    the mail is noted as failed under a Message-ID made from its bytes)."""
    try:
        return parse(raw), None
    except Exception as exc:  # noqa: BLE001
        log.exception("a mail could not be read")
        reason = f"the mail could not be read: {type(exc).__name__}: {exc}"
        return unreadable(raw), reason


def _failed(db: Database, mail: ParsedMail, source: str, clock: Clock, reason: str, mailbox_uid: str | None) -> Handled:
    try:
        with db.transaction() as session:
            return record_failure(session, mail, source=source, reason=reason, now=clock.now(), mailbox_uid=mailbox_uid)
    except (OperationalError, DBAPIError) as exc:
        raise TemporaryFailure(f"the failure could not be recorded: {exc}") from None


@dataclass
class PollReport:
    outcomes: Counter = field(default_factory=Counter)  # outcome -> mails
    duplicates: int = 0
    failed: int = 0
    seconds: float = 0.0
    durations: list[float] = field(default_factory=list)  # per mail, seconds

    @property
    def handled(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> str:
        parts = [f"{n} {outcome}" for outcome, n in sorted(self.outcomes.items())]
        if self.duplicates:
            parts.append(f"{self.duplicates} seen before")
        return f"{self.handled} mails ({', '.join(parts) or 'none'}) in {self.seconds:.1f} s"


def receive_batch(
    db: Database,
    mails: list[tuple[bytes, str | None]],
    *,
    source: str,
    settings: MailInSettings,
    clock: Clock,
    durations: list[float] | None = None,
) -> list[Handled]:
    """Handle several mails (bytes, mailbox key) in one transaction: one commit for
    the batch instead of one per mail. Should any of them raise, the whole batch is
    undone and its mails are taken one by one (:func:`receive`), so that the one
    that fails is recorded as failed and the others are handled all the same.
    ``durations`` receives each mail's handling time, in seconds."""
    parsed = [(raw, key, *_parse(raw)) for raw, key in mails]
    if not any(unread for *_rest, unread in parsed):
        try:
            with db.transaction() as session:
                results = []
                for raw, key, mail, _unread in parsed:
                    began = time.perf_counter()
                    results.append(
                        handle(session, mail, raw, source=source, settings=settings, now=clock.now(), mailbox_uid=key)
                    )
                    if durations is not None:
                        durations.append(time.perf_counter() - began)
            return results
        except OperationalError as exc:
            raise TemporaryFailure(f"the database cannot be used now: {exc.orig}") from None
        except Exception:  # noqa: BLE001 - one of them failed: each on its own, below
            log.info("a batch of %d mails failed: each is handled on its own", len(mails))
    return [receive(db, raw, source=source, settings=settings, clock=clock, mailbox_uid=key) for raw, key in mails]


def poll(
    db: Database,
    mailbox: Mailbox,
    *,
    settings: MailInSettings,
    clock: Clock,
    batch: int = BATCH,
    limit: int | None = None,
) -> PollReport:
    """One pass over the mailbox: every pending mail handled and marked, a batch at a
    time (see the module); ``limit`` stops after that many mails."""
    report = PollReport()
    started = time.perf_counter()
    uids = mailbox.pending()
    if limit is not None:
        uids = uids[:limit]
    for start in range(0, len(uids), batch):
        fetched = list(mailbox.fetch(uids[start : start + batch]))
        results = receive_batch(
            db,
            [(raw, mailbox.key(uid)) for uid, raw in fetched],
            source="imap",
            settings=settings,
            clock=clock,
            durations=report.durations,
        )
        done: list[str] = []
        failed: list[str] = []
        for (uid, _raw), result in zip(fetched, results, strict=True):
            if result.outcome == "failed" and not result.duplicate:
                failed.append(uid)
                report.failed += 1
            else:
                done.append(uid)
            report.duplicates += result.duplicate
            report.outcomes[result.outcome] += 1
        # Marked once committed: a crash before this leaves them unmarked, and the
        # next pass finds them handled (their Message-IDs), marks them, and does no more.
        mailbox.mark_handled(done)
        mailbox.mark_failed(failed)
    report.seconds = time.perf_counter() - started
    return report
