"""Failed logins, counted per account and per client address in a fixed window: past the limit
the token service (and every other sign-in) refuses to check more passwords until the window
ends. A successful login clears the account's count (not the address's: one address may try
many accounts). Counted where every worker and node sees the same numbers: in Redis when one
is configured, else in the database (dockyard.ratelimits.storage)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter

NAMESPACE = "login"


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
        self._limiter = FixedWindowRateLimiter(storage)
        self._account = RateLimitItemPerSecond(max_failures, window_seconds, NAMESPACE)
        self._address = RateLimitItemPerSecond(max_failures_per_address, window_seconds, NAMESPACE)

    async def standing(self, account: str | None, address: str) -> Standing:
        """Whether this account and address may try now (one read of each count)."""
        waits = []
        account_failed = False
        for item, key in self._keys(account, address):
            stats = await self._limiter.get_window_stats(item, key)
            if stats.remaining <= 0:
                waits.append(stats.reset_time - time.time())
            if item is self._account and stats.remaining < item.amount:
                account_failed = True
        retry_after = max(1, math.ceil(max(waits))) if waits else None
        return Standing(retry_after, account_failed)

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
