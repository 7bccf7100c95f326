"""Two PostgreSQL transactions of registry/metadata.py interleaved step by step: the one that
comes second waits for the first where a race could otherwise leave wrong rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.oci.mediatypes import OCI_MANIFEST
from dockyard.registry import metadata
from dockyard.registry.metadata import ManifestRecord
from tests.support.postgres import PostgresServer

DIGEST = "sha256:" + "a" * 64
LAYER = "sha256:" + "b" * 64
# Long enough that a transaction which does not wait would have finished by then.
WAIT = 0.5


@pytest.fixture
def engine(postgres: PostgresServer) -> Iterator[Engine]:
    with postgres.database() as url:
        database = Database(url)
        upgrade(database.engine)
        yield database.engine
        database.dispose()


class Second:
    """A transaction in another thread, started while the test holds the first one open."""

    def __init__(self, engine: Engine, fn: Callable[[Connection], Any]) -> None:
        self.result: Any = None
        self._thread = threading.Thread(target=self._run, args=(engine, fn))
        self._thread.start()

    def _run(self, engine: Engine, fn: Callable[[Connection], Any]) -> None:
        with engine.begin() as connection:
            self.result = fn(connection)

    def waiting(self) -> bool:
        self._thread.join(WAIT)
        return self._thread.is_alive()

    def finish(self) -> Any:
        self._thread.join()
        return self.result


def record() -> ManifestRecord:
    return ManifestRecord(DIGEST, OCI_MANIFEST, None, None, 2, b"{}")


def count(engine: Engine, query: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(query)).scalar_one())


def test_manifest_delete_waits_for_a_put_that_tags_it_and_removes_the_tag_too(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        metadata.store_manifest(connection, metadata.ensure_repository(connection, "r"), record())
    with engine.begin() as put:
        repository = metadata.ensure_repository(put, "r")
        metadata.store_manifest(put, repository, record())  # already there: locks the row
        delete = Second(engine, lambda c: metadata.delete_manifest(c, "r", DIGEST))
        assert delete.waiting()
        metadata.set_tag(put, repository, "latest", DIGEST)
    assert delete.finish() is True
    assert count(engine, "SELECT count(*) FROM tags") == 0  # no tag on a deleted manifest
    assert count(engine, "SELECT count(*) FROM manifests") == 0


def test_blob_delete_waits_for_a_manifest_put_that_checked_the_blob(engine: Engine) -> None:
    with engine.begin() as connection:
        metadata.record_blob(connection, LAYER, 10)
        metadata.link_blob(connection, metadata.ensure_repository(connection, "r"), LAYER)
    with engine.begin() as put:
        repository = metadata.ensure_repository(put, "r")
        assert metadata.unlinked_blobs(put, repository, [LAYER]) == []
        unlink = Second(engine, lambda c: metadata.unlink_blob(c, "r", LAYER))
        assert unlink.waiting()
        metadata.store_manifest(put, repository, record())
    assert unlink.finish() is True


def test_repository_created_by_two_transactions_at_once_is_one_row(engine: Engine) -> None:
    with engine.begin() as first:
        created = metadata.ensure_repository(first, "new")
        second = Second(engine, lambda c: metadata.ensure_repository(c, "new"))
        assert second.waiting()  # on the unique name, until the first commits
    assert second.finish() == created
    assert count(engine, "SELECT count(*) FROM repositories") == 1
