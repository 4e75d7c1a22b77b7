"""The web portal (customers) and console (provider users): server-rendered pages
in French and English, served by the same FastAPI application as the API and built
on the same services.

``install_web(app)`` is called at the end of ``api.app.create_app``: it checks the
message catalog (a missing translation stops the start), mounts ``/static`` (every
script, style and icon comes from the app: no CDN), adds the pages' routers and
the security headers. Nothing is kept in memory that another process needs: the
session is a signed cookie and every request reads the database."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unisupport.web import (
    auth,
    pages_accounts,
    pages_admin,
    pages_confirm,
    pages_conversation,
    pages_customer,
    pages_entitlement,
    pages_incident,
    pages_communications,
    pages_outages,
    pages_webhooks,
    pages_surveys,
    pages_provider,
    pages_sso,
    pages_reports,
    pages_remote_access,
    pages_third_party,
    pages_views,
)
from unisupport.web.i18n import default_catalog
from unisupport.web.page import error_page

STATIC = Path(__file__).with_name("static")

# No inline script or style anywhere: scripts and styles are files under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
# The interactive API documentation (served from the app, D32) starts Swagger UI and
# ReDoc with an inline script: it keeps its own headers.
UNGUARDED = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response but the API documentation's."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNGUARDED):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    h for h in SECURITY_HEADERS if h[0] not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def page_above(app: FastAPI, path: str) -> str:
    """The nearest page above ``path`` (``/admin/users/active`` → ``/admin/users``),
    else the home page: where a browser reopening a form's address is sent."""
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            return candidate
    return "/"


def install_web(app: FastAPI) -> None:
    default_catalog()  # loads and checks both languages now, not at the first page
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth,
        pages_incident,
        pages_conversation,
        pages_customer,
        pages_provider,
        pages_third_party,
        pages_remote_access,
        pages_entitlement,
        pages_outages,
        pages_reports,
        pages_webhooks,
        pages_communications,
        pages_surveys,
        pages_accounts,
        pages_admin,
        pages_confirm,
        pages_sso,
        pages_views,
    ):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)

    # A browser asking for a page that does not exist gets a page; API clients keep
    # their problem JSON.
    api_handler = app.exception_handlers.get(StarletteHTTPException)

    async def http_error(request: Request, exc: StarletteHTTPException):
        if _wants_html(request) and exc.status_code == 405 and request.method == "GET":
            # A form's address reopened (a bookmark, the history): its page, not an error.
            return RedirectResponse(page_above(app, request.url.path), status_code=303)
        if _wants_html(request) and exc.status_code in (404, 405):
            return error_page(request, exc.status_code)
        return await api_handler(request, exc)  # type: ignore[misc]  # FastAPI's handler is async

    if api_handler is not None:
        # Ignored: Starlette types every handler as taking any Exception, not the class it is for.
        app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
