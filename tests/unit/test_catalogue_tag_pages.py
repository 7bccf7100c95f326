"""A repository's tags one page at a time, by name or newest first, walked along an index on
both backends: a repository of 10,000 tags is never sorted whole for a page of 25."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Row, insert, text

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index.catalogue import repository
from dockyard.index.tables import catalogue_tags
from tests.support.postgres import PostgresServer

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: the index comes from migration 0020, as in production."""
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'r.db'}"
        if request.param == "postgresql":
            postgres: PostgresServer = request.getfixturevalue("postgres")
            url = stack.enter_context(postgres.database())
        migrated = Database(url)
        stack.callback(migrated.dispose)
        upgrade(migrated.engine)
        yield migrated


def tagged(connection: Connection, name: str, ages: dict[str, int]) -> int:
    """A repository whose tags were pushed `ages[tag]` seconds before NOW."""
    found = repository.ensure_repository(connection, name, "public")
    rows = [
        {
            "repository_id": found,
            "tag": tag,
            "digest": "sha256:" + "0" * 64,
            "media_type": "application/vnd.oci.image.manifest.v1+json",
            "size": 1,
            "platforms": json.dumps([]),
            "pushed_at": NOW - timedelta(seconds=age),
            "pushed_by": None,
        }
        for tag, age in ages.items()
    ]
    connection.execute(insert(catalogue_tags), rows)
    return found


def names(rows: Sequence[Row[Any]]) -> list[str]:
    return [str(row.tag) for row in rows]


def test_tags_come_newest_first_with_ties_by_name_a_page_at_a_time(database: Database) -> None:
    with database.engine.begin() as connection:
        found = tagged(connection, "pages/app", {"old": 30, "b": 10, "a": 10, "new": 1, "mid": 20})
        tagged(connection, "pages/other", {"newest": 0, "zzz": 5})
        newest_first = [
            names(repository.tag_page(connection, found, False, offset, 2)) for offset in (0, 2, 4)
        ]
        by_name = names(repository.tag_page(connection, found, True, 1, 3))
    assert newest_first == [["new", "a"], ["b", "mid"], ["old"]]
    assert by_name == ["b", "mid", "new"]


def test_a_page_of_tags_in_either_order_is_read_along_an_index_not_sorted(
    database: Database,
) -> None:
    with database.engine.begin() as connection:
        found = tagged(connection, "plans/app", {f"t{n:04d}": n for n in range(500)})
        for by_name, index in ((False, "ix_catalogue_tags_newest"), (True, None)):
            plan = query_plan(connection, found, by_name)
            assert "sort" not in plan.lower(), plan
            if index is not None:
                assert index in plan, plan


def query_plan(connection: Connection, found: int, by_name: bool) -> str:
    """The plan of a deep page; PostgreSQL told to avoid sorts and whole-table scans wherever an
    index can do, so a sort left in its plan means that no index gives the order."""
    query = repository.tag_page_query(found, by_name, offset=400, limit=25)
    statement = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("EXPLAIN QUERY PLAN " + statement)).fetchall()
        return "\n".join(str(row[-1]) for row in rows)
    connection.execute(text("SET LOCAL enable_sort = off"))
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    rows = connection.execute(text("EXPLAIN " + statement)).fetchall()
    return "\n".join(str(row[0]) for row in rows)
