"""One request, one transaction, one principal.

Endpoints do ``with unit(request, credentials) as u:`` and work with ``u.session``,
``u.principal`` and ``u.now``: the transaction commits when the block ends normally
and rolls back on any error, before the response is sent.

GET and HEAD requests only read: their transaction is ``Database.reading()`` (on
SQLite it never queues behind writers). The token's ``last_used_at`` is written at
most once a minute: at the end of the request's own transaction when it writes
anyway, else in a short transaction of its own after the read; never waited for
(``users.record_token_use``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from unisupport.access import Principal
from unisupport.api.problems import Unauthorized
from unisupport.errors import InvalidInput
from unisupport.services.users import authenticate_token, record_token_use
from unisupport.storage.tables import IdempotencyKeyRow

bearer = HTTPBearer(auto_error=False, description="An API token: `unisupport token create --user EMAIL`.")


@dataclass
class Unit:
    session: Session
    principal: Principal
    now: datetime


@contextmanager
def unit(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Iterator[Unit]:
    state = request.app.state
    now = state.clock.now()
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send Authorization: Bearer <token>")
    token = credentials.credentials
    database = state.database
    reading = request.method in ("GET", "HEAD")
    record_use_after = False
    try:
        with database.reading() if reading else database.transaction() as session:
            use = authenticate_token(session, token)
            if use is None:
                raise Unauthorized("unknown, revoked or inactive token")
            due = use.record_due(now)
            record_use_after = due and reading
            yield Unit(session, use.principal, now)
            if due and not reading:  # last, so that its row lock (if any) is held only until the commit
                record_token_use(session, token, now=now)
    finally:
        if record_use_after:
            with database.transaction() as session:
                record_token_use(session, token, now=now)


def if_match(request: Request) -> int | None:
    """The version an update is based on, from ``If-Match: "3"`` (weak tags too)."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    try:
        return int(tag)
    except ValueError:
        raise InvalidInput(f"If-Match {header!r} is not an ETag of this API", field="If-Match") from None


def etag(version: int) -> str:
    return f'"{version}"'


def replay(u: Unit, key: str | None, method: str, path: str, body: Any) -> tuple[JSONResponse | None, str]:
    """A retry of a creation with the same ``Idempotency-Key`` gets the first answer
    back — status, body, ``Location`` and ``ETag`` — and creates nothing. Reusing a
    key for another request is refused. ``body``: the request's body, or the pydantic
    model of it (dumped only when a key was sent). Without a key there is nothing to
    replay and no digest to keep: ``(None, "")``."""
    if not key:
        return None, ""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    if len(key) > 200:
        raise InvalidInput("an Idempotency-Key has at most 200 characters", field="Idempotency-Key")
    row = u.session.scalar(
        select(IdempotencyKeyRow).where(IdempotencyKeyRow.principal == u.principal.email, IdempotencyKeyRow.key == key)
    )
    if row is None:
        return None, digest
    if (row.method, row.path, row.request_hash) != (method, path, digest):
        raise InvalidInput("this Idempotency-Key was used for another request", field="Idempotency-Key")
    headers = dict(row.headers or {}) | {"Idempotent-Replayed": "true"}
    return JSONResponse(row.response, status_code=row.status_code, headers=headers), digest


def remember(
    u: Unit,
    key: str | None,
    method: str,
    path: str,
    digest: str,
    status: int,
    response: Any,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The answer to a creation, kept with its headers under ``key`` (when one was
    sent) for :func:`replay` to give back exactly."""
    if key:
        u.session.add(
            IdempotencyKeyRow(
                principal=u.principal.email,
                key=key,
                method=method,
                path=path,
                request_hash=digest,
                status_code=status,
                response=json.loads(json.dumps(response, default=str)),
                headers=headers or None,
                created_at=u.now,
            )
        )
        u.session.flush()
    return JSONResponse(response, status_code=status, headers=headers)
