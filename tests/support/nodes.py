"""Several registry processes over one PostgreSQL database and one storage directory, as nodes
behind a load balancer would be, and SQL to look at what they stored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from tests.support.postgres import PostgresServer
from tests.support.servers import DockyardServer, dockyard_server


@dataclass
class Cluster:
    nodes: list[DockyardServer]
    sql: Engine

    def count(self, query: str, **parameters: str) -> int:
        with self.sql.connect() as connection:
            return int(connection.execute(text(query), parameters).scalar_one())

    def execute(self, statement: str, **parameters: str) -> None:
        with self.sql.begin() as connection:
            connection.execute(text(statement), parameters)

    def tags_on_nothing(self) -> int:
        """Tags whose manifest is not stored: must always be 0."""
        return self.count(
            "SELECT count(*) FROM tags t LEFT JOIN manifests m"
            " ON m.repository_id = t.repository_id AND m.digest = t.digest"
            " WHERE m.digest IS NULL"
        )


@contextmanager
def registry_cluster(
    base: Path, postgres: PostgresServer, count: int = 2, env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """`count` servers on a new database of `postgres`, sharing the storage under `base`."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres.database())
        shared = {
            "DOCKYARD_DATABASE__URL": url,
            "DOCKYARD_STORAGE__ROOT": str(base / "storage"),
            **(env or {}),
        }
        nodes = [
            stack.enter_context(dockyard_server(base / f"node{i}", env=shared))
            for i in range(count)
        ]
        sql = create_engine(url)
        stack.callback(sql.dispose)
        yield Cluster(nodes, sql)
