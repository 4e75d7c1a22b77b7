"""An error nobody expected becomes one logged line and one 500 problem.

Starlette answers an unhandled exception from its outermost layer and then raises
it again to the server: the answer skipped every middleware (no security headers),
uvicorn logged the error a second time, and, the exception having reached it, closed
the connection under the client's next request. :class:`UnexpectedErrors` sits
inside the other middleware instead (``api.app``), so the 500 is an ordinary
answer: the headers are added, the error is logged once, the connection stays open
(docs/decisions.md D50)."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unisupport.api.problems import problem

log = logging.getLogger("unisupport.api")


class UnexpectedErrors:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:  # half an answer is out: only closing the connection tells the client
                raise
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            response = problem(500, "Internal error", "an unexpected error occurred; it was logged", kind="internal")
            await response(scope, receive, send)
