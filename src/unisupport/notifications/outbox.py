"""The notification outbox, storage side: queue, hold, claim, settle — and, for the
operator, what is waiting or failing and why (``waiting``, ``backlog``) and making it
due again (``retry``).

**Queued with the change it announces.** ``enqueue`` only adds and flushes, inside
the caller's transaction: a notification exists exactly when the change that
caused it was committed. The ``dedupe_key`` is unique and the insert is
``INSERT … ON CONFLICT (dedupe_key) DO NOTHING`` on both databases, so the same
notification queued twice (a watcher run repeated, two watchers racing) is one row,
and a concurrent duplicate never raises.

**Held.** A row waits until ``not_before``. Customer notifications about
business-hours incidents (severity B and C, R-SEV-3/R-SEV-4) are held until the
site's next opening (``customer_not_before``), and the row remembers the site
(``business_hours_site_id``): when a worker claims it outside that site's hours —
a retry, or a backlog after the worker was down overnight — it is put back until the
next opening instead of being sent. No reminder is e-mailed at midnight
(the failure of Zammad #4432).

**Claimed, then sent, then settled: at least once, recognisably the same.** A worker
claims due rows in one short transaction (``status = sending``, ``claimed_by``,
``claimed_at``; on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent
workers take disjoint rows; on SQLite every transaction is ``BEGIN IMMEDIATE``, so
claims are serialised — SQLite deployments run one worker all the same), commits
the claim, sends over SMTP, and records the outcome in another short transaction.

**A dead worker's claims are free at once** (not after the lease). Each delivery run
draws a random ``claim_key`` and stamps its claims with it. On PostgreSQL the run
holds a session advisory lock on that key, on a connection of its own, for as long as
it runs (``claims_held``); when its process dies, the server drops the connection and
the lock with it, and the next claim by any worker sees the key unlocked
(``pg_try_advisory_xact_lock_shared``) and takes the rows over. On SQLite, where one
worker runs, a worker takes back the claims still under its own name when it claims:
a run settles or leaves every row it claimed before it claims again, so such a claim
is a dead predecessor's. The lease (``LEASE_SECONDS``) stays for the rest: a worker
alive but stuck, claims made without a key. At most the one mail in flight at the
death is sent twice.

The SMTP exchange and the database commit cannot be one atomic step. If the worker
dies after the server accepted the message (its reply to DATA) and before
``mark_sent`` commits, the row stays ``sending``; once its worker is known to be gone
(or its claim is older than the lease), another worker takes it over and sends it
again. Delivery is therefore
*at least once*, and the duplicate window is only that gap between the acceptance of
DATA and the commit of ``mark_sent`` (milliseconds, unless the worker crashes or
loses the database right then). Every send of a row carries the same Message-ID,
derived from the row (``message_id_for``: ``<outbox-42.1796035500@example.com>``),
so a re-send is the same message to the receiving side: mail stores and clients
that de-duplicate by Message-ID (Gmail, Exchange/Outlook, IMAP clients) show it
once, and a human sees one thread entry. We chose this over "at most once"
(marking sent before sending), which would silently lose a breach notification
whenever a worker dies mid-send: a duplicate alert is a nuisance, a lost one is a
missed escalation.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from unisupport.errors import InvalidInput, NotFound
from unisupport.notifications.kinds import is_optional
from unisupport.notifications.mailer import has_template, mail_domain
from unisupport.notifications.preferences import is_refused
from unisupport.notifications.wording import LANGUAGES
from unisupport.sla.calendar import Calendar
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.base import Document, UTCDateTime
from unisupport.storage.bulk import append_rows
from unisupport.storage.tables import AuditEvent, OutboxRow, SiteRow

LEASE_SECONDS = 600  # a claim older than this is taken over even when its worker seems alive (stuck)
MAX_ATTEMPTS = 8  # sends tried before a row is failed: about two hours of backoff
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
ERROR_LENGTH = 2000


def customer_not_before(calendar: Calendar, at: datetime) -> datetime:
    """When a customer notification about a business-hours incident may go out:
    ``at`` itself while the site is open, else the site's next opening (a breach at
    23:00 on a Friday in Paris is told on Monday at 09:00)."""
    return calendar.next_opening(at)


def message_id_for(outbox_id: int, created_at: datetime, mail_from: str) -> str:
    """The Message-ID of every send of one outbox row. Stable across re-sends (it
    depends on the row only), and unique across databases in practice: the creation
    second tells apart two rows numbered 42 in two databases (staging and production,
    or before and after a restore), which a receiving side would otherwise merge."""
    return f"<outbox-{outbox_id}.{int(created_at.timestamp())}@{mail_domain(mail_from)}>"


def outbox_id_in(message_id: str) -> tuple[int, int] | None:
    """``(outbox id, creation second)`` of a Message-ID made by :func:`message_id_for`
    (whatever its domain), or None: how a reply's ``In-Reply-To`` finds the row it
    answers."""
    found = _MESSAGE_ID.fullmatch(message_id.strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


_MESSAGE_ID = re.compile(r"^<outbox-(\d{1,12})\.(\d{1,12})@[^<>@\s]+>$")


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed send: 1, 2, 4, 8 … minutes, at most an hour."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def _check_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise InvalidInput("the payload is a mapping of field names to strings and numbers", field="payload")
    for key, value in payload.items():
        if not isinstance(key, str):
            raise InvalidInput(f"payload field names are strings, not {key!r}", field="payload")
        if value is not None and not isinstance(value, (str, int, float)):
            hint = " (give instants as ISO strings with an offset)" if isinstance(value, datetime) else ""
            raise InvalidInput(
                f"payload field {key!r} is a {type(value).__name__}: strings and numbers only{hint}",
                field=f"payload.{key}",
            )
    return dict(payload)


def check_recipient(recipient: str) -> str:
    local, at, domain = recipient.rpartition("@")
    if not at or not local or not domain or any(c.isspace() or c in "<>,;" for c in recipient):
        raise InvalidInput(f"{recipient!r} is not an e-mail address", field="recipient")
    return recipient


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    language: str,
    subject_type: str,
    subject_id: int,
    payload: Mapping[str, Any],
    dedupe_key: str,
    not_before: datetime,
    customer_id: int | None,
    now: datetime,
    business_hours_site_id: int | None = None,
    headers: Mapping[str, str] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> int | None:
    """Queue a notification in the caller's transaction and return its id; None when
    one with this ``dedupe_key`` is already queued (whatever its status).
    ``business_hours_site_id`` keeps every send attempt inside that site's business
    hours (customer notifications about business-hours incidents; pair it with
    ``not_before=customer_not_before(calendar, now)``). ``headers``: the mail's own
    ``Reply-To``, ``In-Reply-To``, ``References``; ``attachments``: files by
    reference to the blob store (``sha256``, ``filename``, ``content_type``, ``size``,
    ``inline``), never their bytes. An optional kind of mail the recipient refused
    (R-COM-1: ``notifications.preferences``) is not queued: None as well."""
    if is_refused(session, recipient, kind):
        return None
    values = _row(
        Notification(
            kind,
            recipient,
            language,
            subject_type,
            subject_id,
            payload,
            dedupe_key,
            not_before,
            customer_id,
            business_hours_site_id,
            headers,
            attachments,
        ),
        now,
    )
    # On the session's connection (Core): no ORM bulk-insert machinery for one row.
    return session.connection().execute(_enqueue_statement(session), values).scalar_one_or_none()


_ENQUEUE: dict[str, Any] = {}


def _enqueue_statement(session: Session):
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING RETURNING id``, built once per
    database kind (an incident's opening queues its acknowledgement with it)."""
    name = session.get_bind().dialect.name
    if name not in _ENQUEUE:
        _ENQUEUE[name] = (
            insert_for(session).on_conflict_do_nothing(index_elements=[OutboxRow.dedupe_key]).returning(OutboxRow.id)
        )
    return _ENQUEUE[name]


