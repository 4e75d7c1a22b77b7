"""Satisfaction surveys (R-CSAT-1, docs/rules.md): a short survey mailed, in the
contact's language and through the outbox, exactly once — when an incident is closed
(``after_close``), when a proactive service has been delivered (``after_delivery``)
and once a period per order (``services.survey_sweep``); answered once, with a score
from 1 to 5 and a comment, from the mail's signed link (no sign-in, expiring:
``notifications.signed_links``) or from the portal. Surveys are optional mail
(R-COM-1, kind ``survey``): a contact who refused them is not written to, and the
survey is kept as ``withheld`` so the response rate counts only surveys sent.

The results — per customer, per engineers' team, per service and per month, with
response rates — are for the incident managers and the CSAMs (their customers)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound, Refused
from unisupport.notifications.outbox import enqueue
from unisupport.notifications.preferences import is_refused
from unisupport.notifications.signed_links import MailLinks
from unisupport.services.incident_notifications import incident_number
from unisupport.services.mail_preferences import contact_language
from unisupport.storage.tables import (
    BookingRow,
    ContactRow,
    CustomerRow,
    IncidentRow,
    OrderRow,
    OutboxRow,
    SiteRow,
    SurveyRow,
    UserRow,
)

RULE = "R-CSAT-1"
SURVEY = "survey"  # the kind of mail (R-COM-1: optional)
LINK_DAYS = 14  # how long a survey's link answers (docs/decisions.md D116)
READERS = (Role.ADMIN, Role.INCIDENT_MANAGER, Role.CSAM)
GROUPINGS = ("customer", "team", "service", "month")
MAX_COMMENT = 2000


# ------------------------------------------------------------------ sending
def _survey(
    session: Session,
    *,
    contact: ContactRow | None,
    occasion: str,
    subject_id: int,
    period: str,
    reference: str,
    title: str,
    service: str,
    team: str | None,
    timezone: str,
    now: datetime,
) -> SurveyRow | None:
    """The survey of this occasion, made and queued once; None when it exists already
    or there is no active contact to ask."""
    if contact is None or not contact.active:
        return None
    exists = session.scalar(
        select(SurveyRow.id).where(
            SurveyRow.occasion == occasion, SurveyRow.subject_id == subject_id, SurveyRow.period == period
        )
    )
    if exists is not None:
        return None
    language = contact_language(session, contact)
    row = SurveyRow(
        customer_id=contact.customer_id,
        contact_id=contact.id,
        recipient=contact.email,
        language=language,
        occasion=occasion,
        subject_id=subject_id,
        period=period,
        reference=reference,
        service=service,
        team=team,
        sent_at=now,
        expires_at=now + timedelta(days=LINK_DAYS),
        withheld=is_refused(session, contact.email, SURVEY),
    )
    session.add(row)
    session.flush()
    if not row.withheld:
        enqueue(
            session,
            kind=SURVEY,
            recipient=contact.email,
            language=language,
            subject_type="survey",
            subject_id=row.id,
            payload={
                "survey_id": row.id,
                "expires_at": row.expires_at.isoformat(),
                "occasion": occasion,
                "reference": reference,
                "title": title,
                "about": f"{reference} {title}".strip() if occasion == "incident" else title,
                "contact_name": contact.name,
                "timezone": timezone,
            },
            dedupe_key=f"survey:{row.id}",
            not_before=now,
            customer_id=contact.customer_id,
            now=now,
        )
    return row


def _zone(session: Session, site_id: int | None) -> str:
    return (session.scalar(select(SiteRow.timezone).where(SiteRow.id == site_id)) if site_id else None) or "UTC"


def after_close(session: Session, incident: IncidentRow, *, now: datetime) -> SurveyRow | None:
    """The survey of a closed incident, to its designated contact (once, even when the
    incident is reopened and closed again)."""
    return _survey(
        session,
        contact=session.get(ContactRow, incident.contact_id),
        occasion="incident",
        subject_id=incident.id,
        period="",
        reference=incident_number(incident.id),
        title=incident.title,
        service=incident.product,
        team=incident.team,
        timezone=_zone(session, incident.site_id),
        now=now,
    )


def _booker(session: Session, booking: BookingRow) -> ContactRow | None:
    """Who is asked about a booking: the contact who booked it, else the customer's
    first support administrator."""
    contacts = list(
        session.scalars(
            select(ContactRow)
            .where(ContactRow.customer_id == booking.customer_id, ContactRow.active.is_(True))
            .order_by(ContactRow.id)
        )
    )
    booked = [c for c in contacts if c.email.lower() == booking.created_by.lower()]
    admins = [c for c in contacts if "support-administrator" in (c.roles or [])]
    chosen = booked or admins or contacts
    return chosen[0] if chosen else None


def after_delivery(session: Session, booking: BookingRow, *, now: datetime) -> SurveyRow | None:
    """The survey of a delivered proactive service."""
    return _survey(
        session,
        contact=_booker(session, booking),
        occasion="booking",
        subject_id=booking.id,
        period="",
        reference=f"B-{booking.id}",
        title=booking.service,
        service=booking.service,
        team=None,
        timezone=_zone(session, booking.site_id),
        now=now,
    )


def periodic(session: Session, order: OrderRow, period: int, *, now: datetime) -> SurveyRow | None:
    """The ``period``-th periodic survey of an order, to its first support administrator."""
    contacts = list(
        session.scalars(
            select(ContactRow)
            .where(ContactRow.customer_id == order.customer_id, ContactRow.active.is_(True))
            .order_by(ContactRow.id)
        )
    )
    admins = [c for c in contacts if "support-administrator" in (c.roles or [])]
    return _survey(
        session,
        contact=(admins or contacts)[0] if contacts else None,
        occasion="order",
        subject_id=order.id,
        period=str(period),
        reference=order.number,
        title=order.number,
        service="contract",
        team=None,
        timezone=_zone(session, order.host_site_id),
        now=now,
    )


# ------------------------------------------------------------------ answering
@dataclass(frozen=True)
class SurveyView:
    id: int
    reference: str
    occasion: str
    service: str
    language: str
    expires_at: datetime
    answered_at: datetime | None
    score: int | None
    comment: str | None

    @classmethod
    def of(cls, row: SurveyRow) -> SurveyView:
        return cls(
            row.id,
            row.reference,
            row.occasion,
            row.service,
            row.language,
            row.expires_at,
            row.answered_at,
            row.score,
            row.comment,
        )


def _check_answer(score: int | None, comment: str | None) -> str | None:
    if score is None or not 1 <= score <= 5:
        raise InvalidInput("give a score from 1 (not satisfied) to 5 (very satisfied)", field="score")
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment is at most {MAX_COMMENT} characters", field="comment")
    return text or None


def _answerable(row: SurveyRow, now: datetime) -> None:
    if row.answered_at is not None:
        raise Refused("this survey was answered already: a survey is answered once", rule=RULE, field="token")
    if now >= row.expires_at:
        raise Refused(f"this survey's link expired after {LINK_DAYS} days", rule=RULE, field="token")


def survey_of_link(session: Session, links: MailLinks, token: str, *, now: datetime) -> SurveyRow:
    """The survey a mailed link names, if it may still be answered."""
    link = links.read_survey(token)
    row = session.get(SurveyRow, link.survey_id) if link is not None else None
    if link is None or row is None or row.withheld:
        raise NotFound("this survey link is not valid (it may have been cut)", field="token")
    if link.expired(now) and row.answered_at is None:
        raise Refused(f"this survey's link expired after {LINK_DAYS} days", rule=RULE, field="token")
    _answerable(row, now)
    return row


def _record(session: Session, row: SurveyRow, score: int | None, comment: str | None, *, via: str, now: datetime):
    text = _check_answer(score, comment)
    _answerable(row, now)
    # Once, even when two answers race: only the update that finds it unanswered writes.
    done = session.execute(
        update(SurveyRow)
        .where(SurveyRow.id == row.id, SurveyRow.answered_at.is_(None))
        .values(answered_at=now, answered_via=via, score=score, comment=text)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("this survey was answered already: a survey is answered once", rule=RULE, field="token")
    session.refresh(row)
    return row


def answer_from_link(
    session: Session, links: MailLinks, token: str, *, score: int | None, comment: str | None, now: datetime
) -> SurveyRow:
    """Answer from the mail's link: no sign-in, once, before it expires."""
    return _record(session, survey_of_link(session, links, token, now=now), score, comment, via="mail", now=now)


