"""A real HTTP receiver of webhooks on a loopback port: it keeps every request (headers and
the exact body) and answers as its script says: a status, or silence for a while."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dockyard.index.webhooks.signing import verify

HANG = -1  # in a script: answer nothing for `hang_seconds`, then close


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int  # the status sent, or HANG

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document

    def signed_by(self, secret: str) -> bool:
        timestamp = int(self.headers["X-Dockyard-Timestamp"])
        return verify(secret, timestamp, self.body, self.headers["X-Dockyard-Signature"])


@dataclass
class WebhookReceiver:
    url: str
    # The answers to the first requests, in order; 200 after them.
    script: list[int] = field(default_factory=list)
    hang_seconds: float = 5.0
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def wait_for(self, count: int, seconds: float = 60) -> list[Call]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            calls = self.received()
            if len(calls) >= count:
                return calls
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received())} calls, not {count}")


@contextmanager
def webhook_receiver(
    script: list[int] | None = None, hang_seconds: float = 5.0
) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver("", list(script or []), hang_seconds)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                number = len(receiver.calls)
                answer = receiver.script[number] if number < len(receiver.script) else 200
                receiver.calls.append(Call(self.path, dict(self.headers.items()), body, answer))
            if answer == HANG:
                time.sleep(receiver.hang_seconds)
                self.close_connection = True
                return
            text = b'{"ok": true}' if answer < 300 else b"receiver says no \x00\xff"
            self.send_response(answer)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
