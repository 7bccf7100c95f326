"""Wraps every request: a request id, the API version header, one access-log line, and the
unread rest of a refused request's body.

A request refused before its body was read (401 on a push without a token, 404 on an unknown
upload, 413) leaves that body in flight. Closing the connection then makes the kernel reset it,
and a reset can destroy the answer before the client has read it. So a small remainder is read
and dropped before the answer, which keeps the connection usable; a large one gets the answer
with `Connection: close`, and is then read and dropped for a bounded time (a lingering close,
as nginx does) so the client reads the answer before the connection ends.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.access_log import AccessLog
from dockyard.kit.numbers import parse_decimal
from dockyard.ratelimits.uploads import is_upload
from dockyard.registry.authorization import GRANT_KEY
from dockyard.registry.events.model import CURRENT_REQUEST, REQUEST_ID_KEY

API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
CLOSE = (b"connection", b"close")
# Unread bytes up to this are read and dropped before a refusal is answered.
DRAIN_BYTES = 1024 * 1024
# After an answer with `Connection: close`, the rest of the body is dropped for at most this long.
LINGER_SECONDS = 5.0


class RegistryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        access_log: bool = True,
        measured: bool = False,
        log_format: str = "text",
        body_rate: BodyRate | None = None,
    ) -> None:
        self.app = app
        self.body_rate = body_rate
        self.access = AccessLog(json_lines=log_format == "json") if access_log else None
        # Prometheus metrics (dockyard.metrics): imported only when they are on.
        self.observe: Callable[[Scope, int, int, int, float], None] | None = None
        if measured:
            from dockyard.metrics.http import observe

            self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            if scope["type"] == "lifespan" and self.access is not None:
                # The worker is stopping (and exits without atexit handlers): the last lines.
                self.access.flush()
            return
        started = time.perf_counter()
        # 32 random hex digits, as uuid4().hex but without building a UUID (a few % of a GET).
        request_id = os.urandom(16).hex()
        # Events name the request that caused them (registry/events/model.py).
        scope[REQUEST_ID_KEY] = request_id
        CURRENT_REQUEST.set(scope)
        status = 0
        sent = 0
        body = _Body.of(scope, receive, self.body_rate)
        if body is not None:
            receive = body.receive
        uploading = self.observe is not None and _started_upload(scope)

        async def stamped(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), API_VERSION]
                headers.append((b"x-request-id", request_id.encode()))
                if body is not None and not await body.drained_before_answer():
                    headers.append(CLOSE)
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, stamped)
            if body is not None:
                await body.linger()
        except Exception:
            # Starlette re-raises what its 500 handler (registry.app.server_error) has already
            # logged and answered: raised further, the server would log it again, unescaped.
            pass
        finally:
            if self.observe is not None:
                elapsed = time.perf_counter() - started
                self.observe(scope, status, body.read if body else 0, sent, elapsed)
                if uploading:
                    _upload_ended()
            if self.access is not None:
                # The path only: query strings can carry credentials (tokens, state).
                self.access.write(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": getattr(scope.get("route"), "path", None),
                        "status": status,
                        "bytes": sent,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "request_id": request_id,
                        "client": _client(scope),
                        "subject": _subject(scope),
                    }
                )


def _client(scope: Scope) -> str:
    """The client's address (a trusted proxy's client's, once kit/forwarded.py rewrote it)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def _subject(scope: Scope) -> str:
    """Who authenticated for the registry (a token's or Basic credentials' subject), or -."""
    grant = scope.get(GRANT_KEY)
    subject = getattr(grant, "subject", None)
    return subject or "-"


class SlowBody(ClientDisconnect):
    """The body came slower than `http.limits.min_body_bytes_per_second` over a window: cut, as
    a client that went away is (an upload session stays where its last whole piece left it)."""


@dataclass(frozen=True, slots=True)
class BodyRate:
    """The slowest a body may come: `minimum` bytes a second over each `window` seconds."""

    minimum: int
    window: float


class _Body:
    """A request body, watched: how much of it the app has read, and how fast it comes."""

    def __init__(self, receive: Receive, declared: int | None, rate: BodyRate | None) -> None:
        self._receive = receive
        self.left = declared  # None: chunked, length unknown
        self.read = 0
        self.done = False
        self._rate = rate
        self.cut = False  # too slow: answered with the connection closed, never read further
        self._waited = 0.0  # in the current window, waiting for the client
        self._window_bytes = 0

    @classmethod
    def of(cls, scope: Scope, receive: Receive, rate: BodyRate | None) -> _Body | None:
        """None for a request without a body (most: GET, HEAD), which costs nothing more."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = parse_decimal(value.decode("latin-1"), 2**63)
                return None if declared == 0 else cls(receive, declared, rate)
            if name == b"transfer-encoding":
                return cls(receive, None, rate)
        return None

    async def receive(self) -> Message:
        message = await self._paced() if self._rate is not None else await self._receive()
        if message["type"] == "http.request":
            size = len(message.get("body", b""))
            self._window_bytes += size
            self.read += size
            if self.left is not None:
                self.left -= size
            self.done = not message.get("more_body", False)
        elif message["type"] == "http.disconnect":
            self.done = True
        return message

    async def _paced(self) -> Message:
        """The next message. Only the time spent waiting for the client counts (an app slow to
        read holds the client back itself): each `window` of it must bring the minimum."""
        assert self._rate is not None
        while True:
            budget = self._rate.window - self._waited
            if budget <= 0:
                if self._window_bytes < self._rate.minimum * self._rate.window:
                    self.cut = True
                    raise SlowBody()
                self._waited, self._window_bytes, budget = 0.0, 0, self._rate.window
            started = time.monotonic()
            try:
                async with asyncio.timeout(budget):
                    return await self._receive()
            except TimeoutError:
                pass  # the window is spent: the loop weighs it
            finally:
                self._waited += time.monotonic() - started

    async def drained_before_answer(self) -> bool:
        """Read and drop a small unread remainder; False when it is too large (or unknown)."""
        if self.cut:
            return False
        if self.done:
            return True
        if self.left is None or self.left > DRAIN_BYTES:
            return False
        return await self._drop()

    async def linger(self) -> None:
        """After the answer: drop what is still coming, for a bounded time."""
        if self.cut:
            return
        if not self.done:
            await self._drop()

    async def _drop(self) -> bool:
        """Read to the end of the body, for LINGER_SECONDS at most: False when it did not end."""
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                while not self.done:
                    await self.receive()
        except TimeoutError:
            return False
        return True


def _started_upload(scope: Scope) -> bool:
    """Count the request among uploads in progress if it is one."""
    from dockyard.metrics import families

    if not is_upload(scope):
        return False
    families.uploads_in_progress.inc()
    return True


def _upload_ended() -> None:
    from dockyard.metrics import families

    families.uploads_in_progress.dec()
