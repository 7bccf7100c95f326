"""`GET /healthz` and `GET /readyz`, for load balancers and orchestrators; never behind
authentication, in every auth mode.

`/healthz`: the process answers. `/readyz`: the database and the storage answered within
CHECK_SECONDS, and no stop has begun. Probes may come every second from several balancers, so
a readiness answer is reused for CACHE_SECONDS, and each dependency has at most one check in
flight: a database that hangs holds one thread, not one per probe. The probes are answered
before the registry's middleware, so they write no access-log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, text
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.db.engine import Database
from dockyard.kit.errors import ErrorCode, error_response
from dockyard.storage import StorageDriver
from dockyard.supervision import draining

log = logging.getLogger("dockyard.health")

CHECK_SECONDS = 2.0
CACHE_SECONDS = 1.0
PATHS = ("/healthz", "/readyz")
ALLOW = {"Allow": "GET, HEAD"}


class Dependency:
    """One thing readiness needs, checked by one task at a time."""

    def __init__(self, name: str, check: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self.check = check
        self.task: asyncio.Future[None] | None = None
        self.failing = False

    async def problem(self) -> str | None:
        """None when it answered well within CHECK_SECONDS; else what went wrong, in a word."""
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.check())
        done, _ = await asyncio.wait({self.task}, timeout=CHECK_SECONDS)
        if not done:
            self._note(f"no answer within {CHECK_SECONDS:g} s")
            return "timeout"
        error = self.task.exception()
        if error is not None:
            self._note(
                f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            )
            return "error"
        if self.failing:
            log.info("readiness: %s answers again", self.name)
            self.failing = False
        return None

    def _note(self, why: str) -> None:
        # Once per outage, not once per probe.
        if not self.failing:
            log.warning("readiness: %s failed (%s)", self.name, why)
        self.failing = True


class Readiness:
    def __init__(self, database: Database, driver: StorageDriver) -> None:
        self.dependencies = [
            Dependency("database", lambda: database.run(_select_one)),
            Dependency("storage", driver.check),
        ]
        self.answer: tuple[float, int, dict[str, object]] | None = None
        self.pending: asyncio.Future[tuple[int, dict[str, object]]] | None = None

    async def status(self) -> tuple[int, dict[str, object]]:
        if draining():
            return 503, {"status": "draining"}
        now = time.monotonic()
        if self.answer is not None and now - self.answer[0] < CACHE_SECONDS:
            return self.answer[1], self.answer[2]
        if self.pending is None or self.pending.done():
            self.pending = asyncio.ensure_future(self._evaluate())
        return await asyncio.shield(self.pending)

    async def _evaluate(self) -> tuple[int, dict[str, object]]:
        problems = await asyncio.gather(*(d.problem() for d in self.dependencies))
        checks = {
            d.name: problem or "ok" for d, problem in zip(self.dependencies, problems, strict=True)
        }
        ready = not any(problems)
        body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": checks}
        status = 200 if ready else 503
        self.answer = (time.monotonic(), status, body)
        return status, body


def _select_one(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))


class HealthMiddleware:
    """Answers the two probe paths itself; everything else goes to `app`."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            # The one error shape, as every other route's 405 (registry/app.py).
            refused = error_response(
                ErrorCode.UNSUPPORTED, "method not allowed", status=405, headers=ALLOW
            )
            await refused(scope, receive, send)
        elif scope["path"] == "/healthz":
            await _answer(send, scope, 200, {"status": "ok"})
        else:
            status, body = await self.readiness.status()
            await _answer(send, scope, status, body)


async def _answer(send: Send, scope: Scope, status: int, body: dict[str, object]) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(
        {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload}
    )