@dataclass(frozen=True)
class Notification:
    """One notification to queue (the arguments of ``enqueue``)."""

    kind: str
    recipient: str
    language: str
    subject_type: str
    subject_id: int
    payload: Mapping[str, Any]
    dedupe_key: str
    not_before: datetime
    customer_id: int | None
    business_hours_site_id: int | None = None
    headers: Mapping[str, str] | None = None
    attachments: list[dict[str, Any]] | None = None


def insert_for(session: Session):
    """``INSERT`` into the outbox with the database's ``ON CONFLICT`` clause."""
    return postgresql_insert(OutboxRow) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(OutboxRow)


def _row(n: Notification, now: datetime) -> dict[str, Any]:
    _check_language(n.language)
    if not has_template(n.kind, n.language):
        raise InvalidInput(f"no {n.language} template for notifications of kind {n.kind!r}", field="kind")
    if not n.dedupe_key:
        raise InvalidInput("a notification needs a dedupe key", field="dedupe_key")
    return {
        "customer_id": n.customer_id,
        "kind": n.kind,
        "recipient": check_recipient(n.recipient),
        "language": n.language,
        "subject_type": n.subject_type,
        "subject_id": n.subject_id,
        "payload": _check_payload(n.payload),
        "dedupe_key": n.dedupe_key,
        "not_before": n.not_before,
        "business_hours_site_id": n.business_hours_site_id,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "headers": _check_headers(n.headers),
        "attachments": _check_attachments(n.attachments),
    }


