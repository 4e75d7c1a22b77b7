"""The application: routes, error rendering, health checks, and the factory that
``unisupport serve`` (uvicorn) and the tests use. Nothing another process needs is
kept in memory: every request reads and writes the database."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from fastapi_offline import FastAPIOffline

from unisupport import __version__
from unisupport.api import (
    announcements,
    conversation,
    incidents,
    openapi,
    orders,
    outages,
    problems,
    remote_access,
    reports,
    search,
    sla,
    webhooks,
)
from unisupport.api.admission import Admission
from unisupport.api.answers import Health, answer
from unisupport.api.failures import UnexpectedErrors
from unisupport.clock import Clock, SystemClock
from unisupport.services.conversation import ConversationSettings
from unisupport.services.incidents import IncidentSettings
from unisupport.services.users.sso import IdentityProviders, ProviderDirectory, load_identity_providers
from unisupport.settings import BodyLimits, Settings, WebhookSettings
from unisupport.storage.blobs import BlobStore
from unisupport.storage.database import Database
from unisupport.web import install_web

DESCRIPTION = """Enterprise support contracts and incidents with explainable first-response targets.

Authenticate with `Authorization: Bearer <token>` (`unisupport token create --user EMAIL`).
Errors are RFC 9457 problems (`application/problem+json`) carrying the rule id (`rule`) of
`docs/rules.md` when a business rule refused, and field paths (`errors`) for malformed input."""


DOCS_ASSETS = "/docs/assets"


def create_app(
    database: Database,
    *,
    clock: Clock | None = None,
    incident_settings: IncidentSettings | None = None,
    extra_routers: list[Any] | None = None,
    body_limits: BodyLimits | None = None,
    trusted_proxies: Sequence[str] = (),
    blobs: BlobStore | None = None,
    conversation_settings: ConversationSettings | None = None,
    webhook_settings: WebhookSettings | None = None,
    identity_providers: IdentityProviders | None = None,
    sso_directory: ProviderDirectory | None = None,
) -> FastAPI:
    """The application. Its layers, outermost first: the trusted proxies' view of
    the client (``UNISUPPORT_TRUSTED_PROXIES``; none: the peer is the client), the
    security headers (``web``), unexpected errors (``api.failures``), the body limit
    and the token of writes (``api.admission``), then the routes. /docs and /redoc
    serve Swagger UI's and ReDoc's files from the app itself (fastapi-offline ships
    them): they work without Internet (D32). ``blobs``: where attachments are kept
    (None: the environment's, on first use). ``identity_providers``: the single
    sign-on providers (``identity-providers.yaml``; None: none, passwords only), and
    ``sso_directory`` what they publish (their keys), kept for the process.
    ``webhook_settings``: where subscriptions may point (none: public https:// targets only)."""
    app = FastAPIOffline(
        title="unisupport",
        version=__version__,
        description=DESCRIPTION,
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the validator's site
    )
    app.state.database = database
    app.state.clock = clock or SystemClock()
    app.state.incident_settings = incident_settings or IncidentSettings()
    app.state.blobs = blobs
    app.state.conversation_settings = conversation_settings or ConversationSettings()
    app.state.webhook_settings = webhook_settings or WebhookSettings()
    app.state.identity_providers = identity_providers or IdentityProviders()
    app.state.sso_directory = sso_directory or ProviderDirectory()
    problems.install(app)

    @app.get("/healthz", tags=["health"], summary="The process is up (no database)", responses=answer(Health))
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database is reachable",
        responses=answer(Health) | problems.responses(503),
    )
    def readyz() -> JSONResponse:
        if database.ping():
            return JSONResponse({"status": "ready"})
        return problems.problem(503, "Not ready", "the database is unreachable", kind="not-ready")

    # Every API operation declares the problems it may answer (docs/decisions.md D92).
    for module in (
        incidents,
        conversation,
        remote_access,
        orders,
        outages,
        announcements,
        reports,
        sla,
        search,
        webhooks,
    ):
        app.include_router(module.router, responses=problems.API_PROBLEMS)
    for router in extra_routers or ():
        app.include_router(router, responses=problems.API_PROBLEMS)
    openapi.install(app)
    app.add_middleware(Admission, limits=body_limits or BodyLimits())
    app.add_middleware(UnexpectedErrors)
    install_web(app)  # the portal and console pages (unisupport.web), and the security headers
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``unisupport serve --workers N``): each
    worker builds its own engine from the environment; migrations ran before."""
    settings = Settings.from_env()
    app = create_app(
        Database.from_settings(settings, migrate_now=False),
        incident_settings=settings.incident_settings(),
        body_limits=settings.body_limits,
        trusted_proxies=settings.trusted_proxies,
        blobs=BlobStore(settings.blobs_path),
        conversation_settings=settings.conversation_settings(),
        webhook_settings=settings.webhooks,
        identity_providers=load_identity_providers(),
    )
    # What exists now (modules, the app, the mappers, the data files) lives as long as
    # the process: out of the cyclic collector's reach, a full collection scans about
    # 10,000 objects instead of 190,000 — pauses of ~4 ms instead of ~100 ms, which
    # every request in flight waited for (docs/decisions.md D39).
    gc.freeze()
    return app
