"""A local receiver of webhooks (``unisupport webhook receive``, the tests, the
benchmark): a threaded HTTP server on the loopback that verifies every request's
signature with the Standard Webhooks library and answers as scripted — failing on
purpose (500s, a hang past the sender's timeout) for its first requests, then
accepting. ``on_accept`` is told of each accepted delivery (the command prints it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    payload: dict[str, Any]
    path: str
    at: float  # time.time() of its arrival


@dataclass
class Receiver:
    """``secrets``: path → the subscription's secret. ``script``: the answers to the
    first requests ("500", "hang"); after them every verified request is accepted."""

    secrets: dict[str, str] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)
    hang_seconds: float = 2.0
    accepted: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (webhook-id, why)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    on_accept: Callable[[Received], None] | None = None

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        secret = self.secrets.get(path)
        if secret is None:
            return 404, "no such hook"
        try:
            payload = Webhook(secret).verify(body, headers)
        except WebhookVerificationError as exc:
            with self.lock:
                self.bad_signatures += 1
            return 401, f"bad signature: {exc}"
        with self.lock:
            step = self.script.pop(0) if self.script else "ok"
            if step != "ok":
                self.refused.append((headers.get("webhook-id", ""), step))
            else:
                self.accepted.append(Received(headers["webhook-id"], payload, path, time.time()))
                if self.on_accept:
                    self.on_accept(self.accepted[-1])
        if step == "hang":
            time.sleep(self.hang_seconds)
            return 200, "too late"
        if step == "500":
            return 500, "receiver failing on purpose"
        return 200, "ok"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the sender's connections are reused

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        code, text = self.server.receiver.answer(self.path, dict(self.headers.items()), body)  # type: ignore[attr-defined]
        try:
            data = text.encode()
            self.send_response(code)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up (a hang past its timeout)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        """Silent: the receiver prints one line per verified delivery itself, not http.server's access log."""


@contextmanager
def receiving(receiver: Receiver, port: int = 0) -> Iterator[Receiver]:
    """The receiver serving on 127.0.0.1:``port`` (0: a free one) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.receiver = receiver  # type: ignore[attr-defined]
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
