"""Mail written by programs, and the mail we must never answer (no mail loops).

:func:`automatic_reason` says why a mail was sent by a program rather than a
person: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``Precedence: bulk``,
``list`` or ``junk``, ``X-Autoreply`` / ``X-Autorespond``, a delivery or read
report (``multipart/report``, RFC 6522), a null or mailer-daemon sender (bounces),
an out-of-office subject, or our own mail coming back. Such a mail never opens an
incident, never reopens one and never counts as the customer's answer.

:func:`no_answer_reason` adds the mail nobody should answer automatically even when
a person wrote it: mailing lists (``List-Id``), ``noreply`` senders, mail sent to
a crowd. :func:`may_answer` applies the rest: at most one answer per sender per
hour."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from unisupport.mail_in.message import ParsedMail

ANSWER_INTERVAL = timedelta(hours=1)  # at most one automatic answer per sender in this time
MAX_RECIPIENTS = 50  # a mail to more people than this is a mass mailing, not an incident

_BOUNCE_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_NOREPLY = re.compile(r"^(?:no-?reply|do-?not-?reply|donotreply|noreply[-.+].*|bounces?(?:[-+.].*)?)$")
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto(?:matic)?[-\s]?reply|autoreply|auto\s*:"
    r"|r[ée]ponse\s+automatique|absence\s+du\s+bureau|absent(?:e)?\s+du\s+bureau|abwesenheitsnotiz"
    r"|automatische\s+antwort|respuesta\s+autom[áa]tica|undeliverable|undelivered\s+mail"
    r"|delivery\s+status\s+notification|mail\s+delivery\s+(?:failed|failure|system)|non\s+remis"
    r"|returned\s+mail|failure\s+notice)\b",
    re.IGNORECASE,
)


def automatic_reason(mail: ParsedMail, *, own_addresses: Iterable[str] = ()) -> str | None:
    """Why ``mail`` was sent by a program (see the module); None when a person sent it."""
    h = mail.headers
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto.split(';')[0].strip()}"
    precedence = h.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in h and h[name].strip().lower() not in ("no", "false", "0"):
            return f"{name.title()}: {h[name].strip()}"
    if mail.content_type == "multipart/report":
        return f"a {mail.report_type or 'delivery'} report (multipart/report)"
    if "x-failed-recipients" in h:
        return "a bounce (X-Failed-Recipients)"
    if "return-path" in h and h["return-path"].strip() in ("<>", ""):
        return "a bounce (empty Return-Path)"
    if not mail.sender:
        return "no sender address"
    local = mail.sender.partition("@")[0]
    if local in _BOUNCE_SENDERS:
        return f"a bounce ({local})"
    if _OUT_OF_OFFICE.match(mail.subject):
        return "an automatic reply (its subject)"
    if mail.sender in {a.lower() for a in own_addresses}:
        return "our own mail came back"
    return None


def no_answer_reason(mail: ParsedMail, automatic: str | None, *, max_recipients: int = MAX_RECIPIENTS) -> str | None:
    """Why no automatic answer may go to the sender of ``mail``; None when one may."""
    if automatic:
        return automatic
    if "list-id" in mail.headers or "list-unsubscribe" in mail.headers:
        return "a mailing-list mail"
    if _NOREPLY.match(mail.sender.partition("@")[0]):
        return "the sender does not read answers"
    if "x-auto-response-suppress" in mail.headers and re.search(
        r"\b(?:all|autoreply|oof)\b", mail.headers["x-auto-response-suppress"], re.IGNORECASE
    ):
        return "the sender asks for no automatic answer (X-Auto-Response-Suppress)"
    if len(mail.recipients) > max_recipients:
        return f"sent to {len(mail.recipients)} recipients"
    return None


def may_answer(no_answer: str | None, last_answer_at: datetime | None, now: datetime) -> bool:
    """One polite answer at most per sender per hour, never to a mail that must
    not be answered."""
    if no_answer:
        return False
    return last_answer_at is None or now - last_answer_at >= ANSWER_INTERVAL
