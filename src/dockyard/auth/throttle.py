"""Failed logins, counted per account and per client address in a sliding window (in memory, per
process): past the limit the token service refuses to check more passwords until old failures
leave the window. A successful login clears the account's count (not the address's: one address
may try many accounts)."""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable

# Keys remembered at most, per kind: an attacker cycling names cannot grow memory without bound.
MAX_KEYS = 100_000


class _Window:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, collections.deque[float]] = {}

    def retry_after(self, key: str, now: float) -> float | None:
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return None
        return times[-self.limit] + self.window - now

    def add(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            if len(self.failures) >= MAX_KEYS:
                self._forget_stale(now)
            times = self.failures.setdefault(key, collections.deque(maxlen=self.limit))
        times.append(now)

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)

    def _recent(self, key: str, now: float) -> collections.deque[float] | None:
        times = self.failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self.failures[key]
            return None
        return times

    def _forget_stale(self, now: float) -> None:
        for key in list(self.failures):
            self._recent(key, now)
        if len(self.failures) >= MAX_KEYS:  # all recent: drop the oldest half
            for key in list(self.failures)[: MAX_KEYS // 2]:
                del self.failures[key]


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        max_failures_per_address: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts = _Window(max_failures, window_seconds)
        self._addresses = _Window(max_failures_per_address, window_seconds)
        self._clock = clock
        self._lock = threading.Lock()

    def retry_after(self, account: str | None, address: str) -> int | None:
        """Seconds until this account and address may try again; None: they may now."""
        now = self._clock()
        with self._lock:
            waits = [self._addresses.retry_after(address, now)]
            if account is not None:
                waits.append(self._accounts.retry_after(account, now))
        longest = max((wait for wait in waits if wait is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, account: str | None, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._addresses.add(address, now)
            if account is not None:
                self._accounts.add(account, now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._accounts.clear(account)
