"""What a request must show before the server reads its body (docs/decisions.md D50).

Two checks, in an ASGI middleware, ahead of every route:

* **A body within its route's limit.** Each path belongs to a class of routes
  (:data:`ROUTE_CLASSES`: the API's JSON, the pages' forms) whose largest body is a
  setting (:class:`~unisupport.settings.BodyLimits`). A ``Content-Length`` above it
  is answered 413 at once; a body without one (chunked) is counted as it streams in
  and cut off at the limit, the route's answer replaced by the 413. Nothing larger
  than the limit is ever held in memory.
* **A token for every API write.** A ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` under
  ``/api/`` without a valid bearer token is answered 401 before a byte of its body is
  read; the route checks the token again in its own transaction (``api.unit``).
  A token found valid is admitted without a lookup for the next
  :data:`ADMITTED_FOR` (decision D145): this gate only decides whether the body is
  read, the route's own check decides the request (a token revoked meanwhile is
  answered 401 by the route, its body read).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from anyio import to_thread
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unisupport.api.problems import Unauthorized, from_error, problem
from unisupport.services.users import authenticate_token, hash_token
from unisupport.settings import BodyLimits

# (path pattern, route class): the first that matches; any other path is a page's form.
# Uploads (the API's attachments, the composer's files) take a message's files at most.
ROUTE_CLASSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/api/v1/incidents/\d+/attachments/?$"), "upload"),
    (re.compile(r"/incidents/\d+/messages/?$"), "upload"),
    (re.compile(r"/api/"), "json"),
)
OTHER_ROUTES = "form"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMITTED_FOR = timedelta(seconds=10)  # a valid token's admission is remembered this long (D145)
ADMITTED_AT_MOST = 10_000  # tokens remembered; past it, the memory starts afresh


def route_class(path: str) -> str:
    return next((kind for pattern, kind in ROUTE_CLASSES if pattern.match(path)), OTHER_ROUTES)


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bearer(scope: Scope) -> str | None:
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _known(database, token: str) -> bool:
    with database.reading(fresh=True) as session:  # the primary: a token made a moment ago is known
        return authenticate_token(session, token) is not None


class Admission:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits):
        self.app = app
        self.limits = limits
        self.admitted: dict[str, datetime] = {}  # token hash -> until when it is admitted without a lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in WRITES and scope["path"].startswith("/api/") and not await self._authenticated(scope):
            await from_error(Unauthorized("send Authorization: Bearer <token>"))(scope, receive, send)
            return
        limit = self.limits.of(route_class(scope["path"]))
        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(limit)(scope, receive, send)
            return
        await self._limited(scope, receive, send, limit)

    async def _authenticated(self, scope: Scope) -> bool:
        token = _bearer(scope)
        if token is None:
            return False
        state = scope["app"].state
        now, digest = state.clock.now(), hash_token(token)
        until = self.admitted.get(digest)
        if until is not None and now < until:
            return True  # found valid a moment ago: the route checks it again
        try:
            known = await to_thread.run_sync(_known, state.database, token)
        except OperationalError:
            return True  # the route answers 503 in its own transaction
        if known:
            if len(self.admitted) >= ADMITTED_AT_MOST:
                self.admitted.clear()
            self.admitted[digest] = now + ADMITTED_FOR
        return known

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the route on a body cut off after ``limit`` bytes; past it the route
        sees the client as gone, and its answer is replaced by the 413."""
        received, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # an answer to a body the route did not get
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int):
    return problem(
        413,
        "Content too large",
        f"a request body here is at most {limit} bytes",
        kind="too-large",
        extra={"limit_bytes": limit},
    )
