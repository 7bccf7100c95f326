"""Work that one process at a time does for all of them, on a schedule and by hand (garbage
collection, retention): a lease row per kind of work in `maintenance_leases`, taken for a
while, renewed as the work goes, released with the time it finished; a scheduled run happens
when the last one, anywhere, finished an interval ago. A process that dies holding the lease
holds it until the lease runs out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from dockyard.db.engine import Database
from dockyard.registry.collection import queries
from dockyard.registry.metadata import now

T = TypeVar("T")


class Lease:
    def __init__(
        self, database: Database, name: str, interval: timedelta, duration: timedelta
    ) -> None:
        self.database = database
        self.name = name
        self.interval = interval
        self.duration = duration
        self.owner = uuid.uuid4().hex

    async def take(self, due_only: bool) -> bool:
        """Take (or renew) it unless another process holds it; `due_only`: and only if the
        work last finished an interval ago (or never)."""
        moment = now()
        finished_before = moment - self.interval if due_only else None
        # In a thread: on SQLite, while another process writes, the wait for its lock must not
        # hold up this process's requests (docs/decisions/0020).
        return await self.database.in_thread(
            queries.take_lease,
            self.name,
            self.owner,
            moment,
            moment + self.duration,
            finished_before,
        )

    async def release(self, finished: bool) -> None:
        """Let it go; `finished`: the work was done, which starts the next interval."""
        await self.database.in_thread(
            queries.release_lease, self.name, self.owner, now() if finished else None
        )


async def run_once(lease: Lease, work: Callable[[], Awaitable[T]], busy: Exception) -> T:
    """`work` under the lease; `busy` raised when another process holds it."""
    if not await lease.take(due_only=False):
        raise busy
    finished = False
    try:
        result = await work()
        finished = True
    finally:
        await lease.release(finished)
    return result


async def on_schedule(
    lease: Lease,
    work: Callable[[], Awaitable[T]],
    done: Callable[[T], None],
    failed: Callable[[Exception], None],
) -> None:
    """Until cancelled: look now and then (at most a minute apart), and run `work` when the
    lease is due and free; `done` with what it found, `failed` with what stopped it (the next
    round tries again)."""
    pause = min(lease.interval.total_seconds(), 60.0)
    while True:
        await asyncio.sleep(pause)
        try:
            if not await lease.take(due_only=True):
                continue
            finished = False
            try:
                result = await work()
                finished = True
            finally:
                await lease.release(finished)
        except Exception as exc:
            failed(exc)
            continue
        done(result)
