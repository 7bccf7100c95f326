"""PostgreSQL connections are pinged at checkout only after PING_AFTER_IDLE_SECONDS idle: one
the server closed meanwhile is replaced before it is used, and one in use a moment ago costs no
round trip."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError

from dockyard.db import engine as engine_module
from dockyard.db.engine import Database
from tests.support.postgres import PostgresServer

IDLE = 0.3  # PING_AFTER_IDLE_SECONDS here


@pytest.fixture
def database(postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", IDLE)
    with postgres.database() as url:
        database = Database(url, pool_size=1)
        try:
            yield database
        finally:
            database.dispose()


def one(connection: Connection) -> int:
    return int(connection.execute(text("SELECT 1")).scalar_one())


def count_pings(database: Database) -> list[None]:
    """One item per ping the database's pool sends from now on (each still sent)."""
    pings: list[None] = []
    dialect = database.engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection: DBAPIConnection) -> bool:
        pings.append(None)
        return ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def end_connections(database: Database) -> None:
    """End this database's server processes, as a restart or an idle timeout would."""
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = database.engine.url.database
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def test_a_connection_used_a_moment_ago_is_not_pinged_and_an_idle_one_is(
    database: Database,
) -> None:
    asyncio.run(database.run(one))
    pings = count_pings(database)
    for _ in range(5):
        assert asyncio.run(database.run(one)) == 1
    assert pings == []
    asyncio.run(asyncio.sleep(IDLE * 1.5))
    assert asyncio.run(database.run(one)) == 1
    assert len(pings) == 1


def test_an_idle_connection_the_server_closed_is_replaced_before_use(database: Database) -> None:
    asyncio.run(database.run(one))
    end_connections(database)
    asyncio.run(asyncio.sleep(IDLE * 1.5))
    assert asyncio.run(database.run(one)) == 1  # pinged, found closed, connected anew


def test_a_connection_closed_within_the_moment_fails_once_then_the_pool_recovers(
    database: Database,
) -> None:
    asyncio.run(database.run(one))
    end_connections(database)
    with pytest.raises(OperationalError):
        asyncio.run(database.run(one))
    assert asyncio.run(database.run(one)) == 1
