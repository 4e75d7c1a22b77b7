"""Platform outages, stored and told (R-MCSAP-5): an incident manager declares an
Azure-declared multi-customer outage, posts updates and its end; each notice goes at
once (MCSAP Plus is 24×7) to the pre-identified outage contacts of every MCSAP Plus
customer it concerns, in each contact's language, through the outbox. Every notice
keeps, per MCSAP customer, the decision and its reason
(``mission_critical.platform_outage.decide``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.access import Principal, Role
from unisupport.catalog.product import default_products
from unisupport.errors import InvalidInput, NotFound
from unisupport.mission_critical.platform_outage import (
    RULE,
    McsapHolder,
    NoticeDecision,
    OutageIn,
    OutageNoticeIn,
    decide,
    product_names,
)
from unisupport.notifications.outbox import Fanout, enqueue_fanout
from unisupport.notifications.wording import mail_language
from unisupport.orders.order_file import ContactRole, OrderStatus
from unisupport.refusal import Refused
from unisupport.services.audit import record_event
from unisupport.services.orders import current_document
from unisupport.services.webhooks import announce
from unisupport.storage.tables import (
    ContactRow,
    CustomerRow,
    OrderLineRow,
    OrderRow,
    OutageNoticeRow,
    PlatformOutageRow,
    SiteRow,
    UserRow,
)

DECLARERS = (Role.ADMIN, Role.INCIDENT_MANAGER)
MCSAP_LINES = ("mcsap", "mcsap-plus")


def _holders(session: Session, *, now: datetime) -> list[tuple[McsapHolder, CustomerRow, dict[str, str], SiteRow]]:
    """Every customer with an active order holding MCSAP today: the decision's facts,
    the customer, its outage contacts' languages and its host site."""
    today = now.date()
    lines = session.execute(
        select(OrderRow, OrderLineRow.service)
        .join(OrderLineRow, OrderLineRow.order_id == OrderRow.id)
        .where(
            OrderLineRow.service.in_(MCSAP_LINES),
            OrderLineRow.active.is_(True),
            OrderRow.status == OrderStatus.ACTIVE.value,
            OrderRow.term_start <= today,
            OrderRow.term_end >= today,
        )
        .order_by(OrderRow.number)
    ).all()
    plus_of: dict[int, tuple[OrderRow, bool]] = {}
    for order, service in lines:
        plus_of[order.id] = (order, plus_of.get(order.id, (order, False))[1] or service == "mcsap-plus")
    out = []
    for order, plus in plus_of.values():
        document = current_document(session, order)
        enrolled = frozenset(((document.get("scopes") or {}).get("mcsap") or {}).get("enrolled_products") or ())
        customer = session.get_one(CustomerRow, order.customer_id)
        host = session.get_one(SiteRow, order.host_site_id)
        contacts = [
            c
            for c in session.scalars(
                select(ContactRow)
                .where(ContactRow.customer_id == customer.id, ContactRow.active.is_(True))
                .order_by(ContactRow.email)
            )
            if ContactRole.OUTAGE_CONTACT.value in (c.roles or [])
        ]
        user_languages = (
            dict(
                session.execute(
                    select(UserRow.contact_id, UserRow.language).where(UserRow.contact_id.in_([c.id for c in contacts]))
                ).all()
            )
            if contacts
            else {}
        )
        languages = {c.email: mail_language(user_languages.get(c.id) or c.language or host.language) for c in contacts}
        out.append(
            (McsapHolder(customer.code, order.number, plus, enrolled, tuple(languages)), customer, languages, host)
        )
    return out


def audience(session: Session, principal: Principal, products: list[str], *, now: datetime) -> list[NoticeDecision]:
    """Who a notice about ``products`` would reach, and why — before anything is sent."""
    principal.require(*DECLARERS, action="declare platform outages")
    _check_products(products)
    return [decide(holder, products) for holder, *_ in _holders(session, now=now)]


def _check_products(products: list[str]) -> None:
    registry = default_products()
    for i, code in enumerate(products):
        registry.get(code, field=f"products[{i}]")


def declare(
    session: Session, principal: Principal, data: OutageIn, *, now: datetime
) -> tuple[PlatformOutageRow, OutageNoticeRow]:
    principal.require(*DECLARERS, action="declare platform outages")
    _check_products(data.products)
    if session.scalar(select(PlatformOutageRow.id).where(PlatformOutageRow.reference == data.reference)) is not None:
        raise InvalidInput(f"outage {data.reference} is already declared: post an update to it", field="reference")
    outage = PlatformOutageRow(
        reference=data.reference,
        title=data.title,
        products=sorted(set(data.products)),
        regions=list(dict.fromkeys(data.regions)),
        status="active",
        declared_at=now,
        declared_by=principal.email,
    )
    session.add(outage)
    session.flush()
    return outage, _notice(session, principal, outage, "declared", data.message, now=now)


def post_notice(
    session: Session, principal: Principal, outage_id: int, data: OutageNoticeIn, *, now: datetime
) -> OutageNoticeRow:
    """An update, or the end of the outage (``resolved``)."""
    principal.require(*DECLARERS, action="post platform outage notices")
    outage = session.get(PlatformOutageRow, outage_id, with_for_update=True)
    if outage is None:
        raise NotFound(f"no platform outage {outage_id}", field="id")
    if outage.status == "resolved":
        raise Refused(f"outage {outage.reference} was resolved; declare a new one", rule=RULE, field="id")
    if data.resolved:
        outage.status, outage.resolved_at = "resolved", now
    return _notice(session, principal, outage, "resolved" if data.resolved else "update", data.message, now=now)