def _contact_id(session: Session, principal: Principal) -> int | None:
    return session.scalar(select(UserRow.contact_id).where(UserRow.id == principal.user_id))


def open_surveys(session: Session, principal: Principal, *, now: datetime) -> list[SurveyRow]:
    """The surveys the signed-in contact may still answer from the portal."""
    contact_id = _contact_id(session, principal)
    if contact_id is None:
        return []
    return list(
        session.scalars(
            select(SurveyRow)
            .where(
                SurveyRow.contact_id == contact_id,
                SurveyRow.answered_at.is_(None),
                SurveyRow.withheld.is_(False),
                SurveyRow.expires_at > now,
            )
            .order_by(SurveyRow.sent_at.desc())
        )
    )


def answer_from_portal(
    session: Session, principal: Principal, survey_id: int, *, score: int | None, comment: str | None, now: datetime
) -> SurveyRow:
    """Answer one's own survey from the portal (another contact's looks missing)."""
    row = session.get(SurveyRow, survey_id, with_for_update=True)
    contact_id = _contact_id(session, principal)
    if row is None or contact_id is None or row.contact_id != contact_id or row.withheld:
        raise NotFound(f"no survey {survey_id}", field="survey")
    answered = _record(session, row, score, comment, via="portal", now=now)
    # Answered before its mail went out: the mail, and its link, are no longer needed.
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.dedupe_key == f"survey:{row.id}", OutboxRow.status == "pending")
        .values(status="withheld", last_error="answered from the portal before it was mailed (R-CSAT-1)")
        .execution_options(synchronize_session=False)
    )
    return answered


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class ResultLine:
    grouping: str
    key: str
    sent: int  # surveys mailed (not withheld)
    answered: int
    withheld: int  # not mailed: the contact refused surveys
    average: float | None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": self.grouping,
            "key": self.key,
            "sent": self.sent,
            "answered": self.answered,
            "withheld": self.withheld,
            "response_rate": None if self.response_rate is None else round(self.response_rate, 4),
            "average_score": None if self.average is None else round(self.average, 2),
        }


