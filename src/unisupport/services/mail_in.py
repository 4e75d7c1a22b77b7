"""Mail in, storage side: one inbound mail handled in the caller's transaction.

:func:`handle` claims the mail's Message-ID in ``inbound_mails`` first (a mail seen
before is not handled again: a second fetch, a redelivery, a restart after a crash),
gathers the facts the threading rules need (``mail_in.thread``), applies the
decision — a customer message on its incident (``services.conversation``), a
reopening, a new incident, or a refusal with at most one polite answer — and
records the outcome on the same row. A rule that refuses while the decision is
applied (no active order: R-ORD-2; a contact who may not open: R-ORD-4) undoes
what was written for it (a savepoint) and becomes the recorded refusal: never a
partial write. :func:`record_failure` notes, in a transaction of its own, a mail
that could not be handled at all, for ``mail-in --status``."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.catalog.product import default_products
from unisupport.errors import UnisupportError
from unisupport.incidents.communication import OpeningChannel
from unisupport.incidents.conversation import incident_id_in_subject
from unisupport.incidents.requests import IncidentIn
from unisupport.mail_in import automatic
from unisupport.mail_in.message import ParsedMail
from unisupport.mail_in.settings import MailInSettings
from unisupport.mail_in.thread import (
    ContactOf,
    Decision,
    Facts,
    Outcome,
    Refusal,
    Thread,
    decide,
    incident_title,
    reply_token,
    stated_severity,
)
from unisupport.notifications.outbox import enqueue
from unisupport.orders.order_file import OrderStatus
from unisupport.refusal import Refused
from unisupport.services import conversation, incidents
from unisupport.services.incident_notifications import incident_number
from unisupport.services.incidents.changes import add_event
from unisupport.services.incidents.opening import OPENING_ROLES
from unisupport.services.orders import current_document
from unisupport.storage.blobs import BlobStore
from unisupport.storage.tables import ContactRow, InboundMailRow, IncidentRow, OrderRow, SiteRow

ANSWER_KIND = "mail_in.refused"
REASON_LENGTH = 2000
IMPACT_LENGTH = 4000
# Opening by mail: the roles of OPENING_ROLES but the cloud administrators', who open
# through the cloud portal only (R-ORD-4).
MAIL_OPENING_ROLES = OPENING_ROLES - {"cloud-administrator"}
_FRENCH = re.compile(r"\b(?:bonjour|merci|cordialement|madame|monsieur|probl[èe]me|svp)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Handled:
    """What became of a mail: ``duplicate`` when its Message-ID was handled before
    (nothing was done again; ``outcome`` is the first handling's)."""

    inbound_id: int
    message_id: str
    outcome: str
    reason: str
    incident_id: int | None = None
    duplicate: bool = False
    answered: bool = False
    refusal: str | None = None  # thread.Refusal, when refused now


def handle(
    session: Session,
    mail: ParsedMail,
    raw: bytes,
    *,
    source: str,
    settings: MailInSettings,
    now: datetime,
    mailbox_uid: str | None = None,
    bounce_unknown_token: bool = False,
    blobs: BlobStore | None = None,
) -> Handled:
    """Handle one mail in the caller's transaction (see the module). ``blobs``: where
    its files go (default: ``settings.blob_dir``).
    ``bounce_unknown_token``: the MTA bounces a mail to an unknown reply address
    (``mail-in --stdin`` exits 67), so no answer of ours goes with it."""
    row = _claim(session, mail, source=source, now=now, mailbox_uid=mailbox_uid)
    if row.attempts > 0 and row.outcome != Outcome.FAILED.value:
        return _handled(row, duplicate=True)
    row.attempts += 1
    facts = _facts(session, mail, settings, now)
    decision = decide(facts)
    if decision.outcome is Outcome.REFUSED and decide(replace(facts, may_answer=True)).answer:
        # Whether the sender may be answered (one answer an hour) is read for refusals only.
        facts = replace(facts, may_answer=_may_answer(session, mail, settings, now))
        decision = decide(facts)
    c = _Context(settings, now, blobs or BlobStore(settings.blob_dir), facts.contacts)
    if decision.outcome in (Outcome.OPENED, Outcome.OPENED_LINKED, Outcome.REOPENED):
        # Rules may refuse half-way (R-ORD-2, R-ORD-4): what was written for it is undone.
        savepoint = session.begin_nested()
        try:
            written = _apply(session, decision, mail, raw, c)
            savepoint.commit()
        except UnisupportError as refusal:
            savepoint.rollback()
            decision = _refused_while_applying(decision, refusal, _may_answer(session, mail, settings, now))
            written = _Written(decision.incident_id, None, decision.customer_id)
    else:
        written = _apply(session, decision, mail, raw, c)
    row.outcome, row.reason, row.rule, row.via = (
        decision.outcome.value,
        _clip(decision.reason),
        decision.rule,
        decision.via,
    )
    row.incident_id, row.message_row_id = written.incident_id, written.message_id
    row.customer_id = written.customer_id or decision.customer_id
    row.updated_at = now
    if inspect(row).transient:  # claimed just now, not stored yet
        session.add(row)
    session.flush()
    if decision.answer and not (bounce_unknown_token and decision.refusal is Refusal.UNKNOWN_TOKEN):
        _answer(session, row, mail, decision, settings, now)
        session.flush()
    return _handled(row, refusal=decision.refusal)


def record_failure(
    session: Session,
    mail: ParsedMail,
    *,
    source: str,
    reason: str,
    now: datetime,
    mailbox_uid: str | None = None,
) -> Handled:
    """Note that ``mail`` could not be handled (in a transaction of its own, after
    the handling's was rolled back); a later attempt may still handle it."""
    row = _claim(session, mail, source=source, now=now, mailbox_uid=mailbox_uid)
    if row.attempts > 0 and row.outcome != Outcome.FAILED.value:
        return _handled(row, duplicate=True)  # handled meanwhile by another process
    row.attempts += 1
    row.outcome, row.reason, row.updated_at = Outcome.FAILED.value, _clip(reason), now
    if inspect(row).transient:  # claimed just now, not stored yet
        session.add(row)
    session.flush()
    return _handled(row)


def failures(session: Session, *, limit: int = 200) -> list[InboundMailRow]:
    """The mails that could not be handled, newest first (``mail-in --status``)."""
    return list(
        session.scalars(
            select(InboundMailRow)
            .where(InboundMailRow.outcome == Outcome.FAILED.value)
            .order_by(InboundMailRow.id.desc())
            .limit(limit)
        )
    )


def counts(session: Session, *, since: datetime) -> dict[str, int]:
    """How many mails had each outcome since ``since``."""
    rows = session.execute(
        select(InboundMailRow.outcome, func.count())
        .where(InboundMailRow.updated_at >= since)
        .group_by(InboundMailRow.outcome)
    )
    return {outcome: n for outcome, n in rows}


# ---------------------------------------------------------------- claiming
def _claim(
    session: Session, mail: ParsedMail, *, source: str, now: datetime, mailbox_uid: str | None
) -> InboundMailRow:
    """The mail's row: found and locked (attempts > 0), or new (attempts == 0, not
    yet added: it is inserted with its outcome, one statement). Two processes that
    take the same new mail at once both do the work, and the second one's insert
    fails on the unique Message-ID: its whole transaction is undone, and its next
    attempt finds the first one's row (``intake.receive``)."""
    row = session.scalar(select(InboundMailRow).where(InboundMailRow.message_id == mail.message_id).with_for_update())
    if row is not None:
        if mailbox_uid:
            row.mailbox_uid = mailbox_uid
        return row
    return InboundMailRow(
        message_id=mail.message_id,
        source=source,
        sender=mail.sender[:254],
        subject=mail.subject[:500],
        size=mail.size,
        sha256=mail.sha256,
        outcome=Outcome.FAILED.value,
        reason="being handled",
        mailbox_uid=mailbox_uid,
        attempts=0,
        received_at=now,
        updated_at=now,
    )


def _handled(row: InboundMailRow, *, duplicate: bool = False, refusal: Refusal | None = None) -> Handled:
    return Handled(
        inbound_id=row.id,
        message_id=row.message_id,
        outcome=row.outcome,
        reason=row.reason,
        incident_id=row.incident_id,
        duplicate=duplicate,
        answered=row.answered_at is not None and not duplicate,
        refusal=refusal.value if refusal else None,
    )


# ---------------------------------------------------------------- facts
def _facts(session: Session, mail: ParsedMail, settings: MailInSettings, now: datetime) -> Facts:
    """What the threading rules need, read in the order they use it: the thread the
    reply token names, else the one the References name, else the subject's; whether
    the sender may be answered is left False (``_may_answer`` reads it when needed)."""
    token = reply_token(mail.recipients, settings.reply_address)
    by_token = _thread(conversation.find_incident_by_reply_token(session, token)) if token else None
    by_references = None
    if by_token is None and mail.references:
        by_references = _thread(conversation.find_incident_by_message_ids(session, _thread_ids(mail)))
    number = incident_id_in_subject(mail.subject) if by_token is None and by_references is None else None
    too_large = None
    if mail.size > settings.max_bytes:
        biggest = max(mail.attachments, key=lambda a: len(a.data), default=None)
        too_large = f"the mail is {_mb(mail.size)}, over the {_mb(settings.max_bytes)} limit" + (
            f" (the attachment {biggest.filename!r} is {_mb(len(biggest.data))})" if biggest else ""
        )
    return Facts(
        now=now,
        sender=mail.sender,
        contacts=tuple(_contact_of(c) for c in _contacts(session, mail.sender)),
        token=token,
        by_token=by_token,
        by_references=by_references,
        by_subject=_thread(session.get(IncidentRow, number)) if number else None,
        automatic=automatic.automatic_reason(mail, own_addresses=settings.own_addresses),
        too_large=too_large,
        too_many_recipients=f"sent to {len(mail.recipients)} recipients"
        if len(mail.recipients) > automatic.MAX_RECIPIENTS
        else None,
        reopen_days=settings.reopen_days,
    )


def _may_answer(session: Session, mail: ParsedMail, settings: MailInSettings, now: datetime) -> bool:
    """One polite answer per sender per hour, never to what must not be answered."""
    if not mail.sender:
        return False
    no_answer = automatic.no_answer_reason(mail, automatic.automatic_reason(mail, own_addresses=settings.own_addresses))
    if no_answer:
        return False
    last = session.scalar(select(func.max(InboundMailRow.answered_at)).where(InboundMailRow.sender == mail.sender))
    return automatic.may_answer(None, last, now)


def _thread_ids(mail: ParsedMail) -> list[str]:
    """In-Reply-To first, then References from the newest (what the lookup expects)."""
    ids = [mail.in_reply_to] if mail.in_reply_to else []
    return ids + [i for i in reversed(mail.references) if i != mail.in_reply_to]


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _contacts(session: Session, sender: str) -> list[ContactRow]:
    """The sender's active designated contacts (one per customer at most)."""
    if not sender:
        return []
    return list(
        session.scalars(
            select(ContactRow).where(ContactRow.email == sender, ContactRow.active.is_(True)).order_by(ContactRow.id)
        )
    )


def _contact_of(contact: ContactRow) -> ContactOf:
    return ContactOf(contact.customer_id, contact.id, bool(set(contact.roles) & MAIL_OPENING_ROLES))


def _thread(incident: IncidentRow | None) -> Thread | None:
    if incident is None:
        return None
    return Thread(incident.id, incident.customer_id, incident.status, incident.closed_at)


# ---------------------------------------------------------------- applying
@dataclass(frozen=True)
class _Context:
    settings: MailInSettings
    now: datetime
    blobs: BlobStore
    contacts: tuple[ContactOf, ...]  # the sender's, already loaded


@dataclass(frozen=True)
class _Written:
    incident_id: int | None
    message_id: int | None
    customer_id: int | None


def _apply(session: Session, d: Decision, mail: ParsedMail, raw: bytes, c: _Context) -> _Written:
    """Carry out the decision; the incident and message written, if any."""
    now = c.now
    if d.outcome in (Outcome.REFUSED, Outcome.FAILED):
        return _Written(d.incident_id, None, None)
    if d.outcome is Outcome.IGNORED:
        if d.incident_id is None:
            return _Written(None, None, None)
        seen = session.get_one(IncidentRow, d.incident_id)
        add_event(session, seen, kind="automatic-mail", actor="mail-in", at=now, reason=d.reason)
        return _Written(seen.id, None, seen.customer_id)
    if d.outcome in (Outcome.OPENED, Outcome.OPENED_LINKED):
        opener = session.get_one(ContactRow, d.contact_id)
        incident = _open(session, d, mail, opener, c)
    else:
        # Locked by the conversation's recording (add_communication), like every change of an incident.
        incident = session.get_one(IncidentRow, d.incident_id)
        if d.outcome is Outcome.REOPENED:
            incidents.reopen(session, incident, actor=mail.sender, reason=d.reason, now=now)
    ids = [co.contact_id for co in c.contacts if co.customer_id == incident.customer_id]
    contact = session.get(ContactRow, ids[0]) if ids else None  # loaded with the facts: no query
    message = conversation.record_inbound_message(
        session,
        incident,
        sender_email=mail.sender,
        contact=contact,
        body=_body_with_notes(mail),
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=list(mail.references),
        received_at=now,
        attachments=list(mail.attachments),
        original_eml=raw,
        now=now,
        blobs=c.blobs,
        settings=c.settings.incident,
    )
    return _Written(incident.id, message.id, incident.customer_id)


def _body_with_notes(mail: ParsedMail) -> str:
    body = mail.body if mail.body.strip() else "(no text)"
    if mail.notes:
        body += "\n\n" + "\n".join(f"[{note}]" for note in mail.notes)
    return body


def _open(session: Session, d: Decision, mail: ParsedMail, contact: ContactRow, c: _Context) -> IncidentRow:
    """A new incident for the contact's customer (R-ORD-4), its severity stated by the
    subject or the configured default, to be confirmed by an engineer (R-SEV-1); one
    that follows up a closed incident is about the same product unless the subject
    names another."""
    now = c.now
    previous = session.get_one(IncidentRow, d.incident_id) if d.outcome is Outcome.OPENED_LINKED else None
    order, site = _order_and_site(session, contact)
    stated = stated_severity(mail.subject)
    severity = stated or c.settings.default_severity
    language = _language(mail, contact, site)
    data = IncidentIn(
        order=order.number,
        site=site.code,
        contact=contact.email,
        channel=OpeningChannel.EMAIL,
        product=_product(mail.subject, previous.product if previous else c.settings.product),
        severity=severity,
        title=incident_title(mail.subject, fallback="(sans objet)" if language == "fr" else "(no subject)"),
        business_impact=(mail.body.strip() or mail.subject or "(no text)")[:IMPACT_LENGTH],
        language=language,
    )
    opener = Principal(user_id=0, email=contact.email, role=Role.REACTIVE_CONTACT, customer_id=contact.customer_id)
    incident = incidents.open_incident(session, opener, data, now=now, settings=c.settings.incident)
    incident.severity_to_confirm = True
    said = "stated in the mail's subject" if stated else "the default for incidents opened by mail"
    add_event(
        session,
        incident,
        kind="severity-to-confirm",
        actor="mail-in",
        at=now,
        after={"severity": severity.value, "stated": stated is not None},
        reason=f"opened by mail at Severity {severity.value} ({said}): "
        "an engineer agrees the severity with the customer",
        rule="R-SEV-1",
    )
    if previous is not None:
        incident.previous_incident_id = previous.id
        add_event(
            session,
            incident,
            kind="follows-up",
            actor="mail-in",
            at=now,
            after={"incident": incident_number(previous.id)},
            reason=d.reason,
        )
        add_event(
            session,
            previous,
            kind="followed-up",
            actor="mail-in",
            at=now,
            after={"incident": incident_number(incident.id)},
            reason=f"the customer wrote again after the closure: {incident_number(incident.id)} follows it up",
        )
    session.flush()
    return incident


def _order_and_site(session: Session, contact: ContactRow) -> tuple[OrderRow, SiteRow]:
    """The customer's active order that serves the contact's site (else its latest
    active order, at its host site)."""
    orders = session.scalars(
        select(OrderRow)
        .where(OrderRow.customer_id == contact.customer_id, OrderRow.status == OrderStatus.ACTIVE.value)
        .order_by(OrderRow.id.desc())
    ).all()
    if not orders:
        raise Refused(
            "the customer has no active order: reactive support needs an active Base Package",
            rule="R-ORD-2",
            field="order",
        )
    site = session.get(SiteRow, contact.site_id) if contact.site_id else None
    if site is not None:
        for order in orders:
            if site.code in {s["id"] for s in current_document(session, order).get("sites", [])}:
                return order, site
    return orders[0], session.get_one(SiteRow, orders[0].host_site_id)


_WORD = re.compile(r"[\w.+#]+")


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower().replace("-", " "))) + " "


