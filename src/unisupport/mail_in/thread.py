"""Where an inbound mail goes: the threading rules, as pure functions.

The service (``services.mail_in``) gathers the facts — the incident the reply
token names, the one the mail's References name, the one its subject's
``[#number]`` names, the sender's designated contacts, the last automatic answer
to the sender — and :func:`decide` applies the rules in order:

1. a mail written by a program (``automatic``) is recorded and ignored: it opens,
   reopens and answers nothing;
2. a mail to a crowd (over ``automatic.MAX_RECIPIENTS``) is refused, unanswered;
3. a mail over the size limit is refused;
4. the thread is the one the reply token names (``support+<token>@…`` in To, Cc
   or Delivered-To), else the one ``In-Reply-To``/``References`` name, else the
   one ``[#<number>]`` in the subject names — only when the sender is a designated
   contact of that incident's customer (a stranger cannot join a thread by
   guessing a number); a token that names nothing is refused rather than guessed
   around;
5. on an open or mitigated incident the mail is the customer's message; on a
   closed one it reopens the incident within ``reopen_days`` of its closure, and
   later opens a new incident linked to the old one;
6. a mail that matches nothing opens an incident when its sender is a designated
   contact who may open incidents (R-ORD-4), at the severity its subject states
   (``[Sev A]``, ``[Sévérité B]``) or the configured default — to be confirmed by
   an engineer (R-SEV-1); from anyone else it opens nothing and is refused, with
   one polite answer saying how to reach support (``automatic.may_answer``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum

from unisupport.incidents.conversation import reply_token_in
from unisupport.sla.severity import Severity


class Outcome(StrEnum):
    ATTACHED = "attached"  # a message on an open incident
    REOPENED = "reopened"  # a closed incident reopened, the message on it
    OPENED = "opened"  # a new incident, the message its first
    OPENED_LINKED = "opened-linked"  # a new incident linked to a closed one
    REFUSED = "refused"
    IGNORED = "ignored"  # automatic mail: recorded only
    FAILED = "failed"  # could not be handled (set by the service, not by decide)


class Refusal(StrEnum):
    """Why a mail was refused; the polite answer says it in the sender's words."""

    NOT_A_CONTACT = "not-a-contact"
    MAY_NOT_OPEN = "may-not-open"
    SEVERAL_CUSTOMERS = "several-customers"
    UNKNOWN_TOKEN = "unknown-token"
    TOO_LARGE = "too-large"
    MASS_MAILING = "mass-mailing"
    NO_ACTIVE_ORDER = "no-active-order"
    CLOSED = "closed"


@dataclass(frozen=True)
class Thread:
    """An incident a mail points to."""

    incident_id: int
    customer_id: int
    status: str  # open, mitigated, closed
    closed_at: datetime | None = None


@dataclass(frozen=True)
class ContactOf:
    """The sender as a designated contact of one customer."""

    customer_id: int
    contact_id: int
    may_open: bool  # holds a role that opens incidents by mail (R-ORD-4)


@dataclass(frozen=True)
class Facts:
    now: datetime
    sender: str
    contacts: tuple[ContactOf, ...] = ()  # active designated contacts with the sender's address
    token: str | None = None  # a reply token in the recipients
    by_token: Thread | None = None
    by_references: Thread | None = None
    by_subject: Thread | None = None  # [#number] in the subject, whoever sent it
    automatic: str | None = None  # automatic.automatic_reason
    may_answer: bool = False  # automatic.may_answer: the polite answer may go
    too_large: str | None = None
    too_many_recipients: str | None = None
    reopen_days: int = 7


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str
    incident_id: int | None = None  # joined, reopened, or (opened-linked) the closed one; ignored: the one matched
    via: str | None = None  # reply-token, references, subject
    customer_id: int | None = None  # where to open (opened, opened-linked)
    contact_id: int | None = None
    refusal: Refusal | None = None
    answer: bool = False  # send the one polite answer
    rule: str | None = None
    notes: tuple[str, ...] = field(default=())


def decide(f: Facts) -> Decision:
    """The rules of the module, in order."""
    if f.automatic:
        seen = f.by_token or f.by_references
        return Decision(
            Outcome.IGNORED,
            f"automatic mail ({f.automatic}): recorded, not answered",
            incident_id=seen.incident_id if seen else None,
        )
    if f.too_many_recipients:
        return _refuse(Refusal.MASS_MAILING, f"{f.too_many_recipients}: a mass mailing is not an incident", f, False)
    if f.too_large:
        return _refuse(Refusal.TOO_LARGE, f.too_large, f)
    thread, via = _thread(f)
    if thread is None and f.token is not None:
        return _refuse(Refusal.UNKNOWN_TOKEN, "the reply address names no incident", f)
    if thread is not None:
        return _on_thread(f, thread, via)  # type: ignore[arg-type]
    return _new(f)


def _thread(f: Facts) -> tuple[Thread | None, str | None]:
    if f.by_token is not None:
        return f.by_token, "reply-token"
    if f.by_references is not None:
        return f.by_references, "references"
    if f.by_subject is not None and any(c.customer_id == f.by_subject.customer_id for c in f.contacts):
        return f.by_subject, "subject"
    return None, None


