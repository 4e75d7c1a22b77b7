"""``unisupport mail-in``: mail to the support address becomes incident messages,
new incidents or recorded refusals (README, "Mail in").

Two ways in: polling the IMAP mailbox of ``UNISUPPORT_IMAP_URL`` (``--once``, or a
pass every ``--interval`` seconds), or one mail on standard input from an MTA's
pipe (``--stdin``), answering with the exit codes MTAs understand: 0 accepted
(handled, refused or seen before: recorded either way), 67 unknown recipient
(EX_NOUSER: the MTA bounces it), 75 temporary failure (EX_TEMPFAIL: the MTA keeps
the mail and tries again; ``--status`` says why)."""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta

import typer
from rich.console import Console

from unisupport.clock import SystemClock
from unisupport.errors import InvalidInput, UnisupportError
from unisupport.mail_in.imap import Mailbox, MailboxError
from unisupport.services.mail_intake import TemporaryFailure, poll, receive
from unisupport.mail_in.settings import IMAP_URL, MailInSettings, imap_endpoint
from unisupport.mail_in.thread import Refusal, is_our_address
from unisupport.services.mail_in import counts, failures
from unisupport.settings import Settings
from unisupport.storage.database import Database

EX_OK = 0
EX_NOUSER = 67
EX_TEMPFAIL = 75


def mail_in(
    stdin: bool = typer.Option(False, "--stdin", help="Read one mail on standard input (an MTA's pipe)."),
    recipient: str = typer.Option(
        "", "--recipient", help="With --stdin: the envelope recipient (Postfix: ${recipient})."
    ),
    once: bool = typer.Option(False, "--once", help="One pass over the IMAP mailbox, then exit."),
    interval: float = typer.Option(
        0, "--interval", min=0, help="Seconds between passes (UNISUPPORT_MAIL_POLL_SECONDS)."
    ),
    status: bool = typer.Option(False, "--status", help="List the mails that could not be handled, with the reason."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Try the failed mails of the mailbox again."),
) -> None:
    """Take in the mail sent to the support address (README, "Mail in")."""
    if stdin:
        raise typer.Exit(_stdin(recipient))
    settings = MailInSettings.from_env()
    database = Database.from_settings(Settings.from_env())
    console = Console(highlight=False, soft_wrap=True)
    if status:
        _status(database, console)
        return
    if not settings.imap_url:
        raise InvalidInput("set the mailbox to read (imaps://USER:PASSWORD@HOST/INBOX), or use --stdin", field=IMAP_URL)
    if retry_failed:
        with _mailbox(settings) as mailbox:
            console.print(f"{mailbox.retry_failed()} failed mails will be tried again")
    _poll(database, settings, console, once=once, interval=interval or settings.poll_seconds)


def _stdin(recipient: str) -> int:
    """One mail from an MTA: never a traceback, always an exit code it understands."""
    raw = sys.stdin.buffer.read()
    try:
        settings = MailInSettings.from_env()
        if recipient and not is_our_address(recipient, settings.reply_address):
            print(f"mail-in: {recipient} is not {settings.reply_address}", file=sys.stderr)
            return EX_NOUSER
        database = Database.from_settings(Settings.from_env())
        handled = receive(
            database,
            raw,
            source="stdin",
            settings=settings,
            clock=SystemClock(),
            bounce_unknown_token=True,
        )
    except (TemporaryFailure, UnisupportError) as exc:
        print(f"mail-in: temporary failure: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except Exception as exc:  # noqa: BLE001 - the MTA keeps the mail and tries again
        logging.getLogger(__name__).exception("mail-in --stdin")
        print(f"mail-in: temporary failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    if handled.outcome == "failed":
        print(f"mail-in: {handled.message_id} could not be handled: {handled.reason}", file=sys.stderr)
        return EX_TEMPFAIL
    if handled.refusal == Refusal.UNKNOWN_TOKEN.value:
        print(f"mail-in: {handled.reason}", file=sys.stderr)
        return EX_NOUSER
    print(f"mail-in: {handled.message_id} {handled.outcome}: {handled.reason}", file=sys.stderr)
    return EX_OK


def _mailbox(settings: MailInSettings) -> Mailbox:
    return Mailbox(imap_endpoint(settings.imap_url), done_folder=settings.imap_done_folder)


def _poll(database: Database, settings: MailInSettings, console: Console, *, once: bool, interval: float) -> None:
    clock = SystemClock()
    while True:
        try:
            with _mailbox(settings) as mailbox:
                if settings.imap_done_folder:
                    mailbox.ensure_folder(settings.imap_done_folder)
                report = poll(database, mailbox, settings=settings, clock=clock)
            if report.handled or once:
                console.print(f"{clock.now():%Y-%m-%d %H:%M:%S} {report.summary()}")
            if report.failed:
                console.print(f"{report.failed} could not be handled: `unisupport mail-in --status` says why")
        except (MailboxError, TemporaryFailure) as exc:
            console.print(f"{clock.now():%Y-%m-%d %H:%M:%S} temporary failure: {exc}")
            if once:
                raise typer.Exit(EX_TEMPFAIL) from None
        if once:
            return
        time.sleep(interval)


def _status(database: Database, console: Console) -> None:
    with database.reading() as session:
        day = counts(session, since=SystemClock().now() - timedelta(days=1))
        rows = [
            (
                f"{row.received_at:%Y-%m-%d %H:%M}",
                row.source + (f" {row.mailbox_uid}" if row.mailbox_uid else ""),
                row.sender or "-",
                row.subject or "-",
                row.message_id,
                str(row.attempts),
                row.reason,
            )
            for row in failures(session)
        ]
    console.print("Last 24 hours: " + (", ".join(f"{n} {outcome}" for outcome, n in sorted(day.items())) or "no mail"))
    if not rows:
        console.print("No mail is waiting: every mail was handled.")
        return
    # One block per mail, whole (no table cut to the terminal's width): operators grep it.
    console.print(f"Could not be handled ({len(rows)}; they stay in the mailbox, flagged):")
    for received, source, sender, subject, message_id, tries, reason in rows:
        console.print(f"- {received}  {source}  from {sender}", markup=False)
        console.print(f"  subject: {subject}", markup=False)
        console.print(f"  Message-ID: {message_id}  tries: {tries}", markup=False)
        console.print(f"  reason: {reason}", markup=False)