@cache
def _product_names() -> tuple[tuple[str, str], ...]:
    """Each product's code and names as words, longest first."""
    names = {(_words(name), p.code) for p in default_products() for name in (p.code, p.en, p.fr)}
    return tuple(sorted(((w, c) for w, c in names if len(w.strip()) > 3), key=lambda n: -len(n[0])))


def _product(subject: str, default: str) -> str:
    """The product the subject names (its code or its English or French name, as
    whole words; the longest name wins), else ``default``."""
    words = _words(subject)
    return next((code for name, code in _product_names() if name in words), default)


def _language(mail: ParsedMail, contact: ContactRow | None, site: SiteRow | None) -> str:
    for candidate in (contact.language if contact else None, mail.language, site.language if site else None):
        if candidate in ("en", "fr"):
            return candidate
    return "fr" if _FRENCH.search(f"{mail.subject} {mail.body[:2000]}") else "en"


def _refused_while_applying(decision: Decision, error: UnisupportError, may_answer: bool) -> Decision:
    """A rule refused while the decision was carried out: what was written for it is
    undone, and the mail is recorded as refused, with that rule."""
    if error.rule == "R-ORD-2":
        refusal = Refusal.NO_ACTIVE_ORDER
    elif decision.outcome in (Outcome.OPENED, Outcome.OPENED_LINKED):
        refusal = Refusal.MAY_NOT_OPEN
    else:
        refusal = Refusal.CLOSED
    return Decision(
        Outcome.REFUSED,
        f"{decision.outcome.value} refused: {error.message}",
        incident_id=decision.incident_id,
        via=decision.via,
        customer_id=decision.customer_id,
        refusal=refusal,
        answer=may_answer,
        rule=error.rule,
    )


