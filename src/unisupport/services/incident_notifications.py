"""Who hears about what happens to an incident, in their language, and when.

Notifications are queued in the outbox in the same transaction as the change that
causes them (so they are never lost nor sent for a change that rolled back):

* ``incident.acknowledged`` → the contact, at once (it never counts as the first
  response: R-SEV-2);
* ``incident.warning`` → the incident's team and the incident managers;
* ``incident.breached`` → the team, and the customer contact — for a business-hours
  incident, held until the site's next business hours (no mail at midnight);
* ``incident.escalated`` → the incident managers;
* ``incident.customer_response_missed`` → the customer contact (business hours too);
* ``incident.breach_withdrawn`` → everyone a breach or its escalation was queued for,
  when a first response logged after the fact shows the target was met (R-SEV-2):
  never after the notice it corrects, and held to the same business hours.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from unisupport.errors import InvalidInput
from unisupport.notifications.kinds import is_optional
from unisupport.notifications.mailer import has_template
from unisupport.notifications.outbox import (
    Fanout,
    check_recipient,
    customer_not_before,
    enqueue,
    enqueue_fanout,
    insert_for,
)
from unisupport.notifications.wording import LANGUAGES, mail_language
from unisupport.sla.site_calendar import site_calendar
from unisupport.storage.base import Document, UTCDateTime
from unisupport.storage.bulk import append_rows
from unisupport.storage.portable_sql import epoch, iso_utc, json_document, json_merged, whole_minutes, zero_padded
from unisupport.storage.tables import (
    CommunicationRow,
    ContactRow,
    CustomerRow,
    IncidentRow,
    OutboxRow,
    SiteRow,
    TeamMemberRow,
    TeamRow,
    UpdateTargetRow,
    UserRow,
)


def incident_number(incident_id: int) -> str:
    return f"INC-{incident_id:06d}"


def incident_payload(incident: Any, site: SiteRow, customer_name: str, calendar) -> dict[str, Any]:
    """What every template of an incident needs; ``incident`` is a row or a result row.
    ``_queue_in_database`` builds the same fields in SQL (tests/test_watcher.py
    checks that both agree)."""
    return {
        "incident_number": incident_number(incident.id),
        "customer_name": customer_name,
        "title": incident.title,
        "severity": incident.severity,
        "timezone": site.timezone,
        "opened_at": calendar.localize(incident.opened_at).isoformat(),
        "first_response_due": calendar.localize(incident.first_response_due).isoformat(),
        "target_minutes": incident.target_minutes,
        "coverage": "bh" if incident.coverage == "business_hours" else "24x7",
    }


BREACH_KINDS = ("incident.breached", "incident.escalated")


def withdraw_breach(session: Session, incident: IncidentRow, *, now: datetime) -> int:
    """Correct the breach notices of ``incident`` (queued by the watcher) to the same
    people, in the same language: one
    ``incident.breach_withdrawn`` per recipient of a breach or escalation notice that was
    not failed for good, not before that notice and within the same business hours.
    Returns how many corrections were queued."""
    notices = session.scalars(
        select(OutboxRow)
        .where(
            OutboxRow.subject_type == "incident",
            OutboxRow.subject_id == incident.id,
            OutboxRow.kind.in_(BREACH_KINDS),
            OutboxRow.status != "failed",
        )
        .order_by(OutboxRow.id)
    ).all()
    if not notices:
        return 0
    site = session.get_one(SiteRow, incident.site_id)
    calendar = site_calendar(site)
    customer = session.get(CustomerRow, incident.customer_id)
    payload = incident_payload(incident, site, customer.name if customer else "", calendar) | {
        "first_response_at": calendar.localize(incident.first_response_at).isoformat(),  # type: ignore[arg-type]
    }
    corrections: dict[str, Fanout] = {}
    for notice in notices:
        later = max(now, notice.not_before, key=lambda t: t.timestamp())
        known = corrections.get(notice.recipient)
        if known is None or known.not_before.timestamp() < later.timestamp():
            corrections[notice.recipient] = Fanout(
                "incident.breach_withdrawn",
                "incident",
                incident.id,
                incident.customer_id,
                payload,
                later,
                recipient=notice.recipient,
                language=notice.language,
                business_hours_site_id=notice.business_hours_site_id,
            )
    return enqueue_fanout(session, list(corrections.values()), {}, now=now)


def _provider_recipients(session: Session, *, team: str | None, incident_managers: bool) -> list[tuple[str, str]]:
    recipients: dict[str, str] = {}
    if team:
        for email, language in session.execute(
            select(UserRow.email, UserRow.language)
            .join(TeamMemberRow, TeamMemberRow.user_id == UserRow.id)
            .join(TeamRow, TeamRow.id == TeamMemberRow.team_id)
            .where(TeamRow.code == team, UserRow.active.is_(True))
        ):
            recipients[email] = language
    if incident_managers:
        for email, language in session.execute(
            select(UserRow.email, UserRow.language).where(UserRow.role == "incident-manager", UserRow.active.is_(True))
        ):
            recipients[email] = language
    return sorted(recipients.items())


def acknowledge(
    session: Session,
    incident: IncidentRow,
    *,
    site: SiteRow,
    customer_name: str,
    contact: ContactRow,
    user_language: str | None,
    now: datetime,
    reply_to: str | None = None,
) -> None:
    """The automatic acknowledgement to the contact, at once (R-SEV-2: it never counts
    as the first response); the opening passes the rows it has read. ``reply_to``:
    the incident's reply address, so that answering the acknowledgement reaches the
    incident. ``user_language``: that of the contact's user, if the contact has one (the
    opening reads it with the contact)."""
    language = mail_language(user_language or contact.language or site.language)
    enqueue(
        session,
        kind="incident.acknowledged",
        recipient=contact.email,
        language=language,
        subject_type="incident",
        subject_id=incident.id,
        payload=incident_payload(incident, site, customer_name, site_calendar(site)),
        customer_id=incident.customer_id,
        dedupe_key=f"incident:{incident.id}:acknowledged:{contact.email}",
        not_before=now,
        now=now,
        headers={"Reply-To": reply_to} if reply_to else None,
    )


def queue(session: Session, incident_ids: list[int], kind: str, now: datetime) -> int:
    """The watcher's notifications for ``incident_ids`` (see the module docstring);
    returns how many outbox rows were new. Warnings and breaches come in thousands
    and are written by the database itself (``_queue_in_database``); missed customer
    answers are few and go through ``enqueue_fanout``."""
    if not incident_ids:
        return 0
    if kind == "incident.customer_response_missed":
        return _queue_missed_answers(session, incident_ids, now)
    if kind not in ("incident.warning", "incident.breached"):
        raise ValueError(f"the watcher queues no {kind!r}")
    return _queue_in_database(session, incident_ids, kind, now)


_STAGING = MetaData()
# The ids a call is about: incidents (breaches, warnings) or update targets.
_IDS = Table("queue_ids", _STAGING, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"])
# Each notice's payload, built once (not once per recipient), with what the fan-out
# needs of it: "id" is the incident's or the update target's; "suffix" is the part
# of the dedupe key after the kind (the update target's number, ":2"; else empty).
_PAYLOADS = Table(
    "queue_payloads",
    _STAGING,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, nullable=False),
    Column("suffix", String(16), nullable=False),
    Column("payload", Document, nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("site_id", Integer, nullable=False),
    Column("contact_id", Integer, nullable=False),
    Column("team", String(64)),
    Column("business_hours", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)
# The provider's recipients: "team" rows for each team involved, "managers" rows.
_RECIPIENTS = Table(
    "queue_recipients",
    _STAGING,
    Column("audience", String(16), nullable=False),
    Column("team", String(64), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("language", String(2), nullable=False),
    prefixes=["TEMPORARY"],
)
ESCALATION_REASON = "the first-response target was breached (R-INC-2)"


def _check_templates(kinds: tuple[str, ...]) -> None:
    for send_kind in kinds:
        if is_optional(send_kind):  # each recipient's refusal would have to be checked: enqueue
            raise InvalidInput(f"{send_kind} mail is optional (R-COM-1): queue it with enqueue", field="kind")
        for language in LANGUAGES:
            if not has_template(send_kind, language):
                raise InvalidInput(f"no {language} template for notifications of kind {send_kind!r}", field="kind")


def _stage(session: Session, ids: list[int], incidents: Any, now: datetime) -> dict[int, datetime]:
    """Stage ``ids`` (``_IDS``) and the provider's recipients of the teams of
    ``incidents`` (a query of incident ids, over the staged ids); returns, for each
    site of those incidents, when a business-hours notice may go out (worked out once
    per site)."""
    session.flush()
    connection = session.connection()
    _STAGING.create_all(connection, checkfirst=False)
    append_rows(connection, _IDS, [{"id": i} for i in sorted(set(ids))])
    if connection.dialect.name == "postgresql":
        # Before the queries below: without statistics the planner expects thousands
        # of times more rows (and scans every incident).
        connection.exec_driver_sql(f"ANALYZE {_IDS.name}")
    involved = session.execute(
        select(IncidentRow.team, IncidentRow.site_id).where(IncidentRow.id.in_(incidents)).distinct()
    ).all()
    teams = sorted({team for team, _ in involved if team})
    recipients = [
        {"audience": "team", "team": team, "recipient": email, "language": language}
        for team in teams
        for email, language in _provider_recipients(session, team=team, incident_managers=False)
    ]
    recipients += [
        {"audience": "managers", "team": "", "recipient": email, "language": language}
        for email, language in _provider_recipients(session, team=None, incident_managers=True)
    ]
    for person in recipients:
        check_recipient(person["recipient"])
    append_rows(connection, _RECIPIENTS, recipients)
    sites = session.scalars(select(SiteRow).where(SiteRow.id.in_({site for _, site in involved}))).all()
    return {site.id: customer_not_before(site_calendar(site), now) for site in sites}


def _incident_fields(coverage: Any) -> list[Any]:
    """What every template of an incident needs (``incident_payload``), as key/value
    pairs of SQL over the incident, its site and its customer."""
    i, s, c = IncidentRow, SiteRow, CustomerRow
    return [
        "incident_number",
        "INC-" + zero_padded(i.id, 6),
        "customer_name",
        c.name,
        "title",
        i.title,
        "severity",
        i.severity,
        "timezone",
        s.timezone,
        "opened_at",
        iso_utc(i.opened_at),
        "first_response_due",
        iso_utc(i.first_response_due),
        "target_minutes",
        i.target_minutes,
        "coverage",
        coverage,
    ]


def _document(pairs: list[Any]):
    return json_document(*[literal(x) if isinstance(x, (str, int)) else x for x in pairs])


def _stage_payloads(session: Session, source) -> None:
    """Fill ``_PAYLOADS`` from ``source`` (a select of its columns, in order, over the
    incidents joined to their sites and customers)."""
    session.connection().execute(_PAYLOADS.insert().from_select([c.name for c in _PAYLOADS.c], source))


def _rows(send_kind: str, payload, recipient, language, *, join, now: datetime, not_before=None, held_for=None):
    """The outbox rows of ``send_kind`` for the staged payloads joined to ``join``."""
    p = _PAYLOADS.c
    moment = literal(now, UTCDateTime())
    key = "incident:" + cast(p.incident_id, String) + f":{send_kind}" + p.suffix + ":" + recipient
    return (
        select(
            p.customer_id,
            literal(send_kind).label("kind"),
            recipient.label("recipient"),
            language.label("language"),
            literal("incident").label("subject_type"),
            p.incident_id.label("subject_id"),
            payload.label("payload"),
            key.label("dedupe_key"),
            (moment if not_before is None else not_before).label("not_before"),
            (held_for if held_for is not None else literal(None, Integer)).label("business_hours_site_id"),
            literal("pending").label("status"),
            literal(0).label("attempts"),
            moment.label("created_at"),
        )
        .select_from(_PAYLOADS)
        .join(*join)
    )


def _held(openings: dict[int, datetime], now: datetime) -> dict[str, Any]:
    """``not_before`` and ``business_hours_site_id`` of a notice held to its site's
    business hours when its payload is a business-hours one."""
    p = _PAYLOADS.c
    moment = literal(now, UTCDateTime())
    opening = case(
        {site_id: literal(at, UTCDateTime()) for site_id, at in openings.items()}, value=p.site_id, else_=moment
    )
    held = p.business_hours.is_(True)
    return {"not_before": case((held, opening), else_=moment), "held_for": case((held, p.site_id), else_=None)}


def _write(session: Session, branches: list[Any]) -> int:
    """One ``INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING`` of every branch's
    rows; the staging is dropped. Returns how many rows were new."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Statistics for the planner (the columns it joins on; the documents' are not
        # needed): without them it expects millions of rows, sorts on disk and
        # compiles the statement with JIT.
        connection.exec_driver_sql(
            f"ANALYZE {_PAYLOADS.name} (id, site_id, contact_id, team, business_hours), {_RECIPIENTS.name}"
        )
    both = union_all(*branches).subquery()
    columns = list(both.c)
    # "WHERE true": SQLite needs it to tell the SELECT from the ON CONFLICT clause.
    statement = (
        insert_for(session)
        .from_select([col.name for col in columns], select(*columns).where(true()))
        .on_conflict_do_nothing(index_elements=[OutboxRow.dedupe_key])
    )
    inserted = connection.execute(statement, execution_options={"preserve_rowcount": True}).rowcount
    _STAGING.drop_all(connection, checkfirst=False)
    return inserted


