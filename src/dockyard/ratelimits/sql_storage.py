"""A `limits` storage in Dockyard's database, for counters that must hold across workers and
nodes without Redis and are touched rarely (failed logins): a fixed window per key, one row,
an upsert per hit. Not for counting every request: that is a write per request."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from limits.aio.storage import Storage
from sqlalchemy import Connection, bindparam, case, delete, select
from sqlalchemy.exc import SQLAlchemyError

from dockyard.db.engine import Database
from dockyard.db.tables import rate_counters
from dockyard.db.upserts import conflict_insert

# One hit in this many also sweeps expired rows: they cost nothing to keep for a while.
SWEEP_EVERY = 100


class SqlStorage(Storage):
    STORAGE_SCHEME = ["dockyard+sql"]

    def __init__(self, database: Database) -> None:
        super().__init__(uri=None, wrap_exceptions=False)
        self._database = database

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return await self._database.run(_increment, key, expiry, amount, time.time())

    async def get(self, key: str) -> int:
        row = await self._database.run(_row, key)
        return int(row.count) if row is not None and row.expires_at > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        row = await self._database.run(_row, key)
        return float(row.expires_at) if row is not None else time.time()

    async def windows(self, keys: Sequence[str]) -> list[tuple[int, float]]:
        """Each key's count and the end of its window, in one read: what `get` and `get_expiry`
        answer, for several keys at once (every sign-in reads two; four reads were 40% of a
        sign-in with an access token)."""
        rows = await self._database.read(_rows, list(keys))
        now = time.time()
        found = []
        for key in keys:
            row = rows.get(key)
            count = int(row.count) if row is not None and row.expires_at > now else 0
            found.append((count, float(row.expires_at) if row is not None else now))
        return found

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        return await self._database.run(_delete_all)

    async def clear(self, key: str) -> None:
        await self._database.run(_delete, key)


def _increment(connection: Connection, key: str, expiry: float, amount: int, now: float) -> int:
    c = rate_counters.c
    statement = conflict_insert(connection, rate_counters).values(
        key=key, count=amount, expires_at=now + expiry
    )
    lapsed = c.expires_at <= now
    upsert = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((lapsed, amount), else_=c.count + amount),
            "expires_at": case((lapsed, now + expiry), else_=c.expires_at),
        },
    ).returning(c.count)
    count = int(connection.execute(upsert).scalar_one())
    if random.randrange(SWEEP_EVERY) == 0:
        connection.execute(delete(rate_counters).where(c.expires_at <= now))
    return count


_ROWS = select(rate_counters.c.key, rate_counters.c.count, rate_counters.c.expires_at).where(
    rate_counters.c.key.in_(bindparam("keys", expanding=True))
)


def _row(connection: Connection, key: str) -> Any:
    return _rows(connection, [key]).get(key)


def _rows(connection: Connection, keys: list[str]) -> dict[str, Any]:
    return {row.key: row for row in connection.execute(_ROWS, {"keys": keys})}


def _delete(connection: Connection, key: str) -> None:
    connection.execute(delete(rate_counters).where(rate_counters.c.key == key))


def _delete_all(connection: Connection) -> int:
    return int(connection.execute(delete(rate_counters)).rowcount)
