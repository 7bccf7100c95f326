"""One engine per process, and the rule for calling it from async code."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError

from dockyard.metrics import switch

P = ParamSpec("P")
T = TypeVar("T")

# PostgreSQL's answers to two transactions that got in each other's way: the one that lost
# can simply run again (every function given to `run` is one whole transaction). A foreign key
# violation is one too: the row written refers to one that a transaction committed after this
# one looked it up deleted (a team made in an organisation being deleted, a hook on a repository
# being forgotten); run again, the lookup finds it gone and says so (404), where the insert
# failed with a 500.
_RETRYABLE = {"40001", "40P01", "23503"}  # serialization, deadlock, foreign_key_violation
_ATTEMPTS = 3


def refers_to_a_deleted_row(error: DBAPIError) -> bool:
    """A foreign key violation that running again did not end: what the write refers to was
    looked up before its transaction (the signed-in account, deleted meanwhile)."""
    orig = error.orig
    return getattr(orig, "sqlstate", None) == "23503" or "FOREIGN KEY constraint" in str(orig)


class Database:
    """Runs SQL functions `fn(connection, ...)` inside a transaction.

    SQLite answers an indexed lookup in microseconds, faster than a hop to a thread, so it
    is called on the event loop; a networked database is called from a worker thread.
    """

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.engine = _create(normalise_url(url), pool_size)
        if switch.on:
            from dockyard.metrics.database import measure

            measure(self.engine)
        self.inline = self.engine.dialect.name == "sqlite"
        # Threads of its own, as many as the pool has connections: a thread never waits for a
        # connection, and queries never queue behind the hashing and file I/O of uploads in
        # the loop's default executor.
        self._threads = (
            None
            if self.inline
            else ThreadPoolExecutor(pool_size, thread_name_prefix="dockyard-database")
        )
        self._connection: Connection | None = None
        self._owner: int | None = None  # the thread (event loop) that called first

    async def run(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self._threads is None:
            return self._inline(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._threads, partial(self._transaction, fn, *args, **kwargs)
        )

    async def in_thread(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`run`, but in a worker thread on SQLite too: for background work (events, queues,
        collection, flushes) whose statements may read or write many rows; they must not hold
        up the loop that serves requests, and sqlite3 lets go of the GIL while it works."""
        if not self.inline:
            return await self.run(fn, *args, **kwargs)
        return await asyncio.to_thread(partial(self._transaction, fn, *args, **kwargs))

    def _transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        attempt = 1
        while True:
            try:
                with self.engine.begin() as connection:
                    return fn(connection, *args, **kwargs)
            except DBAPIError as exc:
                if attempt >= _ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                    raise
                attempt += 1

    async def read(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`run` for a read of one statement (the lookups of every manifest and blob GET, and
        of a sign-in). It runs outside a transaction: one statement is atomic on its own. On
        SQLite in the loop's thread, SQLAlchemy's begin and commit around it were 7% of a
        manifest GET; a read that did go through SQLAlchemy (which then began a transaction)
        is rolled back: it has nothing to keep. On PostgreSQL it runs in autocommit: one round
        trip instead of three (BEGIN, the statement, COMMIT), 0.35 against 0.5-0.75 ms at the
        median on an idle machine, each a wake-up of the server's process."""
        if self._threads is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._threads, partial(self._autocommitted, fn, *args, **kwargs)
            )
        connection = self._kept()
        if connection is None:
            return await self.run(fn, *args, **kwargs)
        try:
            return fn(connection, *args, **kwargs)
        finally:
            if connection.in_transaction():
                connection.rollback()

    def _autocommitted(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return fn(connection, *args, **kwargs)

    def _inline(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """SQLite, on the event loop, on one connection kept open for the process: calls never
        interleave (each runs to its end on the loop's thread), and taking a connection from
        the pool and giving it back cost ~10 µs, more than the manifest lookup itself (manifest
        GETs went from ~11,000 to ~17,000 a second, docs/decisions/0001-http-server-stack.md).
        A call from any other thread takes a pooled connection, as before."""
        connection = self._kept()
        if connection is None:
            return self._transaction(fn, *args, **kwargs)
        with connection.begin():
            return fn(connection, *args, **kwargs)

    def _kept(self) -> Connection | None:
        """The connection kept for the loop's thread (SQLite), or None in any other thread."""
        if self._owner is None:
            self._owner = threading.get_ident()
        elif threading.get_ident() != self._owner:
            return None
        connection = self._connection
        if connection is None or connection.invalidated or connection.closed:
            if connection is not None:
                connection.close()
            connection = self._connection = self.engine.connect()
        return connection

    def dispose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


def normalise_url(url: str) -> URL:
    """`postgresql://` means psycopg 3, the driver Dockyard installs (SQLAlchemy would pick
    psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


# libpq's connection parameters, unless the URL sets them. A server cut off without a word (a
# network partition: packets dropped, no reset) would otherwise hold each statement in flight
# for as long as the kernel retransmits, about a quarter of an hour, while new connections
# fail after `connect_timeout`: data unacknowledged for `tcp_user_timeout` ms, or a connection
# silent past the keepalives while it waits for an answer, now fail it as well (503).
POSTGRESQL_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 10,
    "tcp_user_timeout": 10_000,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "application_name": "dockyard",
}


def _create(url: URL, pool_size: int) -> Engine:
    # A database error's message would otherwise quote the statement's parameters: password
    # hashes, webhook secrets. Secrets are never logged.
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        # Unless the URL says otherwise: fail a connection attempt instead of hanging a thread
        # on an unreachable server, and name the connections in pg_stat_activity.
        connect_args = {
            key: value for key, value in POSTGRESQL_DEFAULTS.items() if key not in url.query
        }
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,  # the thread pool is as large as the connection pool
        pool_recycle=1800,
        connect_args=connect_args,
        hide_parameters=True,
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection used less than this long ago is handed out without a ping.
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "dockyard_idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping for connections idle for PING_AFTER_IDLE_SECONDS or more: one the
    server closed (a restart, an idle timeout) is replaced before it is used. A ping on every
    checkout was a round trip to the server in every transaction, every manifest GET's
    included; a connection in use a moment ago is as good as a ping's answer. If the server
    went away within that moment, the statement fails as it would have failed a moment later,
    and SQLAlchemy then replaces every connection of the pool."""

    def idle_from_now(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError() from exc  # the pool connects anew and tries again

    event.listen(engine, "connect", idle_from_now)
    event.listen(engine, "checkin", idle_from_now)
    event.listen(engine, "checkout", ping_if_idle)


SQLITE_MAP_BYTES = 256 * 1024 * 1024


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never wait for the writer; NORMAL is crash-safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Pages read through a memory map, which every connection and worker shares with the OS's
    # page cache, instead of copied into each connection's cache of 2 MiB: a search reading
    # 1,000 repositories' rows by id took 1.2 ms instead of 2.3 (docs/decisions/0016-search-
    # speed.md). Only address space: what is not read is not in memory.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MAP_BYTES}")
    cursor.close()
