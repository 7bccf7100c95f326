"""Failed logins counted in Redis, or in the database while Redis does not answer. A throttle
that let logins through uncounted while Redis is away would let passwords be guessed freely,
and one that refused them would let no one sign in (every `docker login` and web sign-in was a
500 while Redis was down): the database, which the login reads anyway, counts in its place.
The two counts are apart: around an outage an account may fail up to twice its limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from limits.aio.storage import Storage

log = logging.getLogger("dockyard.ratelimits")

T = TypeVar("T")

# After a failure, Redis is left alone this long: each call would wait out its timeout.
RETRY_AFTER = 1.0
# At most one warning per interval, however many calls fail.
REPORT_EVERY = 60.0


class FallbackStorage(Storage):
    STORAGE_SCHEME = ["dockyard+fallback"]

    def __init__(self, primary: Storage, fallback: Storage) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        self._primary = primary
        self._fallback = fallback
        self._primary_errors: tuple[type[BaseException], ...] = (
            *_as_tuple(primary.base_exceptions),
            OSError,
        )
        self._down_until = 0.0
        self._reported_at = -REPORT_EVERY

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return self._fallback.base_exceptions

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return await self._either(lambda s: s.incr(key, expiry, amount))

    async def get(self, key: str) -> int:
        return await self._either(lambda s: s.get(key))

    async def get_expiry(self, key: str) -> float:
        return await self._either(lambda s: s.get_expiry(key))

    async def check(self) -> bool:
        return await self._either(lambda s: s.check())

    async def reset(self) -> int | None:
        return await self._either(lambda s: s.reset())

    async def clear(self, key: str) -> None:
        await self._either(lambda s: s.clear(key))

    async def _either(self, call: Callable[[Storage], Awaitable[T]]) -> T:
        if time.monotonic() >= self._down_until:
            try:
                return await call(self._primary)
            except self._primary_errors as exc:
                self._failed(exc)
        return await call(self._fallback)

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + RETRY_AFTER
        if now - self._reported_at >= REPORT_EVERY:
            self._reported_at = now
            log.warning(
                "failed logins counted in the database: redis unavailable (%s: %s)",
                type(exc).__name__,
                exc,
            )


def _as_tuple(
    exceptions: type[Exception] | tuple[type[Exception], ...],
) -> tuple[type[Exception], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)
