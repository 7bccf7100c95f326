"""SQLite's plans for the collector's statements on a migrated database: each lookup of "does a
manifest of this repository reference this digest?" is one exact search of an index holding
both. On an index of the digest alone SQLite (which has no statistics) read every repository's
references to the digest: with 100,000 repositories sharing a base layer, the first scheduled
collection ran for over ten minutes and held the loop that served pulls (bench/growth_bench.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.collection import queries

MOMENT = datetime(2026, 12, 2, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(database.engine)
    yield database
    database.dispose()


def _statements(database: Database, work: Any) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def remember(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", remember)
    try:
        with database.engine.begin() as connection:
            work(connection)
    finally:
        event.remove(database.engine, "before_cursor_execute", remember)
    return seen


def _plans(database: Database, work: Any) -> list[tuple[str, str]]:
    """Each statement `work` ran that looks up a repository's references, with its plan."""
    found = []
    with database.engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in _statements(database, work):
            if "manifest_references.repository_id =" not in statement:
                continue
            rows = cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            found.append((statement, "\n".join(str(row[-1]) for row in rows)))
    return found


def _collector_statements(connection: Connection) -> None:
    queries.mark_unused_links(connection, MOMENT, 0, 10_000)
    queries.delete_unused_links(connection, MOMENT - timedelta(days=1), 0, 10_000)
    queries.unused_links(connection, MOMENT, MOMENT - timedelta(days=1))
    queries.delete_untagged_manifest(connection, 1, DIGEST, MOMENT, True)


def test_a_repositorys_references_are_one_exact_lookup(database: Database) -> None:
    plans = _plans(database, _collector_statements)
    assert len(plans) == 4  # the marks, the delete, the count, the untagged manifest's check
    for statement, plan in plans:
        searches = [line for line in plan.splitlines() if "manifest_references" in line]
        assert searches, statement
        for line in searches:
            assert "(reference=? AND repository_id=?)" in line, f"{statement}\n{plan}"
