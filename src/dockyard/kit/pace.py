"""A minimum pace for work that moves bytes between Dockyard and a peer (a mirror's download, a
replication copy). httpx's timeouts are per read: a peer that sends a byte now and then, each
within the timeout, is never given up by them, and would hold the work for ever."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

WATCH_INTERVAL = 0.5


class TooSlow(Exception):
    """The work moved `moved` bytes in `elapsed` seconds: behind the minimum pace."""

    def __init__(self, moved: float, elapsed: float) -> None:
        super().__init__(f"{moved:.0f} bytes in {elapsed:.1f} s")
        self.moved = moved
        self.elapsed = elapsed


async def kept_up(
    work: Awaitable[T], rate: float, moved: Callable[[], float], allowance: float
) -> T:
    """`work`'s result, or TooSlow once `moved()` (bytes, or what the caller counts as such)
    plus `allowance` falls behind `rate` bytes a second since the start: `work` is then
    cancelled. A rate of 0 sets no pace."""
    task = asyncio.ensure_future(work)
    started = time.monotonic()
    try:
        while not task.done():
            await asyncio.wait([task], timeout=WATCH_INTERVAL)
            elapsed = time.monotonic() - started
            if not task.done() and moved() + allowance < rate * elapsed:
                task.cancel()
                await asyncio.wait([task])
                raise TooSlow(moved(), elapsed)
        return task.result()
    finally:
        if not task.done():  # the caller was cancelled (the server stops)
            task.cancel()
            await asyncio.wait([task])