def _notice(
    session: Session, principal: Principal, outage: PlatformOutageRow, kind: str, message: str, *, now: datetime
) -> OutageNoticeRow:
    sequence = (
        session.scalar(select(func.max(OutageNoticeRow.sequence)).where(OutageNoticeRow.outage_id == outage.id)) or 0
    ) + 1
    names = {p.code: (p.en, p.fr) for p in default_products()}
    decisions, fanout = [], []
    for holder, customer, languages, host in _holders(session, now=now):
        decision = decide(holder, outage.products)
        decisions.append(decision.to_dict())
        record_event(
            session,
            customer_id=customer.id,
            subject_type="platform-outage",
            subject_id=outage.id,
            tag=f"outage:{kind}",
            actor=principal.email,
            at=now,
            after={"reference": outage.reference, "notified": decision.notified, "contacts": list(decision.contacts)},
            reason=decision.reason,
            rule=RULE,
        )
        if not decision.notified:
            continue
        notice = {"kind": kind, "sequence": sequence, "message": message, "products": list(decision.affected_products)}
        data = {"outage": {"id": outage.id, "reference": outage.reference, "title": outage.title}, "notice": notice}
        data["outage"]["links"] = {"api": f"/api/v1/outages/{outage.id}"}
        announce(session, "outage.notice", customer_id=customer.id, data=data, now=now)
        payload = {
            "reference": outage.reference,
            "title": outage.title,
            "message": message,
            "notice": kind,
            "sequence": sequence,
            "customer_name": customer.name,
            "affected_en": product_names(decision.affected_products, names, "en"),
            "affected_fr": product_names(decision.affected_products, names, "fr"),
            "regions": ", ".join(outage.regions),
            "at": now.isoformat(),
            "timezone": host.timezone,
        }
        fanout += [
            Fanout(
                "outage.notice",
                "platform-outage",
                outage.id,
                customer.id,
                payload,
                now,
                recipient=email,
                language=languages[email],
                key_suffix=f":{sequence}",
            )
            for email in decision.contacts
        ]
    row = OutageNoticeRow(
        outage_id=outage.id,
        sequence=sequence,
        kind=kind,
        message=message,
        at=now,
        by=principal.email,
        decisions=decisions,
    )
    session.add(row)
    session.flush()
    enqueue_fanout(session, fanout, {}, now=now)
    return row


def outages(session: Session, principal: Principal) -> list[PlatformOutageRow]:
    """Outages the principal may see: all of them for those who see every customer;
    for a customer user or a CSAM, those told to their customers."""
    rows = list(
        session.scalars(
            select(PlatformOutageRow).order_by(PlatformOutageRow.declared_at.desc(), PlatformOutageRow.id.desc())
        )
    )
    codes = _codes_seen(session, principal)
    return [r for r in rows if _visible(session, codes, r)]


def get_outage(session: Session, principal: Principal, outage_id: int) -> PlatformOutageRow:
    row = session.get(PlatformOutageRow, outage_id)
    if row is None or not _visible(session, _codes_seen(session, principal), row):
        raise NotFound(f"no platform outage {outage_id}", field="id")
    return row


def _notices(session: Session, outage: PlatformOutageRow) -> list[OutageNoticeRow]:
    return list(
        session.scalars(
            select(OutageNoticeRow).where(OutageNoticeRow.outage_id == outage.id).order_by(OutageNoticeRow.sequence)
        )
    )


def _codes_seen(session: Session, principal: Principal) -> set[str] | None:
    """The codes of the customers whose decisions the principal sees; None: all."""
    scope = principal.customer_scope
    return None if scope is None else set(session.scalars(select(CustomerRow.code).where(CustomerRow.id.in_(scope))))


def _mine(codes: set[str] | None, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return decisions if codes is None else [d for d in decisions if d["customer"] in codes]


def _visible(session: Session, codes: set[str] | None, outage: PlatformOutageRow) -> bool:
    """Every outage for those who see every customer; for a customer user or a CSAM,
    one that one of their customers was told of (their tenant scope)."""
    if codes is None:
        return True
    return any(d["notified"] for n in _notices(session, outage) for d in _mine(codes, n.decisions))


def outage_view(session: Session, principal: Principal, outage: PlatformOutageRow) -> dict[str, Any]:
    """The outage and its notices; each notice's decisions limited to the customers
    the principal may see."""
    codes = _codes_seen(session, principal)
    return {
        "id": outage.id,
        "reference": outage.reference,
        "title": outage.title,
        "products": outage.products,
        "regions": outage.regions,
        "status": outage.status,
        "declared_at": outage.declared_at.isoformat(),
        "declared_by": outage.declared_by,
        "resolved_at": outage.resolved_at.isoformat() if outage.resolved_at else None,
        "rule": RULE,
        "notices": [
            {
                "sequence": n.sequence,
                "kind": n.kind,
                "message": n.message,
                "at": n.at.isoformat(),
                "by": n.by,
                "decisions": _mine(codes, n.decisions),
            }
            for n in _notices(session, outage)
        ],
    }
