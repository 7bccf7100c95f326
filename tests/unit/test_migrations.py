"""The Alembic migrations build exactly the tables the code declares, on SQLite and PostgreSQL,
and carry the data already there."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, insert, inspect, text, update

from dockyard.db.engine import Database
from dockyard.db.migrate import MIGRATIONS, head_revision, upgrade
from dockyard.db.tables import metadata
from dockyard.index import tables as _index_tables  # noqa: F401 (their tables join the metadata)
from dockyard.index.tables import repository_settings
from dockyard.index.webhooks import tables as _webhook_tables  # noqa: F401
from dockyard.registry.metadata import get_upload
from dockyard.registry.replication import tables as _replication_tables  # noqa: F401
from dockyard.storage import Piece
from tests.support.postgres import PostgresServer


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'r.db'}"
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    with postgres.database() as url:
        yield url


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database.engine)
    upgrade(database.engine)  # a second run is a no-op
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": _declarable})
        differences = compare_metadata(context, metadata)
    database.dispose()
    assert differences == []


def _declarable(name: str | None, kind: str, _parents: object) -> bool:
    """All but what the migrations make for search and no Table declares: SQLite's FTS5 table
    (and its shadow tables), PostgreSQL's searched text (0028), its pg_trgm indexes and its
    index of character pairs (0030), the expression index of names' last components (0016)
    and the indexes of names' components (0025)."""
    name = name or ""
    if kind == "table":
        return not name.startswith("repository_search")
    if kind == "column":
        return name != "search_text"  # PostgreSQL's searched text (0028)
    searching = name.endswith(("_trgm", "_bigrams")) or name in _NAME_COMPONENT_INDEXES
    return not (kind == "index" and searching)


_NAME_COMPONENT_INDEXES = {
    "ix_repository_settings_last_component",
    "ix_repository_settings_name_c",
    "ix_repository_settings_after_namespace",
    "ix_repository_settings_last_of_three",
    "ix_repository_settings_four_components",
}


def test_sqlite_keeps_its_table_of_names_in_step_with_the_settings(tmp_path: Path) -> None:
    """Migration 0027's FTS5 table of names (search's names that hold a text) follows every
    insert, rename and deletion."""
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(database.engine)
    found = text(
        "SELECT repository_settings.name FROM repository_search_names JOIN repository_settings"
        " ON repository_settings.id = repository_search_names.rowid"
        " WHERE repository_search_names MATCH :phrase ORDER BY repository_settings.name"
    )

    def holding(words: str) -> list[str]:
        with database.engine.connect() as connection:
            return list(connection.execute(found, {"phrase": f'"{words}"'}).scalars())

    rows = [
        {"name": name, "namespace": "acme", "visibility": "public", "description": "kettle"}
        for name in ("acme/teapot", "acme/potter", "acme/kettle")
    ]
    with database.engine.begin() as connection:
        connection.execute(
            insert(repository_settings), [{**row, "created_at": datetime.now(UTC)} for row in rows]
        )
    assert holding("pot") == ["acme/potter", "acme/teapot"]
    assert holding("kettle") == ["acme/kettle"]  # names only: every description holds it
    with database.engine.begin() as connection:
        renamed = update(repository_settings).where(repository_settings.c.name == "acme/teapot")
        connection.execute(renamed.values(name="acme/teacup"))
        gone = delete(repository_settings).where(repository_settings.c.name == "acme/potter")
        connection.execute(gone)
    assert holding("pot") == []
    assert holding("cup") == ["acme/teacup"]
    database.dispose()


def test_the_head_revision_named_by_the_files_is_alembics() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_database_at_head_is_left_as_it_is_without_loading_alembic(database_url: str) -> None:
    database = Database(database_url)
    upgrade(database.engine)
    database.dispose()
    # A command or a restart on a migrated database: Alembic is not even imported.
    check = (
        "import sys; from dockyard.db.engine import Database;"
        " from dockyard.db.migrate import upgrade; upgrade(Database(sys.argv[1]).engine);"
        " print('alembic' in sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check, database_url], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False", loaded.stderr


def test_nodes_starting_at_once_on_a_new_postgresql_database_migrate_it_once(
    postgres: PostgresServer,
) -> None:
    # Each process imports everything, then waits for the same moment to start migrating.
    migrate = (
        "import sys, time; from dockyard.db.engine import Database;"
        " from dockyard.db.migrate import upgrade; database = Database(sys.argv[1]);"
        " time.sleep(max(0, float(sys.argv[2]) - time.time())); upgrade(database.engine)"
    )
    start = str(time.time() + 3)
    with postgres.database() as url:
        processes = [
            subprocess.Popen([sys.executable, "-c", migrate, url, start], stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        failures = [p.stderr.read() for p in processes if p.wait() != 0 and p.stderr]
        assert failures == []
        database = Database(url)
        assert set(inspect(database.engine).get_table_names()) >= set(metadata.tables)
        database.dispose()


def test_an_upload_in_progress_keeps_its_bytes_across_the_pieces_migration(
    database_url: str,
) -> None:
    database = Database(database_url)
    upgrade(database.engine, "0003")
    moment = datetime.now(UTC)
    with database.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO repositories (name, created_at) VALUES ('r', :t)"), {"t": moment}
        )
        connection.execute(
            text(
                "INSERT INTO uploads (id, repository_id, size, created_at, updated_at)"
                " SELECT :id, id, :size, :t, :t FROM repositories WHERE name = 'r'"
            ),
            [{"id": "full", "size": 5, "t": moment}, {"id": "empty", "size": 0, "t": moment}],
        )
    upgrade(database.engine)
    with database.engine.begin() as connection:
        full = get_upload(connection, "r", "full")
        empty = get_upload(connection, "r", "empty")
    database.dispose()
    # On the filesystem, the one file the session wrote to is its one piece.
    assert full is not None and full.pieces == (Piece("uploads/full/data", 5),)
    assert empty is not None and empty.pieces == ()