MAIL_HEADERS = ("Reply-To", "In-Reply-To", "References")
ATTACHMENT_FIELDS = {"sha256": str, "filename": str, "content_type": str, "size": int, "inline": bool}


def _check_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    if not headers:
        return None
    for name, value in headers.items():
        if name not in MAIL_HEADERS:
            raise InvalidInput(f"a notification sets only {', '.join(MAIL_HEADERS)}, not {name!r}", field="headers")
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise InvalidInput(f"header {name} is one line of text", field=f"headers.{name}")
    return dict(headers)


def _check_attachments(attachments: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not attachments:
        return None
    for i, item in enumerate(attachments):
        if set(item) != set(ATTACHMENT_FIELDS) or any(
            not isinstance(item[k], kind) for k, kind in ATTACHMENT_FIELDS.items()
        ):
            raise InvalidInput(
                f"an attachment is referenced by {', '.join(ATTACHMENT_FIELDS)}", field=f"attachments[{i}]"
            )
    return [dict(item) for item in attachments]


@dataclass(slots=True)
class Fanout:
    """One notification to every member of an ``audience`` (a key of the audiences
    given to ``enqueue_fanout``), or to the one ``recipient`` in ``language`` when
    ``audience`` is None. Its rows' dedupe keys are
    ``{subject_type}:{subject_id}:{kind}{key_suffix}:{recipient}``."""

    kind: str
    subject_type: str
    subject_id: int
    customer_id: int | None
    payload: Mapping[str, Any]
    not_before: datetime
    audience: str | None = None
    recipient: str | None = None
    language: str | None = None
    business_hours_site_id: int | None = None
    key_suffix: str = ""


_STAGING = MetaData()
# Per-transaction staging of a fan-out (created, filled, read and dropped inside one
# call): the notifications, and who each audience is.
_FANOUT = Table(
    "outbox_fanout",
    _STAGING,
    Column("kind", String(64), nullable=False),
    Column("audience", String(200)),
    Column("recipient", String(254)),
    Column("language", String(2)),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", Integer, nullable=False),
    Column("customer_id", Integer),
    Column("payload", Document, nullable=False),
    Column("key_suffix", String(100), nullable=False),
    Column("not_before", UTCDateTime(), nullable=False),
    Column("business_hours_site_id", Integer),
    prefixes=["TEMPORARY"],
)
_AUDIENCE = Table(
    "outbox_audience",
    _STAGING,
    Column("audience", String(200), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("language", String(2), nullable=False),
    prefixes=["TEMPORARY"],
)


def _members(audiences: Mapping[str, list[tuple[str, str]]]) -> list[dict[str, Any]]:
    """Every member of every audience, their addresses and languages checked."""
    members: list[dict[str, Any]] = []
    for key, people in audiences.items():
        for recipient, language in people:
            _check_language(language)
            members.append({"audience": key, "recipient": check_recipient(recipient), "language": language})
    return members


def _staged(
    notifications: list[Fanout], audiences: Mapping[str, list[tuple[str, str]]], members: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The staging rows of the notifications, once each is checked: its audience or
    its one recipient, a template in every language it goes out in, its payload."""
    languages_of: dict[str, set[str]] = {}
    for member in members:
        languages_of.setdefault(member["audience"], set()).add(member["language"])
    # Each distinct recipient, template and payload is checked once (the notifications
    # hold their payloads for the whole call, so ids are stable keys here).
    templates: set[tuple[str, str]] = set()
    recipients: set[str] = set()
    payloads: dict[int, dict[str, Any]] = {}
    staged: list[dict[str, Any]] = []
    for n in notifications:
        if is_optional(n.kind):  # each recipient's refusal is checked: queued one by one (enqueue)
            raise InvalidInput(f"{n.kind} mail is optional (R-COM-1): queue it with enqueue", field="kind")
        if n.audience is None:
            if n.recipient is None or n.language is None:
                raise InvalidInput(
                    "a notification goes to an audience or to one recipient in a language", field="recipient"
                )
            if n.recipient not in recipients:
                recipients.add(check_recipient(n.recipient))
            used = {_check_language(n.language)}
        elif n.audience not in audiences:
            raise InvalidInput(f"no audience {n.audience!r}", field="audience")
        else:
            used = languages_of.get(n.audience, set())
        for language in used:
            if (n.kind, language) not in templates:
                if not has_template(n.kind, language):
                    raise InvalidInput(f"no {language} template for notifications of kind {n.kind!r}", field="kind")
                templates.add((n.kind, language))
        staged.append(
            {
                "kind": n.kind,
                "audience": n.audience,
                "recipient": n.recipient,
                "language": n.language,
                "subject_type": n.subject_type,
                "subject_id": n.subject_id,
                "customer_id": n.customer_id,
                "payload": payloads.get(id(n.payload)) or payloads.setdefault(id(n.payload), _check_payload(n.payload)),
                "key_suffix": n.key_suffix,
                "not_before": n.not_before,
                "business_hours_site_id": n.business_hours_site_id,
            }
        )
    return staged


def enqueue_fanout(
    session: Session, notifications: list[Fanout], audiences: Mapping[str, list[tuple[str, str]]], *, now: datetime
) -> int:
    """Queue many notifications, each to a whole audience, in the caller's
    transaction; returns how many outbox rows were new. The watcher's breaches come in
    thousands, each to half a dozen people: the notifications are staged once each
    (COPY on PostgreSQL) and one ``INSERT … SELECT … ON CONFLICT (dedupe_key) DO
    NOTHING`` writes a row per recipient — the same rows ``enqueue`` would write one
    by one, and concurrent or repeated fan-outs never raise. Everything is checked
    before anything is written (recipients, languages, templates, payloads)."""
    if not notifications:
        return 0
    members = _members(audiences)
    staged = _staged(notifications, audiences, members)
    session.flush()
    connection = session.connection()
    _STAGING.create_all(connection, checkfirst=False)
    append_rows(connection, _FANOUT, staged)
    append_rows(connection, _AUDIENCE, members)
    if connection.dialect.name == "postgresql":
        # Statistics for the planner: without them it expects millions of rows, sorts
        # on disk and compiles the statement with JIT (~150 ms for 10,000 breaches).
        connection.exec_driver_sql(f"ANALYZE {_FANOUT.name}, {_AUDIENCE.name}")
    m, a = _FANOUT.c, _AUDIENCE.c

    def rows(recipient, language, source):
        key = m.subject_type + ":" + cast(m.subject_id, String) + ":" + m.kind + m.key_suffix + ":" + recipient
        return select(
            m.customer_id,
            m.kind,
            recipient.label("recipient"),
            language.label("language"),
            m.subject_type,
            m.subject_id,
            m.payload,
            key.label("dedupe_key"),
            m.not_before,
            m.business_hours_site_id,
            literal("pending").label("status"),
            literal(0).label("attempts"),
            literal(now, UTCDateTime()).label("created_at"),
        ).select_from(source)

    both = union_all(
        rows(a.recipient, a.language, _FANOUT.join(_AUDIENCE, a.audience == m.audience)),
        rows(m.recipient, m.language, _FANOUT).where(m.audience.is_(None)),
    ).subquery()
    columns = list(both.c)
    # "WHERE true": SQLite needs it to tell the SELECT from the ON CONFLICT clause.
    source = select(*columns).where(true())
    statement = (
        insert_for(session)
        .from_select([c.name for c in columns], source)
        .on_conflict_do_nothing(index_elements=[OutboxRow.dedupe_key])
    )
    inserted = connection.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    _STAGING.drop_all(connection, checkfirst=False)
    return inserted


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"notifications are written in {' or '.join(LANGUAGES)}, not {language!r}", field="language")
    return language


def claim(
    session: Session,
    *,
    worker: str,
    now: datetime,
    limit: int = 100,
    lease_seconds: int = LEASE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
    claim_key: int | None = None,
) -> list[OutboxRow]:
    """Take up to ``limit`` rows to send: pending rows due by ``now``, and rows whose
    worker is gone (see the module docstring) or whose claim is older than the lease.
    They become ``sending`` under ``worker`` and ``claim_key`` (the key
    :func:`claims_held` holds); the caller commits this before sending, so no two
    workers hold the same row. Rows held to a site's business hours that come up while
    the site is closed are put back until its next opening instead; abandoned rows that
    used up their attempts are failed."""
    stale = now - timedelta(seconds=lease_seconds)
    due = and_(OutboxRow.status == "pending", OutboxRow.not_before <= now)
    abandoned = and_(
        OutboxRow.status == "sending", or_(OutboxRow.claimed_at < stale, worker_gone(session, worker, OutboxRow))
    )
    rows = session.scalars(
        select(OutboxRow)
        .where(or_(due, abandoned))
        .order_by(OutboxRow.not_before, OutboxRow.id)
        .limit(limit)
        # PostgreSQL: rows another worker is claiming are skipped, not waited for.
        # SQLite renders no FOR UPDATE; BEGIN IMMEDIATE already serialises claims.
        .with_for_update(skip_locked=True)
    ).all()
    calendars: dict[int, Calendar] = {}
    claimed = []
    for row in rows:
        if row.status == "sending" and row.attempts >= max_attempts:
            row.status, row.claim_key = "failed", None
            row.last_error = _clip(f"worker {row.claimed_by} was lost while sending, {row.attempts} attempts in all")
            continue
        site_id = row.business_hours_site_id
        if site_id is not None:
            if site_id not in calendars:
                calendars[site_id] = site_calendar(session.get_one(SiteRow, site_id))
            if not calendars[site_id].is_open(now):
                row.status, row.claimed_by, row.claimed_at, row.claim_key = "pending", None, None, None
                row.not_before = calendars[site_id].next_opening(now)
                continue
        row.status, row.claimed_by, row.claimed_at, row.claim_key = "sending", worker, now, claim_key
        row.attempts += 1
        claimed.append(row)
    session.flush()
    return claimed


def worker_gone(session: Session, worker: str, claims: Any):
    """The condition, on a ``sending`` row of ``claims`` (a table with ``status``,
    ``claimed_by`` and ``claim_key``: the outbox, webhook deliveries), that its worker
    is gone: on PostgreSQL its claim key is no longer locked by a live session (trying
    a shared lock on it succeeds; CASE keeps the try to the rows that are being sent);
    on SQLite, the claim is under this worker's own name."""
    if session.get_bind().dialect.name != "postgresql":
        return claims.claimed_by == worker
    try_lock = func.pg_try_advisory_xact_lock_shared(claims.claim_key)
    return case((claims.claim_key.is_not(None) & (claims.status == "sending"), try_lock), else_=false())


@contextmanager
def claims_held(engine: Engine) -> Iterator[int | None]:
    """A claim key for one delivery run (pass it to :func:`claim`), and on PostgreSQL a
    session advisory lock on it, held on a connection of its own until the block ends —
    or until the process dies, when the server drops the lock and every claim made
    under the key is free to others at once. On SQLite: a key, no lock."""
    key = secrets.randbits(62) + 1
    if engine.dialect.name != "postgresql":
        yield key
        return
    connection = engine.connect()
    try:
        connection.execute(select(func.pg_advisory_lock(key)))
        connection.commit()
        yield key
    finally:
        try:
            connection.execute(select(func.pg_advisory_unlock(key)))
            connection.commit()
        except DBAPIError:
            connection.invalidate()  # the lock went with the connection
        finally:
            connection.close()


def mark_sent(session: Session, outbox_id: int, *, message_id: str, now: datetime) -> bool:
    """Record a send the SMTP server accepted. Applies whoever holds the claim now
    (the mail went out either way); False when the row was already sent."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == outbox_id, OutboxRow.status != "sent")
        .values(status="sent", sent_at=now, message_id=message_id, last_error=None, claim_key=None)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # Session.execute(UPDATE) gives a CursorResult


def mark_withheld(session: Session, outbox_id: int, *, worker: str, reason: str) -> bool:
    """Record that a claimed mail was not sent because its recipient refused its kind
    in the meantime (R-COM-1): ``withheld``, for good, with why. False when ``worker``
    no longer holds the claim."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == outbox_id, OutboxRow.status == "sending", OutboxRow.claimed_by == worker)
        .values(status="withheld", last_error=_clip(reason), claim_key=None)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # Session.execute(UPDATE) gives a CursorResult


def mark_failed(
    session: Session,
    outbox_id: int,
    *,
    worker: str,
    error: str,
    now: datetime,
    retry_after: timedelta | None,
    max_attempts: int = MAX_ATTEMPTS,
) -> str | None:
    """Record a failed send by ``worker``: back to ``pending`` until ``now +
    retry_after``, or ``failed`` when ``retry_after`` is None (a permanent error:
    bad template, recipient refused) or the attempts are used up. Returns the new
    status, or None when ``worker`` no longer holds the claim (its lease ran out and
    another worker took the row over: that one decides)."""
    row = session.get(OutboxRow, outbox_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != "sending" or row.claimed_by != worker:
        return None
    row.last_error, row.claim_key = _clip(error), None
    if retry_after is None or row.attempts >= max_attempts:
        row.status = "failed"
    else:
        if retry_after <= timedelta(0):
            raise ValueError("a retry waits a positive delay")
        row.status, row.claimed_by, row.claimed_at = "pending", None, None
        row.not_before = now + retry_after
    session.flush()
    return row.status


def _clip(text: str) -> str:
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


# ------------------------------------------------------------------ the operator's view
@dataclass(frozen=True)
class Waiting:
    """A notification not sent yet, as the operator sees it (``unisupport outbox list``)."""

    id: int
    kind: str
    recipient: str
    status: str  # pending, sending or failed
    attempts: int
    last_error: str | None
    # pending: when it may go out; sending: when another worker may take it over;
    # failed: None — only a retry (``unisupport outbox retry``) sends it again.
    next_attempt: datetime | None
    claimed_by: str | None
    subject: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "recipient": self.recipient,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt": self.next_attempt,
            "claimed_by": self.claimed_by,
            "subject": self.subject,
            "created_at": self.created_at,
        }


UNSENT = ("pending", "sending", "failed")


def _stuck(now: datetime, lease_seconds: int):
    """Rows a send was tried for and did not succeed: failed for good, waiting for a
    retry after an error, or claimed by a worker that was lost."""
    return or_(
        OutboxRow.status == "failed",
        and_(OutboxRow.status == "pending", OutboxRow.last_error.is_not(None)),
        and_(OutboxRow.status == "sending", OutboxRow.claimed_at < now - timedelta(seconds=lease_seconds)),
    )


def waiting(
    session: Session, *, now: datetime, stuck: bool = False, limit: int = 100, lease_seconds: int = LEASE_SECONDS
) -> tuple[list[Waiting], int]:
    """The first ``limit`` notifications not sent yet (only the ``stuck`` ones: see
    ``_stuck``), oldest due first, and how many there are in all."""
    condition: ColumnElement[bool] = OutboxRow.status.in_(UNSENT)
    if stuck:
        condition = and_(condition, _stuck(now, lease_seconds))
    total = session.scalar(select(func.count()).select_from(OutboxRow).where(condition)) or 0
    rows = session.scalars(select(OutboxRow).where(condition).order_by(OutboxRow.not_before, OutboxRow.id).limit(limit))
    return [_view(row, lease_seconds) for row in rows], total


def _view(row: OutboxRow, lease_seconds: int = LEASE_SECONDS) -> Waiting:
    next_attempt: datetime | None = row.not_before
    if row.status == "failed":
        next_attempt = None
    elif row.status == "sending" and row.claimed_at is not None:
        next_attempt = row.claimed_at + timedelta(seconds=lease_seconds)
    return Waiting(
        id=row.id,
        kind=row.kind,
        recipient=row.recipient,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt=next_attempt,
        claimed_by=row.claimed_by,
        subject=f"{row.subject_type}:{row.subject_id}",
        created_at=row.created_at,
    )


def backlog(session: Session) -> dict[str, int]:
    """How many notifications are not sent yet, by status (pending, sending, failed)."""
    counts = dict(
        session.execute(
            select(OutboxRow.status, func.count()).where(OutboxRow.status.in_(UNSENT)).group_by(OutboxRow.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in UNSENT}


def retry(session: Session, ids: list[int] | None, *, now: datetime, actor: str) -> list[Waiting]:
    """Make notifications due now: the rows ``ids``, or (None) every pending row that
    failed before and every failed one. A failed row gets its attempts back (the
    operator fixed what failed it); a row held to a site's business hours is still
    held by ``claim``. Refuses a sent row or one a worker is sending; each retry is an
    audit event (``outbox:retried``) with who asked."""
    if ids is None:
        rows = session.scalars(
            select(OutboxRow)
            .where(OutboxRow.status.in_(("pending", "failed")), _stuck(now, LEASE_SECONDS))
            .order_by(OutboxRow.id)
            .with_for_update()
        ).all()
    else:
        rows = [_retryable(session, outbox_id) for outbox_id in dict.fromkeys(ids)]
    for row in rows:
        before = {"status": row.status, "attempts": row.attempts, "not_before": row.not_before.isoformat()}
        if row.status == "failed":
            row.attempts = 0
        row.status, row.not_before, row.claimed_by, row.claimed_at, row.claim_key = "pending", now, None, None, None
        session.add(
            AuditEvent(
                customer_id=row.customer_id,
                subject_type="outbox",
                subject_id=row.id,
                tag="outbox:retried",
                actor=actor,
                at=now,
                before=before,
                after={"status": "pending", "attempts": row.attempts, "not_before": now.isoformat()},
                reason=row.last_error,
            )
        )
    session.flush()
    return [_view(row) for row in rows]


def _retryable(session: Session, outbox_id: int) -> OutboxRow:
    row = session.get(OutboxRow, outbox_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no mail {outbox_id} in the outbox", field="ID")
    if row.status == "sent":
        raise InvalidInput(f"mail {outbox_id} was sent at {row.sent_at:%Y-%m-%d %H:%M} UTC", field="ID")
    if row.status == "sending":
        raise InvalidInput(
            f"mail {outbox_id} is being sent by {row.claimed_by} (claimed at {row.claimed_at:%Y-%m-%d %H:%M} UTC)",
            field="ID",
        )
    return row
