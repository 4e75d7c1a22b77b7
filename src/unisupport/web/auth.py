"""Signing in and out, the language switch, and the home page's redirect.

Failed sign-ins are rate-limited without a table of their own: each failure is an
audit event (tag ``auth:failure``, subject ``login`` keyed by the client address,
actor the e-mail typed), and a sign-in is refused with 429 while the e-mail has
:data:`MAX_FAILURES_PER_EMAIL` failures, or the address :data:`MAX_FAILURES_PER_ADDRESS`,
in the last :data:`WINDOW`. Counting rows in the database, rather than in memory,
holds across every worker process and machine. A refused attempt is not checked
and not counted, so the window ends 15 minutes after the last counted failure."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from unisupport.access import Role
from unisupport.services.audit import record_event
from unisupport.services.users import end_session, principal_for_password, update_user
from unisupport.storage.tables import AuditEvent
from unisupport.web.i18n import LANGUAGES
from unisupport.web.page import Form, Page, WebRoute, csrf_form, local_path, page, redirect, render
from unisupport.web.session import with_language

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
# Higher: an office behind one address shares it.
MAX_FAILURES_PER_ADDRESS = 20
FAILURE = "auth:failure"


def client_address(request: Request) -> str:
    """The peer address (uvicorn replaces it with X-Forwarded-For only for trusted
    proxies: ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


def _address_key(address: str) -> int:
    # The audit table's index is (subject_type, subject_id): a 31-bit digest of the
    # address makes the per-address count an indexed lookup.
    return zlib.crc32(address.encode()) & 0x7FFFFFFF


def recent_failures(session: Session, *, email: str, address: str, now) -> tuple[int, int]:
    """Failures in the last :data:`WINDOW` for this e-mail and for this address."""
    recent = (
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.subject_type == "login",
            AuditEvent.tag == FAILURE,
            AuditEvent.at > now - WINDOW,
            AuditEvent.at <= now,
        )
    )
    by_email = session.scalar(recent.where(AuditEvent.actor == email)) or 0
    by_address = (
        session.scalar(
            recent.where(AuditEvent.subject_id == _address_key(address), AuditEvent.reason == f"from {address}")
        )
        or 0
    )
    return by_email, by_address


def home_of(role: Role) -> str:
    """Where a user lands: customers on their dashboard, CSAMs (who follow
    customers rather than work incidents) on their customers, others on the queue."""
    if role.is_customer:
        return "/dashboard"
    return "/customers" if role is Role.CSAM else "/queue"


def _sign_in_page(p: Page, *, email: str = "", next_url: str = "/", error: str | None = None, status: int = 200):
    return render(p, "sign_in.html", {"email": email, "next": next_url, "error": error}, status=status)


@router.get("/")
def home(request: Request) -> Response:
    with page(request, anonymous=True) as p:
        if p.principal is None:
            return redirect(p, "/sign-in")
        return redirect(p, home_of(p.principal.role))


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    with page(request, anonymous=True) as p:
        if p.principal is not None:
            return redirect(p, local_path(next))
        return _sign_in_page(p, next_url=local_path(next))


@router.post("/sign-in")
def sign_in(request: Request, form: FormData) -> Response:
    email = (form.get("email") or "").strip().lower()[:254]
    password = form.get("password") or ""
    next_url = local_path(form.get("next"))
    address = client_address(request)
    with page(request, anonymous=True) as p:
        by_email, by_address = recent_failures(p.db, email=email, address=address, now=p.now)
        if by_email >= MAX_FAILURES_PER_EMAIL or by_address >= MAX_FAILURES_PER_ADDRESS:
            response = _sign_in_page(
                p,
                email=email,
                next_url=next_url,
                status=429,
                error=p.t("signin.too_many", minutes=int(WINDOW.total_seconds() // 60)),
            )
            response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
            return response
        principal = principal_for_password(p.db, email, password) if email and password else None
        if principal is None:
            record_event(
                p.db,
                customer_id=None,
                subject_type="login",
                subject_id=_address_key(address),
                tag=FAILURE,
                actor=email or "(none)",
                at=p.now,
                reason=f"from {address}",
            )
            return _sign_in_page(p, email=email, next_url=next_url, status=401, error=p.t("signin.failed"))
        record_event(
            p.db,
            customer_id=principal.customer_id,
            subject_type="user",
            subject_id=principal.user_id,
            tag="auth:sign-in",
            actor=principal.email,
            at=p.now,
            reason=f"from {address}",
        )
        # A new nonce at sign-in: a token seen before signing in is worthless after.
        p.replace_session(p.signer.new(p.now, user_id=principal.user_id))
        if next_url == "/":
            next_url = home_of(principal.role)
        return redirect(p, next_url)


@router.post("/sign-out")
def sign_out(request: Request, form: FormData) -> Response:
    with page(request, anonymous=True) as p:
        if p.principal is not None:
            record_event(
                p.db,
                customer_id=p.principal.customer_id,
                subject_type="user",
                subject_id=p.principal.user_id,
                tag="auth:sign-out",
                actor=p.principal.email,
                at=p.now,
            )
            # The old cookie stays signed and unexpired: the server must refuse it.
            end_session(
                p.db,
                session_id=p.web.nonce,
                user_id=p.principal.user_id,
                expires_at=datetime.fromtimestamp(p.web.expires_at, UTC),
                now=p.now,
            )
        p.replace_session(p.signer.new(p.now, language=p.language))
        return redirect(p, "/sign-in")


@router.post("/language")
def switch_language(request: Request, form: FormData) -> Response:
    """The visible switch: saved on the user (``users.language``) when signed in,
    in the session cookie otherwise."""
    language = form.get("language")
    back = local_path(form.get("next"))
    with page(request, anonymous=True) as p:
        if language in LANGUAGES:
            if p.principal is not None:
                update_user(p.db, email=p.principal.email, language=language, actor=p.principal.email, now=p.now)
            else:
                p.replace_session(with_language(p.web, language))
        return redirect(p, back)
