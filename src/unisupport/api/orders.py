"""``/api/v1/customers``, ``/api/v1/orders`` and ``/api/v1/bookings``: contracts,
what they hold, and the proactive services booked against them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field

from unisupport.access import BOOKERS, CONTRACT_READERS, DELIVERERS, Role
from unisupport.api.answers import (
    AuditEvent,
    Balances,
    Booking,
    Cancellation,
    CancellationQuote,
    Customer,
    EventSummary,
    Imported,
    Order,
    OrderWithHistory,
    Quote,
    Validation,
    answer,
)
from unisupport.api.json_body import JsonRoute
from unisupport.api.unit import bearer, remember, replay, unit
from unisupport.errors import NotFound
from unisupport.inputs import Input, Instant
from unisupport.orders.validation import validate_order
from unisupport.services import bookings, customers, incidents, ledger
from unisupport.services.audit import audit_trail
from unisupport.services.booking_requests import BookingIn
from unisupport.services.orders import import_order, order_in_scope, orders_in_scope, versions
from unisupport.storage.tables import CustomerRow, OrderRow

router = APIRouter(prefix="/api/v1", tags=["contracts"], route_class=JsonRoute)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _order(u, number: str) -> OrderRow:
    return order_in_scope(u.session, u.principal, number)


class CustomerIn(Input):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=200)


def _customer_view(c: CustomerRow) -> dict[str, Any]:
    return {"id": c.id, "code": c.code, "name": c.name, "created_at": c.created_at.isoformat()}


@router.post(
    "/customers",
    status_code=201,
    tags=["customers"],
    summary="Create a customer (admin)",
    responses=answer(Customer, 201, "Created"),
)
def create_customer(
    request: Request, data: CustomerIn, credentials: Credentials, key: IdempotencyKey = None
) -> JSONResponse:
    with unit(request, credentials) as u:
        u.principal.require(Role.ADMIN, action="create customers")
        replayed, digest = replay(u, key, "POST", request.url.path, data.model_dump())
        if replayed:
            return replayed
        row = customers.create_customer(u.session, code=data.code, name=data.name, actor=u.principal.email, now=u.now)
        response = remember(u, key, "POST", request.url.path, digest, 201, _customer_view(row))
    return response


@router.get(
    "/customers",
    tags=["customers"],
    summary="Customers you may see",
    responses=answer(list[Customer]),
)
def list_customers(request: Request, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        return [_customer_view(c) for c in customers.customers_in_scope(u.session, u.principal.customer_scope)]


@router.post(
    "/orders",
    tags=["orders"],
    summary="Create or amend an order from its document (same schema and checks as `order validate`)",
    responses=answer(Imported, 201, "Created") | answer(Imported, 200, "Amended or unchanged"),
)
def post_order(
    request: Request,
    credentials: Credentials,
    document: Annotated[dict[str, Any], Body(description="The order file as JSON (docs/order-file.md).")],
    key: IdempotencyKey = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
    expected_forfeit: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="What an amendment takes back or forfeits, as it was shown (`48 credits, 80 hours`); "
            "without it such an amendment is refused with what it would take.",
        ),
    ] = None,
) -> JSONResponse:
    with unit(request, credentials) as u:
        u.principal.require(Role.ADMIN, action="import orders")
        replayed, digest = replay(u, key, "POST", request.url.path, document)
        if replayed:
            return replayed
        result = import_order(
            u.session, document, actor=u.principal.email, now=u.now, reason=reason, expected_forfeit=expected_forfeit
        )
        status = 201 if result.outcome == "created" else 200
        response = remember(u, key, "POST", request.url.path, digest, status, result.to_dict())
    return response


@router.post(
    "/orders/validation",
    tags=["orders"],
    summary="Validate an order document without importing it",
    responses=answer(Validation),
)
def validate(request: Request, credentials: Credentials, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    with unit(request, credentials):
        violations = validate_order(document)
    return {
        "valid": not any(v.severity == "error" for v in violations),
        "violations": [v.to_dict() for v in violations],
    }


def _order_view(row: OrderRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "currency": row.currency,
        "price_list": row.price_list,
        "term": {"start": row.term_start.isoformat(), "end": row.term_end.isoformat()},
        "executed_on": row.executed_on.isoformat() if row.executed_on else None,
        "version": row.version,
    }


@router.get(
    "/orders",
    tags=["orders"],
    summary="Orders you may see",
    responses=answer(list[Order]),
)
def list_orders(request: Request, credentials: Credentials) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read orders")
        return [_order_view(r) for r in orders_in_scope(u.session, u.principal.customer_scope)]


@router.get(
    "/orders/{number}",
    tags=["orders"],
    summary="An order: its document and every version",
    responses=answer(OrderWithHistory),
)
def get_order(request: Request, number: str, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read orders")
        row = _order(u, number)
        history = versions(u.session, row)
        return _order_view(row) | {
            "document": history[-1].document,
            "history": [
                {
                    "version": v.version,
                    "at": v.at.isoformat(),
                    "actor": v.actor,
                    "reason": v.reason,
                    "changes": v.changes,
                }
                for v in history
            ],
        }


@router.get(
    "/orders/{number}/events/{code}/summary",
    tags=["orders"],
    summary="The post-event summary of an Azure event: the cases opened during it, each resolved or not (R-EVT-1)",
    responses=answer(EventSummary),
)
def get_event_summary(
    request: Request,
    number: Annotated[str, Path(max_length=64)],
    code: Annotated[str, Path(max_length=64)],
    credentials: Credentials,
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read orders")
        return incidents.event_summary(u.session, u.principal, number, code)


@router.get(
    "/orders/{number}/balances",
    tags=["orders"],
    summary="Balances of every account, derived from the append-only ledger",
    responses=answer(Balances),
)
def get_balances(
    request: Request,
    number: str,
    credentials: Credentials,
    entries: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read balances")
        row = _order(u, number)
        body: dict[str, Any] = {
            "order": number,
            "balances": [b.to_dict() for b in ledger.balances(u.session, customer_id=row.customer_id, order_id=row.id)],
        }
        if entries:
            body["entries"] = [
                {
                    "id": e.id,
                    "account": k,
                    "kind": e.kind,
                    "amount": str(e.amount),
                    "unit": e.unit,
                    "balance_after": str(e.balance_after),
                    "rule": e.rule,
                    "reason": e.reason,
                    "actor": e.actor,
                    "at": e.at.isoformat(),
                    "correlation": e.correlation,
                }
                for e, k in ledger.entries(u.session, customer_id=row.customer_id, order_id=row.id, limit=limit)
            ]
        return body


class CancellationIn(Input):
    expected_fee: Decimal | None = Field(
        default=None,
        ge=0,
        max_digits=14,
        decimal_places=4,
        description="The fee you were shown (GET …/cancellation); without it nothing is cancelled (R-BOOK-1).",
    )
    by_provider: bool = Field(
        default=False, description="The provider cancels a workshop below its minimum registrations (R-BOOK-2)."
    )
    registered: int | None = Field(
        default=None, ge=0, le=10000, description="How many registered (provider cancellation; default: attendees)."
    )
    reason: str | None = Field(default=None, max_length=500)


@router.post(
    "/bookings/quote",
    tags=["bookings"],
    summary="Price and check a booking without making it",
    responses=answer(Quote),
)
def quote_booking(request: Request, data: BookingIn, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*BOOKERS, action="book services")
        _check_order_scope(u, data.order)
        return bookings.quote(
            u.session, data.request(), now=u.now, provider=u.principal.role.is_provider, customer_id=_one_customer(u)
        ).to_dict()


def _one_customer(u) -> int | None:
    """Customer users act within their customer; CSAMs are checked on the order."""
    return u.principal.customer_id if u.principal.role.is_customer else None


def _check_order_scope(u, number: str) -> None:
    _order(u, number)  # NotFound outside the principal's customers


@router.post(
    "/bookings",
    status_code=201,
    tags=["bookings"],
    summary="Book a proactive service, confirming the quoted cost (R-BOOK-*, R-ORD-5, R-HRS-2, R-CRED-1)",
    responses=answer(Booking, 201, "Booked"),
)
def create_booking(
    request: Request, data: BookingIn, credentials: Credentials, key: IdempotencyKey = None
) -> JSONResponse:
    with unit(request, credentials) as u:
        u.principal.require(*BOOKERS, action="book services")
        _check_order_scope(u, data.order)
        replayed, digest = replay(u, key, "POST", request.url.path, data)
        if replayed:
            return replayed
        row = bookings.create_booking(
            u.session,
            data.request(),
            actor=u.principal.email,
            provider=u.principal.role.is_provider,
            now=u.now,
            customer_id=_one_customer(u),
            expected_cost=data.expected_cost,
        )
        body = bookings.booking_dict(row)
        headers = {"Location": f"/api/v1/bookings/{body['id']}"}
        response = remember(u, key, "POST", request.url.path, digest, 201, body, headers=headers)
    return response


def _booking(u, booking_id: int):
    row = bookings.get_booking(u.session, booking_id)
    if not u.principal.sees(row.customer_id):
        raise NotFound(f"no booking {booking_id}", field="booking")
    return row


@router.get(
    "/bookings",
    tags=["bookings"],
    summary="Bookings you may see",
    responses=answer(list[Booking]),
)
def list_bookings(
    request: Request, credentials: Credentials, order: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read bookings")
        rows = bookings.list_bookings(u.session, order=order)
        return [bookings.booking_dict(b) for b in rows if u.principal.sees(b.customer_id)]


@router.get(
    "/bookings/{booking_id}",
    tags=["bookings"],
    responses=answer(Booking),
)
def get_booking(request: Request, booking_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*CONTRACT_READERS, action="read bookings")
        return bookings.booking_dict(_booking(u, booking_id))


@router.get(
    "/bookings/{booking_id}/cancellation",
    tags=["bookings"],
    summary="The fee a cancellation would cost now (R-BOOK-1), before confirming",
    responses=answer(CancellationQuote),
)
def cancellation_quote(request: Request, booking_id: RecordId, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*BOOKERS, action="cancel bookings")
        row = _booking(u, booking_id)
        return bookings.quote_cancellation(u.session, row.id, now=u.now).to_dict(preview=True)


@router.post(
    "/bookings/{booking_id}/cancellation",
    tags=["bookings"],
    summary="Cancel, confirming the fee shown (R-BOOK-1), or as the provider (R-BOOK-2): refund and fee in the ledger",
    responses=answer(Cancellation),
)
def cancel(request: Request, booking_id: RecordId, data: CancellationIn, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*BOOKERS, action="cancel bookings")
        if data.by_provider:
            u.principal.require(Role.ADMIN, Role.CSAM, action="cancel as the provider")
        row = _booking(u, booking_id)
        result = bookings.cancel_booking(
            u.session,
            row.id,
            actor=u.principal.email,
            now=u.now,
            by_provider=data.by_provider,
            reason=data.reason,
            expected_fee=data.expected_fee,
            registered=data.registered,
        )
        return result.to_dict() | {"booking": bookings.booking_dict(row)}


class DeliveryIn(Input):
    note: str | None = Field(default=None, max_length=2000, description="What was delivered, for the audit trail.")
    at: Instant | None = Field(default=None, description="When it was delivered (not ahead of now); default now.")


@router.post(
    "/bookings/{booking_id}/delivery",
    tags=["bookings"],
    summary="Record that a scheduled service was delivered (provider): its contact gets one survey (R-CSAT-1)",
    responses=answer(Booking),
)
def deliver(request: Request, booking_id: RecordId, data: DeliveryIn, credentials: Credentials) -> dict[str, Any]:
    with unit(request, credentials) as u:
        u.principal.require(*DELIVERERS, action="record deliveries")
        row = _booking(u, booking_id)
        delivered = bookings.deliver_booking(
            u.session, row.id, actor=u.principal.email, now=u.now, note=data.note, at=data.at
        )
        return bookings.booking_dict(delivered)


@router.get(
    "/audit",
    tags=["audit"],
    summary="Audit events of a subject (order, booking, contact, user, customer …)",
    responses=answer(list[AuditEvent]),
)
def audit(
    request: Request,
    credentials: Credentials,
    subject_type: Annotated[str, Query(max_length=32)],
    subject_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    with unit(request, credentials) as u:
        u.principal.require(
            Role.ADMIN, Role.INCIDENT_MANAGER, Role.CSAM, Role.SUPPORT_ADMINISTRATOR, action="read the audit trail"
        )
        events = audit_trail(u.session, u.principal, subject_type=subject_type, subject_id=subject_id, limit=limit)
        return [
            {
                "id": e.id,
                "tag": e.tag,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "before": e.before,
                "after": e.after,
                "reason": e.reason,
                "rule": e.rule,
            }
            for e in events
        ]
