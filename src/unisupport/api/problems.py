"""Errors as RFC 9457 ``application/problem+json``, rendered in one place.

401 no or bad token · 403 a role not allowed in its own tenant · 404 missing or
another tenant's · 409 a business rule refused (with ``rule``) · 412 a stale
``If-Match`` · 413 a file or a message over its limit · 422 a malformed payload
(with ``errors``: field paths). Nothing
else escapes as a 500 with a stack trace: an unexpected error is logged and answered
with a bare problem."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from unisupport.access import Forbidden
from unisupport.datafile import field_path
from unisupport.errors import InvalidInput, NotFound, UnisupportError
from unisupport.incidents.attachment import TooLarge
from unisupport.refusal import Refused
from unisupport.services.incidents import StaleVersion
from unisupport.services.orders import OrderInvalid

log = logging.getLogger("unisupport.api")
MEDIA = "application/problem+json"
TYPES = "https://unisupport.invalid/problems/"


class Unauthorized(UnisupportError):
    """No token, or one that is unknown, revoked or whose user is inactive."""


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    rule: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPES + kind, "title": title, "status": status, "detail": detail}
    if rule:
        body["rule"] = rule
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _field_path(loc: tuple) -> str:
    parts = tuple(p for p in loc if p not in ("body", "query", "path", "header"))
    return field_path(parts) or ".".join(str(p) for p in loc)


def from_error(exc: UnisupportError) -> JSONResponse:
    errors = [{"path": exc.field, "message": exc.message, "rule": exc.rule}] if exc.field else None
    if isinstance(exc, Unauthorized):
        return problem(401, "Unauthorized", exc.message, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, Forbidden):
        return problem(403, "Forbidden", exc.message, kind="forbidden")
    if isinstance(exc, NotFound):
        return problem(404, "Not found", exc.message, kind="not-found")
    if isinstance(exc, StaleVersion):
        return problem(412, "Precondition failed", exc.message, kind="stale-version")
    if isinstance(exc, OrderInvalid):
        return problem(
            422,
            "Invalid order",
            exc.message,
            kind="invalid-order",
            rule=exc.rule,
            errors=[v.to_dict() for v in exc.violations],
        )
    if isinstance(exc, Refused):
        return problem(
            409,
            "Refused by a rule",
            exc.message,
            kind="rule",
            rule=exc.rule,
            errors=errors,
            extra={"details": exc.details} if exc.details else None,
        )
    if isinstance(exc, TooLarge):
        return problem(413, "Content too large", exc.message, kind="too-large", errors=errors)
    if isinstance(exc, InvalidInput):
        return problem(422, "Invalid input", exc.message, kind="invalid-input", rule=exc.rule, errors=errors)
    return problem(400, "Bad request", exc.message, kind="bad-request", rule=exc.rule, errors=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(UnisupportError)
    async def _domain(request: Request, exc: UnisupportError) -> JSONResponse:
        return from_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in exc.errors()
        ]
        first = errors[0] if errors else {"path": "", "message": "invalid"}
        return problem(
            422, "Invalid input", f"{first['path']}: {first['message']}", kind="invalid-input", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            kind=f"http-{exc.status_code}",
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
        # A concurrent request created the same thing first (an Idempotency-Key, a code).
        return problem(409, "Conflict", "a concurrent request changed the same record; retry", kind="conflict")

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold, such as a NUL character in text.
        return problem(
            422,
            "Invalid input",
            "a value cannot be stored (text must not contain NUL characters; numbers must fit)",
            kind="invalid-input",
            errors=[],
        )

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(
            503,
            "Service unavailable",
            "the database is unavailable or busy; retry",
            kind="unavailable",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it was logged", kind="internal")
