"""Failed logins, counted per account and per client address in a fixed window: past the limit
the token service (and every other sign-in) refuses to check more passwords until the window
ends. A successful login clears the account's count (not the address's: one address may try
many accounts). Counted where every worker and node sees the same numbers: in Redis when one
is configured, else in the database (dockyard.ratelimits.storage)."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

NAMESPACE = "login"


@runtime_checkable
class ReadsWindows(Protocol):
    """A storage that reads several counts and their windows' ends at once
    (dockyard.ratelimits.sql_storage)."""

    async def windows(self, keys: Sequence[str]) -> list[tuple[int, float]]: ...


@dataclass(frozen=True, slots=True)
class Standing:
    retry_after: int | None  # seconds until they may try again; None: now
    account_failed: bool  # the account has failures in the window (a success clears them)


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        max_failures: int,
        max_failures_per_address: int,
        window_seconds: int,
    ) -> None:
        self._storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._account = RateLimitItemPerSecond(max_failures, window_seconds, NAMESPACE)
        self._address = RateLimitItemPerSecond(max_failures_per_address, window_seconds, NAMESPACE)

    async def standing(self, account: str | None, address: str) -> Standing:
        """Whether this account and address may try now (one read of both counts where the
        storage can)."""
        waits = []
        account_failed = False
        keys = self._keys(account, address)
        for (item, _), (count, reset_time) in zip(keys, await self._windows(keys), strict=True):
            remaining = max(0, item.amount - count)
            if remaining <= 0:
                waits.append(reset_time - time.time())
            if item is self._account and remaining < item.amount:
                account_failed = True
        retry_after = max(1, math.ceil(max(waits))) if waits else None
        return Standing(retry_after, account_failed)

    async def _windows(
        self, keys: list[tuple[RateLimitItemPerSecond, str]]
    ) -> list[tuple[int, float]]:
        """Each key's failures in its window and the window's end (the limiter's window stats),
        in one read where the storage can."""
        if isinstance(self._storage, ReadsWindows):
            return await self._storage.windows([item.key_for(key) for item, key in keys])
        found = []
        for item, key in keys:
            stats = await self._limiter.get_window_stats(item, key)
            found.append((item.amount - stats.remaining, stats.reset_time))
        return found

    async def retry_after(self, account: str | None, address: str) -> int | None:
        """Seconds until this account and address may try again; None: they may now."""
        return (await self.standing(account, address)).retry_after

    async def failed(self, account: str | None, address: str) -> None:
        for item, key in self._keys(account, address):
            await self._limiter.hit(item, key)

    async def succeeded(self, account: str, standing: Standing) -> None:
        """The account signed in: its failures are forgiven (a write only if it had any)."""
        if standing.account_failed:
            await self._limiter.clear(self._account, _account_key(account))

    def _keys(self, account: str | None, address: str) -> list[tuple[RateLimitItemPerSecond, str]]:
        keys = [(self._address, f"address:{address}")]
        if account is not None:
            keys.append((self._account, _account_key(account)))
        return keys


def _account_key(account: str) -> str:
    """A name as a client sent it (any length, anything): hashed, so keys stay short and the
    counters name no one."""
    return "account:" + hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()[:32]