def _on_thread(f: Facts, thread: Thread, via: str) -> Decision:
    if thread.status != "closed":
        return Decision(
            Outcome.ATTACHED, f"a message on incident {thread.incident_id} ({via})", thread.incident_id, via
        )
    contact = next((c for c in f.contacts if c.customer_id == thread.customer_id), None)
    if contact is None:
        return _refuse(
            Refusal.CLOSED,
            f"incident {thread.incident_id} is closed and {f.sender} is not a designated contact of its customer",
            f,
            rule="R-ORD-4",
            incident_id=thread.incident_id,
        )
    closed_at = thread.closed_at or f.now
    if f.now - closed_at <= timedelta(days=f.reopen_days):
        return Decision(
            Outcome.REOPENED,
            f"the customer answered within {f.reopen_days} days of the closure: incident {thread.incident_id} reopens",
            thread.incident_id,
            via,
            customer_id=thread.customer_id,
            contact_id=contact.contact_id,
        )
    if not contact.may_open:
        return _refuse(
            Refusal.MAY_NOT_OPEN,
            f"incident {thread.incident_id} closed over {f.reopen_days} days ago, and {f.sender} holds no role "
            "that opens incidents",
            f,
            rule="R-ORD-4",
            incident_id=thread.incident_id,
        )
    return Decision(
        Outcome.OPENED_LINKED,
        f"incident {thread.incident_id} closed over {f.reopen_days} days ago: a new incident is opened, linked to it",
        thread.incident_id,
        via,
        customer_id=thread.customer_id,
        contact_id=contact.contact_id,
    )


def _new(f: Facts) -> Decision:
    if not f.contacts:
        return _refuse(
            Refusal.NOT_A_CONTACT,
            f"{f.sender or 'the sender'} is not a designated contact: only designated contacts open incidents",
            f,
            rule="R-ORD-4",
        )
    openers = [c for c in f.contacts if c.may_open]
    if not openers:
        return _refuse(Refusal.MAY_NOT_OPEN, f"{f.sender} holds no role that opens incidents", f, rule="R-ORD-4")
    if len({c.customer_id for c in openers}) > 1:
        return _refuse(
            Refusal.SEVERAL_CUSTOMERS,
            f"{f.sender} is a designated contact of several customers: the mail cannot say for which one",
            f,
            rule="R-ORD-4",
        )
    contact = openers[0]
    return Decision(
        Outcome.OPENED,
        "a new mail from a designated contact opens an incident",
        customer_id=contact.customer_id,
        contact_id=contact.contact_id,
        rule="R-ORD-4",
    )


def _refuse(
    refusal: Refusal,
    reason: str,
    f: Facts,
    answer: bool = True,
    *,
    rule: str | None = None,
    incident_id: int | None = None,
) -> Decision:
    return Decision(
        Outcome.REFUSED,
        reason,
        incident_id=incident_id,
        refusal=refusal,
        answer=answer and f.may_answer,
        rule=rule,
    )


# ---------------------------------------------------------------- addresses and subjects
_SEVERITY = re.compile(r"\[\s*(?:sev|severity|s[ée]v[ée]rit[ée]|gravit[ée])\s*[:.]?\s*([1abc])\s*\]", re.IGNORECASE)
_NUMBER = re.compile(r"\[(?:#\s*\d{1,10}|INC-\d{1,10})\]", re.IGNORECASE)  # conversation.incident_id_in_subject's
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|r[ée]f|aw|sv|antw|wg|fwd?|tr|rv)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
TITLE_LENGTH = 200


def stated_severity(subject: str) -> Severity | None:
    """The severity a subject states: ``[Sev A]``, ``[Sev 1]``, ``[Severity B]``,
    ``[Sévérité B]``, ``[Gravité C]``; None when it states none."""
    found = _SEVERITY.search(subject or "")
    return Severity(found.group(1).upper()) if found else None


def incident_title(subject: str, *, fallback: str) -> str:
    """The title of an incident a mail opens: its subject without reply prefixes,
    severity marker or incident number; ``fallback`` when nothing is left."""
    title = _SEVERITY.sub(" ", subject or "")
    title = _NUMBER.sub(" ", title)
    title = " ".join(_REPLY_PREFIX.sub("", title).split())
    return (title or fallback)[:TITLE_LENGTH]


def reply_token(recipients: tuple[str, ...] | list[str], reply_address: str) -> str | None:
    """The token of the first ``local+<token>@domain`` among ``recipients``, for the
    reply address ``local@domain`` (``conversation.reply_token_in``); a plus address
    of ours whose token is not even well formed is returned as written, so that it is
    refused as naming no incident rather than taken for the plain address."""
    domain = "@" + parseaddr(reply_address)[1].rpartition("@")[2].lower()
    for address in recipients:
        local = address.strip().rpartition("@")[0]
        if "+" not in local or not address.lower().endswith(domain):
            continue  # most recipients: not a plus address of ours, no need to parse it
        token = reply_token_in(address, reply_address)
        if token:
            return token
        if is_our_address(address, reply_address):
            return local.partition("+")[2] or None
    return None


def is_our_address(address: str, reply_address: str) -> bool:
    """``address`` is the reply address, with or without a ``+token``."""
    local, _, domain = parseaddr(reply_address)[1].rpartition("@")
    their_local, _, their_domain = parseaddr(address)[1].rpartition("@")
    return (
        bool(local)
        and their_local.partition("+")[0].lower() == local.lower()
        and their_domain.lower() == domain.lower()
    )
