"""Signing in through an identity provider (OpenID Connect, issue 11): the button of
the sign-in page starts the trip (``GET /sso/{key}/start``), the provider sends the
browser back to ``GET /sso/callback``, which signs in or shows why not — in the
visitor's language, with what the check found, never a 500. The use case is
:mod:`unisupport.services.users.sso`; signing out (``web.auth``) goes on to the
provider's ``end_session_endpoint`` when the session was opened through one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from unisupport.errors import NotFound, SignInRefused
from unisupport.services.users import sso
from unisupport.services.users.failed_sign_ins import record_sign_in
from unisupport.web.auth import client_address, home_of
from unisupport.web.page import Page, WebRoute, local_path, page, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
CALLBACK = "/sso/callback"
# The reasons the refusal page explains in words of its own; others say "could not be trusted".
EXPLAINED = ("not-contact", "domain", "no-role", "inactive", "account", "state", "replayed", "browser")


def providers_of(request: Request) -> sso.IdentityProviders:
    return request.app.state.identity_providers


def directory_of(request: Request) -> sso.ProviderDirectory:
    return request.app.state.sso_directory


def absolute(request: Request, path: str) -> str:
    """``path`` on this site as the browser reaches it (scheme and host of the request,
    which a trusted proxy may have set: ``UNISUPPORT_TRUSTED_PROXIES``)."""
    return str(request.base_url).rstrip("/") + path


def refusal_page(p: Page, refusal: sso.Refusal):
    key = refusal.reason if refusal.reason in EXPLAINED else "other"
    context = {
        "reason": refusal.reason,
        "explanation": p.t(f"sso.refused.{key}", email=refusal.email or "?"),
        "message": refusal.message,
        "rule": refusal.rule,
    }
    return render(p, "sso_refused.html", context, status=403)


@router.get("/sso/{key}/start")
def start(request: Request, key: str, next: str | None = None) -> Response:
    """A link, not a form: the page's ``form-action 'self'`` would stop a form's
    redirect to the provider. Starting a trip signs no one in (the state is bound to
    this browser's session)."""
    provider = providers_of(request).get(key[:64])
    with page(request, anonymous=True, writes=True) as p:
        if provider is None:
            raise NotFound(f"no identity provider {key!r}", field="provider")
        try:
            url = sso.begin(
                p.db,
                directory_of(request),
                provider,
                browser=p.web.nonce,
                redirect_uri=absolute(request, CALLBACK),
                next_path=local_path(next),
                now=p.now,
            )
        except SignInRefused as refused:  # the provider cannot be reached or is not who it should be
            return refusal_page(p, sso.refuse(p.db, None, provider, refused, now=p.now))
        p.new_cookie = True  # the callback must come back to this very session
        return redirect(p, url)


@router.get(CALLBACK)
def callback(request: Request) -> Response:
    params = {k: v[:4096] for k, v in request.query_params.items() if k in ("code", "state", "error", "iss")}
    with page(request, anonymous=True, writes=True) as p:
        outcome = sso.finish(
            p.db,
            directory_of(request),
            providers_of(request),
            params=params,
            browser=p.web.nonce,
            redirect_uri=absolute(request, CALLBACK),
            now=p.now,
        )
        if isinstance(outcome, sso.Refusal):
            return refusal_page(p, outcome)
        principal = outcome.principal
        record_sign_in(p.db, principal, address=client_address(request), now=p.now)
        # A new session at sign-in, as with a password (web.auth), tied to this sign-in for its sign-out.
        p.replace_session(p.signer.new(p.now, user_id=principal.user_id))
        sso.bind_session(p.db, outcome.attempt_id, browser=p.web.nonce)
        next_url = outcome.next_path
        if next_url == "/":
            next_url = home_of(principal.role)
        return redirect(p, next_url)
