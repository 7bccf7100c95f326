"""Request rate limits by class: per client address before anything else runs (a middleware),
and per account where the account becomes known (the registry's authorization, the /api's and
search's sign-in, the token service). Past a limit: 429 with `Retry-After` and the registry's
TOOMANYREQUESTS body. A counter store that fails lets the request through (logged once per
interval), and is left alone for a second: the limits protect the service, they must not take
it down, nor make every request wait out the timeout of a Redis that does not answer."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.config import RateLimitSettings
from dockyard.ratelimits.accounts import CLASS_KEY, CLASSES, LIMITER_KEY, RateLimited

log = logging.getLogger("dockyard.ratelimits")

PULL, PUSH, TOKEN, API, SEARCH = CLASSES
_READS = frozenset({"GET", "HEAD"})
# A failing counter store is reported at most this often.
_REPORT_EVERY = 60.0
# After a failure, requests are let through uncounted this long without asking the store.
_PAUSE_AFTER_FAILURE = 1.0


def class_of(method: str, path: str) -> str | None:
    """The class a request counts in; None for those no limit covers (the web UI, health)."""
    if path.startswith("/v2/"):
        if path == "/v2/":
            return None  # the probe every client sends first
        return PULL if method in _READS else PUSH
    if path in ("/v1/search", "/api/search"):
        return SEARCH
    if path.startswith("/v1/"):
        return PULL if method in _READS else PUSH
    if path == "/token":
        return TOKEN
    if path.startswith("/api/"):
        return API
    return None


class RequestLimiter:
    def __init__(self, settings: RateLimitSettings, storage: Storage) -> None:
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._limits: dict[tuple[str, str], RateLimitItem] = {}
        for name in CLASSES:
            rule = getattr(settings, name)
            for kind in ("per_address", "per_account"):
                value = getattr(rule, kind)
                if value:
                    self._limits[(name, kind)] = parse(value)
        self._reported_at = -_REPORT_EVERY
        self._paused_until = 0.0

    @property
    def active(self) -> bool:
        return bool(self._limits)

    def limits_accounts(self, name: str) -> bool:
        return (name, "per_account") in self._limits

    async def retry_after(self, name: str, kind: str, key: str) -> int | None:
        """Count one request of class `name` for `key`; the seconds to wait if it is one too
        many, None if it may go on."""
        item = self._limits.get((name, kind))
        if item is None or time.monotonic() < self._paused_until:
            return None
        try:
            if await self._strategy.hit(item, kind, key):
                return None
            stats = await self._strategy.get_window_stats(item, kind, key)
        except Exception as exc:
            now = time.monotonic()
            self._paused_until = now + _PAUSE_AFTER_FAILURE
            if now - self._reported_at >= _REPORT_EVERY:
                self._reported_at = now
                log.warning("rate limits not counted: %s: %s", type(exc).__name__, exc)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))


class RateLimitMiddleware:
    """Counts each request against its class's per-address limit, and leaves the class and the
    limiter in the scope for the per-account check further in."""

    def __init__(self, app: ASGIApp, limiter: RequestLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = class_of(scope["method"], scope["path"])
        if name is not None:
            client = scope.get("client")
            address = str(client[0]) if client else "unknown"
            wait = await self.limiter.retry_after(name, "per_address", address)
            if wait is not None:
                refused = RateLimited(wait, name)
                await refused.response()(scope, receive, send)
                return
            scope[CLASS_KEY] = name
            scope[LIMITER_KEY] = self.limiter
        await self.app(scope, receive, send)