# ---------------------------------------------------------------- the polite answer
def _answer(
    session: Session, row: InboundMailRow, mail: ParsedMail, d: Decision, settings: MailInSettings, now: datetime
) -> None:
    """The one answer a refused sender gets, saying how to reach support; at most one
    per sender per hour (``automatic.may_answer``, and the dedupe key per hour when
    two processes refuse the same sender at once)."""
    contact = session.scalar(select(ContactRow).where(ContactRow.email == mail.sender).order_by(ContactRow.id).limit(1))
    hour = int(now.timestamp()) // int(automatic.ANSWER_INTERVAL.total_seconds())
    queued = enqueue(
        session,
        kind=ANSWER_KIND,
        recipient=mail.sender,
        language=_language(mail, contact, None),
        subject_type="inbound_mail",
        subject_id=row.id,
        payload={
            "subject": mail.subject or "(no subject)",
            "sender": mail.sender,
            "reason": (d.refusal or Refusal.NOT_A_CONTACT).value,
            "reply_address": settings.reply_address,
            "portal_url": settings.portal_url,
        },
        dedupe_key=f"mail-in:answer:{mail.sender}:{hour}",
        not_before=now,
        customer_id=contact.customer_id if contact else None,
        now=now,
    )
    if queued is not None:
        row.answered_at = now


def _clip(text: str) -> str:
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"
