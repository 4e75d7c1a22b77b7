"""Errors as RFC 9457 ``application/problem+json``, rendered in one place.

401 no or bad token · 403 a role not allowed in its own tenant · 404 missing or
another tenant's · 409 a business rule refused (with ``rule``), or an amount to be
charged was not confirmed as shown (``charge-not-confirmed``, with the amount and how
to confirm it in ``details``) · 412 a stale
``If-Match`` · 413 a file or a message over its limit · 422 a malformed payload (with ``errors``: field paths). Nothing
else escapes as a 500 with a stack trace: an unexpected error is logged and answered
with a bare problem (``api.failures``).

Every operation declares the problems it may answer (:data:`API_PROBLEMS`, given to
each API router where the app includes it, and :data:`STALE` where an operation
honours ``If-Match``): ``application/problem+json`` with the :class:`Problem` schema."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from unisupport.datafile import field_path
from unisupport.errors import Forbidden, NotFound, OrderInvalid, Refused, StaleVersion, UnisupportError

log = logging.getLogger("unisupport.api")
MEDIA = "application/problem+json"
TYPES = "https://unisupport.invalid/problems/"


class Unauthorized(UnisupportError):
    """No token, or one that is unknown, revoked or whose user is inactive."""

    status = 401
    kind = "unauthorized"
    title = "Unauthorized"


class ProblemField(BaseModel):
    """One field a problem is about (an order file's violations add their severity)."""

    model_config = ConfigDict(extra="allow")
    path: str | None = Field(description="The field, as a path such as ``lines[2].site``.")
    message: str
    rule: str | None = Field(default=None, description="The rule id (docs/rules.md) that refused it.")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, the rule that refused (``rule``) and, for
    input that is not right, which fields (``errors``)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description=f"``{TYPES}<kind>``: the kind of problem.")
    title: str
    status: int
    detail: str
    rule: str | None = Field(default=None, description="The rule id (docs/rules.md) that refused the request.")
    errors: list[ProblemField] | None = Field(default=None, description="The fields that are wrong.")
    details: dict[str, Any] | None = Field(
        default=None, description="What a refusal explains: an amount to confirm (``confirm_with``) …"
    )


WHY = {
    401: "No token, or one that is unknown, revoked or whose user is inactive.",
    403: "The role may not do this within its own tenant.",
    404: "No such record for the caller (another tenant's records look exactly like missing ones).",
    409: "A business rule refused (``rule``), or an amount to be charged was not confirmed as shown.",
    412: "``If-Match`` names a version that is no longer the current one: reload and retry.",
    413: "The body is over its route's limit (``limit_bytes``), refused before it is read.",
    422: "Malformed input: ``errors`` lists the fields.",
    503: "The database is unavailable or busy: retry (``Retry-After``).",
}
SCHEMA_REF = "#/components/schemas/Problem"


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of these problem statuses."""
    return {
        status: {"description": WHY[status], "content": {MEDIA: {"schema": {"$ref": SCHEMA_REF}}}}
        for status in statuses
    }


# What any API operation may answer, whatever it does.
API_PROBLEMS = responses(401, 403, 404, 409, 413, 422, 503)
STALE = responses(412)


# Errors answered with their message only: no rule, no field list (a missing record
# and another tenant's must look alike; a stale version just says reload).
_BARE = (Unauthorized, Forbidden, NotFound, StaleVersion)


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
    # The first part says where the value was; a field may itself be called "body".
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
    return field_path(parts) or ".".join(str(p) for p in loc)


def from_error(exc: UnisupportError) -> JSONResponse:
    """The problem of a domain error: status, type and title are the error class's
    (``errors.py``), the body adds what the kind of error explains."""
    rule: str | None = exc.rule
    errors: list[dict[str, Any]] | None = (
        [{"path": exc.field, "message": exc.message, "rule": exc.rule}] if exc.field else None
    )
    if isinstance(exc, _BARE):
        rule = errors = None
    elif isinstance(exc, OrderInvalid):
        errors = [v.to_dict() for v in exc.violations]
    extra = {"details": exc.details} if isinstance(exc, Refused) and exc.details else None
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return problem(
        exc.status, exc.title, exc.message, kind=exc.kind, rule=rule, errors=errors, extra=extra, headers=headers
    )


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
