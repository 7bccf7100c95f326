"""When each tag was last pulled, for retention's "pulled within D days"."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from dockyard.db.engine import Database
from dockyard.kit import unavailable
from dockyard.registry.policies import rules

log = logging.getLogger("dockyard.retention")


class TagPulls:
    """When each tag was last pulled (a GET or HEAD by tag), kept in memory per process and
    written to `tags.last_pulled_at` in batches: a pull costs a dictionary update, never a
    transaction."""

    FLUSH_SECONDS = 30.0
    # Tags remembered between flushes at most (a database away must not grow the process).
    MAX_TAGS = 100_000

    def __init__(self) -> None:
        self._pulled: dict[tuple[str, str], float] = {}

    def note(self, name: str, tag: str) -> None:
        key = (name, tag)
        if key in self._pulled or len(self._pulled) < self.MAX_TAGS:
            self._pulled[key] = time.time()

    async def flush(self, database: Database) -> None:
        pulled, self._pulled = self._pulled, {}
        moments = {key: datetime.fromtimestamp(when, UTC) for key, when in pulled.items()}
        try:
            await database.in_thread(rules.record_pulls, moments)
        except BaseException:
            for key, when in pulled.items():  # kept for the next round
                self._pulled[key] = max(when, self._pulled.get(key, 0.0))
            raise

    async def flush_on_schedule(self, database: Database) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_SECONDS)
            try:
                await self.flush(database)
            except Exception as exc:  # the database away: the next round tries again
                unavailable.log_failure(log, "recording tag pulls failed", exc)