def _in_scope(session: Session, principal: Principal) -> list[tuple[SurveyRow, str]]:
    principal.require(*READERS, action="read satisfaction surveys")
    query = select(SurveyRow, CustomerRow.code).join(CustomerRow, CustomerRow.id == SurveyRow.customer_id)
    scope = principal.customer_scope
    if scope is not None:
        query = query.where(SurveyRow.customer_id.in_(scope))
    return [(row, code) for row, code in session.execute(query.order_by(SurveyRow.sent_at, SurveyRow.id)).all()]


def _key(grouping: str, row: SurveyRow, customer: str) -> str:
    if grouping == "customer":
        return customer
    if grouping == "team":
        return row.team or "—"
    if grouping == "service":
        return row.service
    return f"{row.sent_at:%Y-%m}"


def results(session: Session, principal: Principal) -> dict[str, list[ResultLine]]:
    """The results by customer, team, service and month, each line with its response rate."""
    rows = _in_scope(session, principal)
    out: dict[str, list[ResultLine]] = {}
    for grouping in GROUPINGS:
        groups: dict[str, list[SurveyRow]] = defaultdict(list)
        for row, code in rows:
            groups[_key(grouping, row, code)].append(row)
        lines = []
        for key in sorted(groups):
            members = groups[key]
            scores = [r.score for r in members if r.score is not None]
            lines.append(
                ResultLine(
                    grouping,
                    key,
                    sum(1 for r in members if not r.withheld),
                    len(scores),
                    sum(1 for r in members if r.withheld),
                    sum(scores) / len(scores) if scores else None,
                )
            )
        out[grouping] = lines
    return out


def answers(session: Session, principal: Principal, *, limit: int = 50) -> list[tuple[SurveyRow, str]]:
    """The latest answers with their comments, newest first."""
    answered = [(r, c) for r, c in _in_scope(session, principal) if r.answered_at is not None]
    return sorted(answered, key=lambda rc: (rc[0].answered_at, rc[0].id), reverse=True)[:limit]


CSV_COLUMNS = ("grouping", "key", "sent", "answered", "withheld", "response_rate", "average_score")


def results_csv(session: Session, principal: Principal) -> str:
    """The results as CSV, UTF-8 with a byte-order mark (so spreadsheets read the accents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for lines in results(session, principal).values():
        for line in lines:
            d = line.to_dict()
            writer.writerow(["" if d[c] is None else d[c] for c in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()