def _queue_in_database(session: Session, incident_ids: list[int], kind: str, now: datetime) -> int:
    """One ``INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING`` writes every
    outbox row — payloads included (``storage.portable_sql``) — from the incidents,
    their sites, customers and contacts, and the recipients staged once: 60,000 rows
    for 10,000 breaches without building them in Python. Instants in payloads are
    UTC (the templates show them in the site's zone); customer mails about
    business-hours incidents wait for the site's next opening, worked out once per
    site."""
    _check_templates(("incident.warning",) if kind == "incident.warning" else BREACH_KINDS)
    openings = _stage(session, incident_ids, select(_IDS.c.id), now)
    i, s, c, ct, r, p = IncidentRow, SiteRow, CustomerRow, ContactRow, _RECIPIENTS.c, _PAYLOADS.c
    business_hours = i.coverage == "business_hours"
    fields = _incident_fields(case((business_hours, "bh"), else_="24x7"))
    if kind == "incident.warning":
        left = whole_minutes(literal(now, UTCDateTime()), i.first_response_due)
        fields += ["minutes_left", case((left < 0, 0), else_=left)]
    # What the fan-out needs of each incident, read once: the fan-out below joins only
    # this table, the recipients and the contacts.
    _stage_payloads(
        session,
        select(
            i.id, i.id, literal(""), _document(fields), i.customer_id, i.site_id, i.contact_id, i.team, business_hours
        )
        .join(s, s.id == i.site_id)
        .join(c, c.id == i.customer_id)
        .where(i.id.in_(select(_IDS.c.id))),
    )
    team = (_RECIPIENTS, (r.audience == "team") & (r.team == p.team))
    managers = (_RECIPIENTS, r.audience == "managers")
    if kind == "incident.warning":
        branches = [
            _rows(kind, p.payload, r.recipient, r.language, join=team, now=now),
            _rows(kind, p.payload, r.recipient, r.language, join=managers, now=now),
        ]
    else:
        user_language = (
            select(UserRow.language).where(UserRow.contact_id == ct.id).order_by(UserRow.id).limit(1).scalar_subquery()
        )
        chosen = func.coalesce(func.nullif(user_language, ""), func.nullif(ct.language, ""), s.language)
        contact_language = case((func.lower(func.substr(func.trim(chosen), 1, 2)) == "fr", "fr"), else_="en")
        contact = _rows(
            kind,
            p.payload,
            ct.email,
            contact_language,
            join=(ct, ct.id == p.contact_id),
            now=now,
            **_held(openings, now),
        )
        # The escalation's payload: the breach's, and when and why it was escalated.
        escalation = json_merged(
            p.payload,
            _document(
                ["escalated_at", now.astimezone(UTC).replace(microsecond=0).isoformat(), "reason", ESCALATION_REASON]
            ),
        )
        branches = [
            _rows(kind, p.payload, r.recipient, r.language, join=team, now=now),
            contact.join(s, s.id == p.site_id),
            _rows("incident.escalated", escalation, r.recipient, r.language, join=managers, now=now),
        ]
    return _write(session, branches)


