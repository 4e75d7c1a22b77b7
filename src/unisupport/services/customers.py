"""Customers, sites and designated contacts as an order file describes them
(R-ORD-4, R-MC-1). Every change to a contact is an audit event with who and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.errors import NotFound, Refused
from unisupport.orders.order_file import OrderFile
from unisupport.services.audit import record_event
from unisupport.storage.tables import ContactRow, CustomerRow, SiteRow


def create_customer(session: Session, *, code: str, name: str, actor: str, now: datetime) -> CustomerRow:
    """A new customer (R-ORD-1: codes are unique), with its audit event."""
    if customer_by_code(session, code) is not None:
        raise Refused(f"customer {code!r} already exists", rule="R-ORD-1", field="code")
    return _new_customer(session, code=code, name=name, actor=actor, now=now)


def _new_customer(session: Session, *, code: str, name: str, actor: str, now: datetime) -> CustomerRow:
    row = CustomerRow(code=code, name=name, created_at=now)
    session.add(row)
    session.flush()
    record_event(
        session,
        customer_id=row.id,
        subject_type="customer",
        subject_id=row.id,
        tag="customer:create",
        actor=actor,
        at=now,
        after={"code": row.code, "name": row.name},
    )
    return row


def upsert_customer(session: Session, order: OrderFile, *, actor: str, now: datetime) -> CustomerRow:
    row = customer_by_code(session, order.customer.code)
    if row is None:
        row = _new_customer(session, code=order.customer.code, name=order.customer.name, actor=actor, now=now)
    elif row.name != order.customer.name:
        record_event(
            session,
            customer_id=row.id,
            subject_type="customer",
            subject_id=row.id,
            tag="customer:rename",
            actor=actor,
            at=now,
            before={"name": row.name},
            after={"name": order.customer.name},
        )
        row.name = order.customer.name
    return row


def _site_fields(site) -> dict:
    return {
        "name": site.name,
        "country": site.country,
        "timezone": site.timezone,
        "language": site.language,
        "calendar": site.calendar.model_dump(mode="json"),
    }


def upsert_sites(
    session: Session, customer: CustomerRow, order: OrderFile, *, actor: str, now: datetime
) -> dict[str, int]:
    """The order's sites by code → id, creating or updating them."""
    existing = {s.code: s for s in session.scalars(select(SiteRow).where(SiteRow.customer_id == customer.id))}
    ids = {}
    for site in order.sites:
        fields = _site_fields(site)
        row = existing.get(site.id)
        if row is None:
            row = SiteRow(customer_id=customer.id, code=site.id, **fields)
            session.add(row)
            session.flush()
            record_event(
                session,
                customer_id=customer.id,
                subject_type="site",
                subject_id=row.id,
                tag="site:create",
                actor=actor,
                at=now,
                after={"code": site.id, **fields},
            )
        else:
            before = {k: getattr(row, k) for k in fields}
            if before != fields:
                for k, v in fields.items():
                    setattr(row, k, v)
                record_event(
                    session,
                    customer_id=customer.id,
                    subject_type="site",
                    subject_id=row.id,
                    tag="site:update",
                    actor=actor,
                    at=now,
                    before=before,
                    after=fields,
                )
        ids[site.id] = row.id
    return ids


def sync_contacts(
    session: Session, customer: CustomerRow, order: OrderFile, site_ids: dict[str, int], *, actor: str, now: datetime
) -> None:
    """Make the customer's designated contacts those of the order (R-ORD-4): add,
    change and withdraw, each recorded with who and when."""
    existing = {c.email: c for c in session.scalars(select(ContactRow).where(ContactRow.customer_id == customer.id))}
    listed = set()
    for contact in order.contacts:
        email = contact.email.lower()
        listed.add(email)
        fields = {
            "name": contact.name,
            "roles": sorted(r.value for r in contact.roles),
            "site_id": site_ids.get(contact.site or order.host_site),
            "language": contact.language,
            "phone": contact.phone,
            "active": True,
        }
        row = existing.get(email)
        if row is None:
            row = ContactRow(customer_id=customer.id, email=email, **fields)
            session.add(row)
            session.flush()
            record_event(
                session,
                customer_id=customer.id,
                subject_type="contact",
                subject_id=row.id,
                tag="contact:add",
                actor=actor,
                at=now,
                after={"email": email, **fields},
                rule="R-ORD-4",
            )
            continue
        before = {k: getattr(row, k) for k in fields}
        if before != fields:
            for k, v in fields.items():
                setattr(row, k, v)
            record_event(
                session,
                customer_id=customer.id,
                subject_type="contact",
                subject_id=row.id,
                tag="contact:update",
                actor=actor,
                at=now,
                before=before,
                after=fields,
                rule="R-ORD-4",
            )
    for email, row in existing.items():
        if email not in listed and row.active:
            row.active = False
            record_event(
                session,
                customer_id=customer.id,
                subject_type="contact",
                subject_id=row.id,
                tag="contact:withdraw",
                actor=actor,
                at=now,
                before={"active": True},
                after={"active": False},
                rule="R-ORD-4",
            )
    session.flush()


def customer_by_code(session: Session, code: str) -> CustomerRow | None:
    return session.scalar(select(CustomerRow).where(CustomerRow.code == code))


def customer_by_id(session: Session, customer_id: int) -> CustomerRow:
    """The customer a row points to (its foreign key: it exists)."""
    row = session.get(CustomerRow, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id}", field="customer_id")
    return row


def site_by_id(session: Session, site_id: int) -> SiteRow:
    """The site a row points to (its foreign key: it exists)."""
    row = session.get(SiteRow, site_id)
    if row is None:
        raise NotFound(f"no site {site_id}", field="site_id")
    return row


def contact_by_id(session: Session, contact_id: int | None) -> ContactRow | None:
    """An incident's designated contact (R-ORD-4), or None when it has none."""
    return session.get(ContactRow, contact_id) if contact_id is not None else None


def customers_in_scope(session: Session, customer_scope: frozenset[int] | None) -> list[CustomerRow]:
    """Customers a principal may see (``Principal.customer_scope``; None: all), by code."""
    query = select(CustomerRow).order_by(CustomerRow.code)
    if customer_scope is not None:
        query = query.where(CustomerRow.id.in_(customer_scope))
    return list(session.scalars(query))


def preload(session: Session, rows: Sequence[Any]) -> list[Any]:
    """The sites and customers ``rows`` (incidents) point to, in two queries: hold the
    list while :func:`site_by_id` and :func:`customer_by_id` read them again from the
    session (its identity map keeps only the rows something references)."""
    sites = {r.site_id for r in rows}
    customers = {r.customer_id for r in rows}
    if not rows:
        return []
    return [
        *session.scalars(select(SiteRow).where(SiteRow.id.in_(sorted(sites)))),
        *session.scalars(select(CustomerRow).where(CustomerRow.id.in_(sorted(customers)))),
    ]
