"""The addresses an incident's public messages are mailed to besides its contact
(docs/decisions.md D75): added by a provider user (any address) or by a customer
user (addresses of the customer's own mail domains, so that nobody uses the support
desk to mail strangers), at most ``incidents.conversation.MAX_CC``; each change an
event on the timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.errors import InvalidInput, NotFound
from unisupport.incidents.conversation import check_cc, mail_address
from unisupport.services.incidents.changes import add_event, check_version, get_incident
from unisupport.storage.tables import ContactRow, CopyRow, IncidentRow


def copies_of(session: Session, incident: IncidentRow) -> list[CopyRow]:
    return list(
        session.scalars(
            select(CopyRow)
            .where(CopyRow.incident_id == incident.id, CopyRow.customer_id == incident.customer_id)
            .order_by(CopyRow.id)
        )
    )


def _customer_domains(session: Session, customer_id: int) -> set[str]:
    emails = session.scalars(select(ContactRow.email).where(ContactRow.customer_id == customer_id))
    return {email.rpartition("@")[2].lower() for email in emails}


def add_copies(
    session: Session, principal: Principal, incident: IncidentRow, addresses: list[str], *, now: datetime
) -> list[CopyRow]:
    """Add ``addresses`` to the copy list (those already on it, and the contact, are
    left out); refused whole, naming ``cc[i]``, when one of them may not be added."""
    if not addresses:
        return []
    existing = [c.email for c in copies_of(session, incident)]
    contact = session.get(ContactRow, incident.contact_id)
    wanted = [a for a in check_cc(addresses, already=existing) if contact is None or a != contact.email.lower()]
    if principal.role.is_customer:
        domains = _customer_domains(session, incident.customer_id)
        for i, address in enumerate(addresses):
            if address.strip().lower().rpartition("@")[2] not in domains:
                raise InvalidInput(
                    f"{address.strip()} is not an address of your organisation: ask the engineer to copy it",
                    field=f"cc[{i}]",
                )
    rows = [
        CopyRow(
            customer_id=incident.customer_id, incident_id=incident.id, email=a, added_by=principal.email, added_at=now
        )
        for a in wanted
    ]
    if rows:
        session.add_all(rows)
        add_event(session, incident, kind="copies-added", actor=principal.email, at=now, after={"emails": wanted})
        session.flush()
    return rows


def remove_copy(
    session: Session,
    principal: Principal,
    incident_id: int,
    address: str,
    *,
    now: datetime,
    expected_version: int | None = None,
) -> IncidentRow:
    """Take an address off the copy list (anyone on the incident may: customers
    withdraw their colleagues, engineers a wrong address)."""
    incident = get_incident(session, principal, incident_id, lock=True)
    check_version(incident, expected_version)
    email = mail_address(address, field="email")
    removed = session.execute(
        delete(CopyRow).where(CopyRow.incident_id == incident.id, CopyRow.email == email)
    ).rowcount  # type: ignore[attr-defined]
    if not removed:
        raise NotFound(f"{email} is not copied on incident {incident.id}", field="email")
    add_event(session, incident, kind="copy-removed", actor=principal.email, at=now, before={"email": email})
    incident.version += 1
    incident.updated_at = now
    session.flush()
    return incident