def _queue_missed_answers(session: Session, incident_ids: list[int], now: datetime) -> int:
    """R-SLA-4: the contact hears of each request for action left unanswered."""
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.customer_id,
            IncidentRow.site_id,
            IncidentRow.contact_id,
            IncidentRow.title,
            IncidentRow.severity,
            IncidentRow.opened_at,
            IncidentRow.first_response_due,
            IncidentRow.target_minutes,
            IncidentRow.coverage,
        )
        .where(IncidentRow.id.in_(incident_ids))
        .order_by(IncidentRow.id)
    ).all()
    sites = {s.id: s for s in session.scalars(select(SiteRow).where(SiteRow.id.in_({r.site_id for r in rows})))}
    customers = dict(
        session.execute(
            select(CustomerRow.id, CustomerRow.name).where(CustomerRow.id.in_({r.customer_id for r in rows}))
        ).all()
    )
    contacts = {
        c.id: c for c in session.scalars(select(ContactRow).where(ContactRow.id.in_({r.contact_id for r in rows})))
    }
    user_languages = dict(
        session.execute(select(UserRow.contact_id, UserRow.language).where(UserRow.contact_id.in_(contacts))).all()
    )
    missed: dict[int, list[CommunicationRow]] = {}
    for asked in session.scalars(
        select(CommunicationRow)
        .where(
            CommunicationRow.incident_id.in_(incident_ids),
            CommunicationRow.missed_at.is_not(None),
            CommunicationRow.answered_at.is_(None),
        )
        .order_by(CommunicationRow.id)
    ):
        missed.setdefault(asked.incident_id, []).append(asked)
    out: list[Fanout] = []
    for r in rows:
        site = sites[r.site_id]
        calendar = site_calendar(site)
        business_hours = r.coverage == "business_hours"
        contact = contacts.get(r.contact_id)
        payload = incident_payload(r, site, customers.get(r.customer_id, ""), calendar)
        language = mail_language(
            user_languages.get(r.contact_id) or (contact.language if contact else None) or site.language
        )
        for asked in missed.get(r.id, []):
            out.append(
                Fanout(
                    "incident.customer_response_missed",
                    "incident",
                    r.id,
                    r.customer_id,
                    payload
                    | {
                        "requested_at": calendar.localize(asked.at).isoformat(),
                        "response_due": calendar.localize(asked.customer_response_due).isoformat()
                        if asked.customer_response_due
                        else None,
                    },
                    customer_not_before(calendar, now) if business_hours else now,
                    recipient=contact.email if contact else "",
                    language=language,
                    business_hours_site_id=site.id if business_hours else None,
                    key_suffix=f":{asked.id}",
                )
            )
    return enqueue_fanout(session, out, {}, now=now)


