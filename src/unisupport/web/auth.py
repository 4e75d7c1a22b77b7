"""Signing in and out, the language switch, and the home page's redirect.

How often a password may be tried is
:mod:`unisupport.services.users.failed_sign_ins`'s: per account and per address,
slowed rather than locked for an account a stranger is guessing at."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from unisupport.access import Role
from unisupport.services.users import end_session, principal_for_password, sso, update_user
from unisupport.services.users.failed_sign_ins import (
    WINDOW,
    record_failure,
    record_sign_in,
    record_sign_out,
    wait_before_trying,
)
from unisupport.web.i18n import LANGUAGES
from unisupport.web.page import Form, Page, WebRoute, csrf_form, local_path, page, redirect, render
from unisupport.web.session import with_language

router = APIRouter(route_class=WebRoute, include_in_schema=False)
FormData = Annotated[Form, Depends(csrf_form)]


def client_address(request: Request) -> str:
    """The peer address, or the client a trusted proxy forwarded for
    (``UNISUPPORT_TRUSTED_PROXIES``: ``api.app`` rewrites the peer)."""
    return request.client.host if request.client else "unknown"


def home_of(role: Role) -> str:
    """Where a user lands: customers on their dashboard, CSAMs (who follow
    customers rather than work incidents) on their customers, others on the queue."""
    if role.is_customer:
        return "/dashboard"
    return "/customers" if role is Role.CSAM else "/queue"


def _sign_in_page(p: Page, *, email: str = "", next_url: str = "/", error: str | None = None, status: int = 200):
    providers: sso.IdentityProviders = p.request.app.state.identity_providers
    context = {"email": email, "next": next_url, "error": error, "sso_providers": providers.providers}
    return render(p, "sign_in.html", context, status=status)


@router.get("/")
def home(request: Request) -> Response:
    with page(request, anonymous=True) as p:
        if p.viewer is None:
            return redirect(p, "/sign-in")
        return redirect(p, home_of(p.principal.role))


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    with page(request, anonymous=True) as p:
        if p.viewer is not None:
            return redirect(p, local_path(next))
        return _sign_in_page(p, next_url=local_path(next))


@router.post("/sign-in")
def sign_in(request: Request, form: FormData) -> Response:
    email = (form.get("email") or "").strip().lower()[:254]
    password = form.get("password") or ""
    next_url = local_path(form.get("next"))
    address = client_address(request)
    with page(request, anonymous=True) as p:
        wait = wait_before_trying(p.db, email=email, address=address, now=p.now)
        if wait is not None:
            error = (
                p.t("signin.slowed", seconds=wait.seconds)
                if wait.slowed
                else p.t("signin.too_many", minutes=int(WINDOW.total_seconds() // 60))
            )
            response = _sign_in_page(p, email=email, next_url=next_url, status=429, error=error)
            response.headers["Retry-After"] = str(wait.seconds)
            return response
        principal = principal_for_password(p.db, email, password) if email and password else None
        if principal is None:
            record_failure(p.db, email=email, address=address, now=p.now)
            return _sign_in_page(p, email=email, next_url=next_url, status=401, error=p.t("signin.failed"))
        sso_only = sso.refuse_password(p.db, request.app.state.identity_providers, principal, now=p.now)
        if sso_only is not None:  # the customer's password sign-in is off: its provider only
            error = p.t("sso.password_off", label=sso_only.label)
            return _sign_in_page(p, email=email, next_url=next_url, status=403, error=error)
        record_sign_in(p.db, principal, address=address, now=p.now)
        # A new nonce at sign-in: a token seen before signing in is worthless after.
        p.replace_session(p.signer.new(p.now, user_id=principal.user_id))
        if next_url == "/":
            next_url = home_of(principal.role)
        return redirect(p, next_url)


@router.post("/sign-out")
def sign_out(request: Request, form: FormData) -> Response:
    """Signs the session out here and, when it was opened through an identity
    provider, at the provider too (RP-initiated sign-out, which comes back to the
    sign-in page)."""
    with page(request, anonymous=True) as p:
        at_provider = None
        if p.viewer is not None:
            at_provider = sso.end_session_url(
                p.db,
                request.app.state.sso_directory,
                request.app.state.identity_providers,
                browser=p.web.nonce,
                post_logout_redirect_uri=str(request.base_url).rstrip("/") + "/sign-in",
            )
            record_sign_out(p.db, p.principal, now=p.now)
            # The old cookie stays signed and unexpired: the server must refuse it.
            end_session(
                p.db,
                session_id=p.web.nonce,
                user_id=p.principal.user_id,
                expires_at=datetime.fromtimestamp(p.web.expires_at, UTC),
                now=p.now,
            )
        p.replace_session(p.signer.new(p.now, language=p.language))
        if at_provider is not None:
            # A page that goes on to the provider (a redirect answering a form would
            # break the pages' ``form-action 'self'``).
            return render(p, "sso_sign_out.html", {"url": at_provider})
        return redirect(p, "/sign-in")


@router.post("/language")
def switch_language(request: Request, form: FormData) -> Response:
    """The visible switch: saved on the user (``users.language``) when signed in,
    in the session cookie otherwise."""
    language = form.get("language")
    back = local_path(form.get("next"))
    with page(request, anonymous=True) as p:
        if language in LANGUAGES:
            if p.viewer is not None:
                update_user(p.db, email=p.principal.email, language=language, actor=p.principal.email, now=p.now)
            else:
                p.replace_session(with_language(p.web, language))
        return redirect(p, back)
