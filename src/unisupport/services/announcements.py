"""Announcements to the contacts of chosen customers (R-COM-1, docs/rules.md): an
incident manager or a CSAM (for the customers assigned to them) writes one in French
and English, previews who receives it and who refused its kind — and why — and sends
it through the outbox, one mail per contact in the contact's language, each with its
one-click unsubscribe. An announcement is optional mail: a contact who refused its
kind is not written to (checked again when the mail goes out)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.errors import InvalidInput, NotFound
from unisupport.inputs import Input
from unisupport.notifications.outbox import enqueue
from unisupport.notifications.preferences import refusing
from unisupport.services.audit import record_event
from unisupport.services.mail_preferences import RULE, contact_language
from unisupport.storage.tables import AnnouncementRow, ContactRow, CustomerRow

SENDERS = (Role.ADMIN, Role.INCIDENT_MANAGER, Role.CSAM)


class AnnouncementIn(Input):
    """An announcement as written: its kind (what a contact may refuse), subject and
    text in both languages, and the customers whose contacts receive it."""

    kind: Literal["announcement", "newsletter", "briefing"] = "announcement"
    subject_en: str = Field(min_length=1, max_length=200)
    subject_fr: str = Field(min_length=1, max_length=200)
    body_en: str = Field(min_length=1, max_length=10000)
    body_fr: str = Field(min_length=1, max_length=10000)
    customers: list[str] = Field(min_length=1, max_length=500, description="Customer codes.")


@dataclass(frozen=True)
class Recipient:
    """One contact of a chosen customer, and whether the announcement reaches them."""

    customer: str
    customer_name: str
    contact_id: int
    name: str
    email: str
    language: str
    receives: bool
    why: str  # in English; the page words it from ``receives``

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _customers(session: Session, principal: Principal, codes: list[str]) -> list[CustomerRow]:
    principal.require(*SENDERS, action="send announcements")
    found = []
    for code in dict.fromkeys(codes):
        customer = session.scalar(select(CustomerRow).where(CustomerRow.code == code))
        if customer is None or not principal.sees(customer.id):  # another CSAM's customer looks missing
            raise NotFound(f"no customer {code!r}", field="customers")
        found.append(customer)
    return found


def recipients(session: Session, principal: Principal, data: AnnouncementIn) -> list[Recipient]:
    """Who the announcement would reach, and who refused its kind (the preview; the
    send uses the same list)."""
    out: list[Recipient] = []
    for customer in _customers(session, principal, data.customers):
        contacts = list(
            session.scalars(
                select(ContactRow)
                .where(ContactRow.customer_id == customer.id, ContactRow.active.is_(True))
                .order_by(ContactRow.email)
            )
        )
        refused = refusing(session, [c.email for c in contacts], data.kind)
        for c in contacts:
            no = c.email.strip().lower() in refused
            out.append(
                Recipient(
                    customer.code,
                    customer.name,
                    c.id,
                    c.name,
                    c.email,
                    contact_language(session, c),
                    not no,
                    f"refused {data.kind} mail (R-COM-1)" if no else "contact of the customer",
                )
            )
    return out


def send(session: Session, principal: Principal, data: AnnouncementIn, *, now: datetime) -> AnnouncementRow:
    """Queue the announcement for every contact who did not refuse its kind."""
    people = recipients(session, principal, data)
    if not any(r.receives for r in people):
        raise InvalidInput("no contact of these customers receives this kind of mail", field="customers")
    row = AnnouncementRow(
        subject_en=data.subject_en,
        subject_fr=data.subject_fr,
        body_en=data.body_en,
        body_fr=data.body_fr,
        customers=[c for c in dict.fromkeys(data.customers)],
        queued=0,
        refused=sum(1 for r in people if not r.receives),
        created_by=principal.email,
        created_at=now,
    )
    session.add(row)
    session.flush()
    ids = {c.code: c.id for c in session.scalars(select(CustomerRow).where(CustomerRow.code.in_(data.customers)))}
    for r in people:
        if not r.receives:
            continue
        queued = enqueue(
            session,
            kind=data.kind,
            recipient=r.email,
            language=r.language,
            subject_type="announcement",
            subject_id=row.id,
            payload={
                "subject": data.subject_fr if r.language == "fr" else data.subject_en,
                "body": data.body_fr if r.language == "fr" else data.body_en,
                "customer_name": r.customer_name,
            },
            dedupe_key=f"announcement:{row.id}:{r.email.lower()}",
            not_before=now,
            customer_id=ids[r.customer],
            now=now,
        )
        row.queued += 1 if queued is not None else 0
    for code, customer_id in ids.items():
        record_event(
            session,
            customer_id=customer_id,
            subject_type="announcement",
            subject_id=row.id,
            tag=f"announcement:{data.kind}",
            actor=principal.email,
            at=now,
            after={
                "subject": data.subject_en,
                "to": [r.email for r in people if r.customer == code and r.receives],
                "refused": [r.email for r in people if r.customer == code and not r.receives],
            },
            rule=RULE,
        )
    session.flush()
    return row


def announcements(session: Session, principal: Principal) -> list[AnnouncementRow]:
    """The announcements sent to customers this principal sees, newest first."""
    principal.require(*SENDERS, action="see announcements")
    rows = session.scalars(select(AnnouncementRow).order_by(AnnouncementRow.id.desc()).limit(100))
    scope = principal.customer_scope
    if scope is None:
        return list(rows)
    codes = set(session.scalars(select(CustomerRow.code).where(CustomerRow.id.in_(scope))))
    return [r for r in rows if set(r.customers) <= codes]