UPDATE_KINDS = ("incident.update_warning", "incident.update_breached")


def queue_update_notices(session: Session, target_ids: list[int], kind: str, now: datetime) -> int:
    """The watcher's notices about the update targets ``target_ids`` (R-INC-2,
    services/update_watch.py): a warning to the incident's team, a breach to the team
    and the incident managers, once per target (the target's number is in the dedupe
    key: ``incident:42:incident.update_breached:2:tom@provider.example``). A notice
    about a business-hours target is held to the site's business hours (the outbox
    puts it back when claimed outside them): never mailed at midnight. Written by the
    database like the breaches (``_queue_in_database``): one ``INSERT … SELECT`` for
    thousands of targets."""
    if kind not in UPDATE_KINDS:
        raise ValueError(f"the watcher queues no {kind!r}")
    if not target_ids:
        return 0
    _check_templates((kind,))
    t, i, s, c, r, p = UpdateTargetRow, IncidentRow, SiteRow, CustomerRow, _RECIPIENTS.c, _PAYLOADS.c
    staged = select(_IDS.c.id)
    openings = _stage(session, target_ids, select(t.incident_id).where(t.id.in_(staged)), now)
    business_hours = t.coverage == "business_hours"
    left = (epoch(t.due_at) - epoch(literal(now, UTCDateTime()))) // 60
    fields = _incident_fields(case((business_hours, "bh"), else_="24x7")) + [
        "update_due",
        iso_utc(t.due_at),
        "update_minutes",
        t.target_minutes,
        "minutes_left",
        case((left < 0, 0), else_=left),
    ]
    _stage_payloads(
        session,
        select(
            t.id,
            t.incident_id,
            ":" + cast(t.seq, String),
            _document(fields),
            i.customer_id,
            i.site_id,
            i.contact_id,
            i.team,
            business_hours,
        )
        .join(i, i.id == t.incident_id)
        .join(s, s.id == i.site_id)
        .join(c, c.id == i.customer_id)
        .where(t.id.in_(staged)),
    )
    held = _held(openings, now)
    audiences: list[tuple[Any, Any]] = [(_RECIPIENTS, (r.audience == "team") & (r.team == p.team))]
    if kind == "incident.update_breached":
        audiences.append((_RECIPIENTS, r.audience == "managers"))
    return _write(
        session, [_rows(kind, p.payload, r.recipient, r.language, join=a, now=now, **held) for a in audiences]
    )
