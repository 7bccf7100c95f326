"""Background attempts under way (webhook deliveries, replication copies): at most a number at
once and one per key, each in a task of its own, so that a slow one holds a place and never
the others' turns. A worker claims as many as there are free places, and its `wake` is set
whenever one ends (a place is free again)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine, Hashable
from typing import Any, Generic, TypeVar

from dockyard.kit import unavailable

Key = TypeVar("Key", bound=Hashable)


class Attempts(Generic[Key]):
    def __init__(self, places: int, wake: asyncio.Event, log: logging.Logger) -> None:
        self.places = places
        self.wake = wake
        self.log = log
        self._running: dict[Key, asyncio.Task[None]] = {}

    @property
    def free(self) -> int:
        return self.places - len(self._running)

    def busy(self) -> list[Key]:
        """The keys of the attempts under way."""
        return list(self._running)

    def start(self, key: Key, attempt: Coroutine[Any, Any, None], name: str) -> None:
        """Run `attempt` (named `name` in the log) in the background."""
        task = asyncio.create_task(attempt, name=name)
        self._running[key] = task
        task.add_done_callback(functools.partial(self._ended, key))

    def _ended(self, key: Key, task: asyncio.Task[None]) -> None:
        self._running.pop(key, None)
        self.wake.set()
        if not task.cancelled() and (failure := task.exception()) is not None:
            # An attempt handles what it expects; anything else is a bug (or the database away).
            unavailable.log_failure(self.log, f"{task.get_name()} failed", failure)

    async def stop(self) -> None:
        """Cancel what is under way (its leases run out; another process makes it again)."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def pause(wake: asyncio.Event, seconds: float) -> None:
    """A worker's wait between rounds: until `wake` is set or `seconds` pass; then cleared."""
    if not wake.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)
    wake.clear()
