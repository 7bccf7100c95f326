"""One engine per process, and the rule for calling it from async code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Runs SQL functions `fn(connection, ...)` inside a transaction.

    SQLite answers an indexed lookup in microseconds, faster than a hop to a thread, so it
    is called on the event loop; a networked database is called from a worker thread.
    """

    def __init__(self, url: str) -> None:
        self.engine = _create(url)
        self.inline = self.engine.dialect.name == "sqlite"

    async def run(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self.inline:
            return self._transaction(fn, *args, **kwargs)
        return await asyncio.to_thread(partial(self._transaction, fn, *args, **kwargs))

    def _transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.engine.begin() as connection:
            return fn(connection, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()


def _create(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never wait for the writer; NORMAL is crash-safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
