"""The registry's SQL, and only SQL: every function takes a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import sqlite

from dockyard.db.driver_rows import DriverListing
from dockyard.db.tables import (
    blobs,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
    upload_pieces,
    uploads,
)
from dockyard.db.upserts import conflict_insert
from dockyard.storage import Piece


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    digest: str
    media_type: str
    artifact_type: str | None
    subject: str | None
    size: int
    body: bytes


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    repository: str
    size: int
    created_at: datetime
    hash_state: bytes | None
    pieces: tuple[Piece, ...]


def now() -> datetime:
    return datetime.now(UTC)


def _insert_ignore(connection: Connection, table: Table, **values: Any) -> None:
    statement: Insert = conflict_insert(connection, table).values(**values).on_conflict_do_nothing()
    connection.execute(statement)


# Repositories


def repository_id(connection: Connection, name: str) -> int | None:
    return connection.execute(
        select(repositories.c.id).where(repositories.c.name == name)
    ).scalar_one_or_none()


def ensure_repository(connection: Connection, name: str) -> int:
    """The repository's id, created if new. Two transactions creating the same name at once
    do not fail: on PostgreSQL the second INSERT waits for the first to commit and then does
    nothing, and under READ COMMITTED (the default, which Dockyard keeps) the SELECT after it,
    a new statement, sees the committed row."""
    found = repository_id(connection, name)
    if found is not None:
        return found
    _insert_ignore(connection, repositories, name=name, created_at=now())
    created = repository_id(connection, name)
    assert created is not None
    return created


def list_repositories(connection: Connection, limit: int | None, last: str | None) -> list[str]:
    query = select(repositories.c.name).order_by(repositories.c.name)
    if last:
        query = query.where(repositories.c.name > last)
    if limit is not None:
        query = query.limit(limit)
    return list(connection.execute(query).scalars())


# Blobs


def blob_size(connection: Connection, digest: str) -> int | None:
    return connection.execute(
        select(blobs.c.size).where(blobs.c.digest == digest)
    ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class _HotRead:
    """A read that every blob or manifest GET and HEAD makes, built once with bound parameters
    (building a select per call cost ~100 µs of SQLAlchemy, three times the query itself).

    On SQLite its SQL, compiled once, goes straight to the sqlite3 connection underneath, in
    the same transaction: SQLAlchemy's execution path alone costs ~25 µs per call, four times
    the indexed lookup, and this is most of what a manifest GET costs. Other databases go
    through SQLAlchemy as usual."""

    statement: Select[Any]
    sqlite_sql: str

    @classmethod
    def of(cls, statement: Select[Any]) -> _HotRead:
        named = sqlite.dialect(paramstyle="named")
        return cls(statement, str(statement.compile(dialect=named)))

    def one(self, connection: Connection, **parameters: str) -> Any:
        """The one row, or None."""
        if connection.dialect.name == "sqlite":
            driver = connection.connection.driver_connection
            assert driver is not None
            return driver.execute(self.sqlite_sql, parameters).fetchone()
        return connection.execute(self.statement, parameters).one_or_none()


_LINKED_BLOB_SIZE = _HotRead.of(
    select(blobs.c.size)
    .join(repository_blobs, repository_blobs.c.digest == blobs.c.digest)
    .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
    .where(repositories.c.name == bindparam("name"), blobs.c.digest == bindparam("digest"))
)


def linked_blob_size(connection: Connection, name: str, digest: str) -> int | None:
    """The blob's size if the repository may serve it, else None."""
    row = _LINKED_BLOB_SIZE.one(connection, name=name, digest=digest)
    return None if row is None else int(row[0])


def record_blob(connection: Connection, digest: str, size: int) -> None:
    _insert_ignore(connection, blobs, digest=digest, size=size, created_at=now())


def touch_blob(connection: Connection, digest: str) -> bool:
    """Hold the blob for a new link (a mount): clears the collector's mark and locks the row
    until the transaction ends; False when no blob is recorded or a collector claimed it (it
    is being deleted). See docs/decisions/0020-online-garbage-collection.md."""
    result = connection.execute(
        update(blobs)
        .where(blobs.c.digest == digest, blobs.c.deleting_since.is_(None))
        .values(unreferenced_since=None)
    )
    return result.rowcount > 0


def pin_blob(connection: Connection, upload_id: str, digest: str, size: int) -> str:
    """Pin `digest` for the session about to publish it: its row is recorded (without an
    object yet, if new) and no collector deletes it while the session names it. "pinned";
    "deleting" when a collector claimed the blob (wait until its row is gone, then pin
    again); "ended" when the session is gone."""
    statement = conflict_insert(connection, blobs).values(
        digest=digest, size=size, created_at=now()
    )
    # The upsert takes the row's lock (or waits for a collector's claim to commit).
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[blobs.c.digest],
            set_={"unreferenced_since": None},
            where=blobs.c.deleting_since.is_(None),
        )
    )
    deleting = connection.execute(
        select(blobs.c.deleting_since).where(blobs.c.digest == digest)
    ).scalar_one_or_none()
    if deleting is not None:
        return "deleting"
    pinned = connection.execute(
        update(uploads).where(uploads.c.id == upload_id).values(digest=digest)
    )
    return "pinned" if pinned.rowcount else "ended"


def link_blob(connection: Connection, repository: int, digest: str) -> None:
    """Link (or link again: the collector's mark on the link is cleared)."""
    statement = conflict_insert(connection, repository_blobs).values(
        repository_id=repository, digest=digest
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[repository_blobs.c.repository_id, repository_blobs.c.digest],
            set_={"unreferenced_since": None},
        )
    )


def unlink_blob(connection: Connection, name: str, digest: str) -> bool:
    repository = repository_id(connection, name)
    if repository is None:
        return False
    result = connection.execute(
        delete(repository_blobs).where(
            repository_blobs.c.repository_id == repository, repository_blobs.c.digest == digest
        )
    )
    return result.rowcount > 0


def unlinked_blobs(connection: Connection, repository: int, digests: Iterable[str]) -> list[str]:
    """Which of `digests` the repository does not link. The links found stay locked
    (PostgreSQL) until the transaction ends: a blob delete racing a manifest put waits
    for it instead of removing a link the put has just checked."""
    wanted = list(digests)
    if not wanted:
        return []
    # An UPDATE, not a SELECT FOR SHARE: it also ends the collector's mark on each link, so
    # that a collector deleting links no manifest uses waits for this transaction and then
    # finds the link in use (docs/decisions/0020-online-garbage-collection.md).
    present = set(
        connection.execute(
            update(repository_blobs)
            .where(
                repository_blobs.c.repository_id == repository,
                repository_blobs.c.digest.in_(wanted),
            )
            .values(unreferenced_since=None)
            .returning(repository_blobs.c.digest)
        ).scalars()
    )
    return [digest for digest in wanted if digest not in present]


# Manifests and tags


def _manifest_columns() -> tuple[Any, ...]:
    c = manifests.c
    return (c.digest, c.media_type, c.artifact_type, c.subject, c.size, c.body)


_MANIFEST_BY_DIGEST = _HotRead.of(
    select(*_manifest_columns())
    .join(repositories, repositories.c.id == manifests.c.repository_id)
    .where(repositories.c.name == bindparam("name"), manifests.c.digest == bindparam("digest"))
)

_MANIFEST_BY_TAG = _HotRead.of(
    select(*_manifest_columns())
    .join(repositories, repositories.c.id == manifests.c.repository_id)
    .join(
        tags,
        and_(
            tags.c.repository_id == manifests.c.repository_id,
            tags.c.digest == manifests.c.digest,
        ),
    )
    .where(repositories.c.name == bindparam("name"), tags.c.name == bindparam("tag"))
)


def manifest_by_digest(connection: Connection, name: str, digest: str) -> ManifestRecord | None:
    row = _MANIFEST_BY_DIGEST.one(connection, name=name, digest=digest)
    return None if row is None else ManifestRecord(*row)


def manifest_by_tag(connection: Connection, name: str, tag: str) -> ManifestRecord | None:
    row = _MANIFEST_BY_TAG.one(connection, name=name, tag=tag)
    return None if row is None else ManifestRecord(*row)


def missing_manifests(connection: Connection, repository: int, digests: Sequence[str]) -> list[str]:
    """Which of `digests` the repository does not hold; those found stay locked, as in
    `unlinked_blobs`."""
    present = set(
        connection.execute(
            select(manifests.c.digest)
            .where(manifests.c.repository_id == repository, manifests.c.digest.in_(digests))
            .with_for_update(read=True)
        ).scalars()
    )
    return [digest for digest in digests if digest not in present]


def store_manifest(connection: Connection, repository: int, record: ManifestRecord) -> None:
    statement = conflict_insert(connection, manifests).values(
        repository_id=repository,
        digest=record.digest,
        media_type=record.media_type,
        artifact_type=record.artifact_type,
        subject=record.subject,
        size=record.size,
        body=record.body,
        created_at=now(),
    )
    # A manifest already stored is "updated" to the same media type (same digest, same bytes):
    # unlike DO NOTHING this locks its row until the tag is set, so a delete of the manifest
    # racing this put runs wholly before it (and the put stores it again) or wholly after it
    # (and removes the tag too), never in between, which would leave a tag on nothing.
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[manifests.c.repository_id, manifests.c.digest],
            set_={"media_type": statement.excluded.media_type},
        )
    )


def store_references(
    connection: Connection,
    repository: int,
    digest: str,
    blob_digests: Sequence[str],
    child_digests: Sequence[str],
) -> None:
    """What the manifest references, for the garbage collector (once: a manifest stored
    again references the same)."""
    rows = [
        {"repository_id": repository, "digest": digest, "reference": found, "kind": kind}
        for kind, digests in (("blob", blob_digests), ("manifest", child_digests))
        for found in digests
    ]
    if rows:
        connection.execute(
            conflict_insert(connection, manifest_references).on_conflict_do_nothing(), rows
        )


def repository_tags_version(connection: Connection, name: str) -> tuple[int, int] | None:
    """The repository's id and the version of its list of tag names."""
    row = connection.execute(
        select(repositories.c.id, repositories.c.tags_version).where(repositories.c.name == name)
    ).first()
    return None if row is None else (row[0], row[1])


def _tags_changed(connection: Connection, repository: int) -> None:
    """A tag was added or removed: a process holding the old list sends it no more."""
    connection.execute(
        update(repositories)
        .where(repositories.c.id == repository)
        .values(tags_version=repositories.c.tags_version + 1)
    )


def set_tag(connection: Connection, repository: int, tag: str, digest: str) -> None:
    moment = now()
    statement = conflict_insert(connection, tags).values(
        repository_id=repository, name=tag, digest=digest, updated_at=moment
    )
    # The last writer wins, in one statement: no window between a read and a write.
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[tags.c.repository_id, tags.c.name],
            set_={"digest": digest, "updated_at": moment},
        )
    )
    _tags_changed(connection, repository)  # perhaps only moved: a new list costs one query


def delete_manifest(connection: Connection, name: str, digest: str) -> bool:
    repository = repository_id(connection, name)
    if repository is None:
        return False
    # The manifest first: deleting its row waits for a put that holds it (see store_manifest),
    # and the DELETE of tags after it, a new statement, then sees the tag that put committed.
    result = connection.execute(
        delete(manifests).where(
            manifests.c.repository_id == repository, manifests.c.digest == digest
        )
    )
    untagged = connection.execute(
        delete(tags).where(tags.c.repository_id == repository, tags.c.digest == digest)
    )
    if untagged.rowcount:
        _tags_changed(connection, repository)
    connection.execute(
        delete(manifest_references).where(
            manifest_references.c.repository_id == repository,
            manifest_references.c.digest == digest,
        )
    )
    return result.rowcount > 0


def delete_tag(connection: Connection, name: str, tag: str) -> bool:
    repository = repository_id(connection, name)
    if repository is None:
        return False
    result = connection.execute(
        delete(tags).where(tags.c.repository_id == repository, tags.c.name == tag)
    )
    if result.rowcount:
        _tags_changed(connection, repository)
    return result.rowcount > 0


# Every tag name is longer than "": one statement serves the first page and the next ones.
_TAG_NAMES = DriverListing(
    select(tags.c.name)
    .where(tags.c.repository_id == bindparam("repository"), tags.c.name > bindparam("last"))
    .order_by(tags.c.name)
    .limit(bindparam("limit"))
)


def list_tags(connection: Connection, repository: int, limit: int, last: str | None) -> list[str]:
    """Up to `limit` tag names after `last`, in order (a page of /v2/<name>/tags/list)."""
    names: list[str] = _TAG_NAMES.values(
        connection, repository=repository, last=last or "", limit=limit
    )
    return names


def referrers(
    connection: Connection,
    name: str,
    subject: str,
    artifact_type: str | None,
    limit: int,
    after: str | None,
) -> list[ManifestRecord]:
    """Up to `limit` referrers of `subject`, oldest first, after the one whose digest is
    `after` (the last of the previous page)."""
    m = manifests.c
    query = (
        select(*_manifest_columns())
        .join(repositories, repositories.c.id == m.repository_id)
        .where(repositories.c.name == name, m.subject == subject)
        .order_by(m.created_at, m.digest)
        .limit(limit)
    )
    if artifact_type is not None:
        query = query.where(m.artifact_type == artifact_type)
    if after is not None:
        previous = connection.execute(
            select(m.created_at)
            .join(repositories, repositories.c.id == m.repository_id)
            .where(repositories.c.name == name, m.digest == after)
        ).scalar()
        if previous is None:
            return []  # a page cursor that names nothing held
        query = query.where(
            or_(m.created_at > previous, and_(m.created_at == previous, m.digest > after))
        )
    return [ManifestRecord(*row) for row in connection.execute(query)]


# Upload sessions


def create_upload(connection: Connection, upload_id: str, repository: int) -> None:
    moment = now()
    connection.execute(
        uploads.insert().values(
            id=upload_id, repository_id=repository, size=0, created_at=moment, updated_at=moment
        )
    )


def get_upload(connection: Connection, name: str, upload_id: str) -> UploadRecord | None:
    row = connection.execute(
        select(
            uploads.c.id,
            repositories.c.name,
            uploads.c.size,
            uploads.c.created_at,
            uploads.c.hash_state,
        )
        .join(repositories, repositories.c.id == uploads.c.repository_id)
        .where(uploads.c.id == upload_id, repositories.c.name == name)
    ).one_or_none()
    if row is None:
        return None
    pieces = connection.execute(
        select(upload_pieces.c.storage_key, upload_pieces.c.size)
        .where(upload_pieces.c.upload_id == upload_id)
        .order_by(upload_pieces.c.position)
    )
    return UploadRecord(*row, pieces=tuple(Piece(key, size) for key, size in pieces))


def set_upload_progress(
    connection: Connection,
    upload_id: str,
    old_size: int,
    pieces: Sequence[Piece],
    kept: int,
    hash_state: bytes | None,
) -> bool:
    """Make `pieces` the session's, the first `kept` of them recorded already, if it still
    holds old_size bytes; False, and nothing changed, when another request moved it first."""
    result = connection.execute(
        update(uploads)
        .where(uploads.c.id == upload_id, uploads.c.size == old_size)
        .values(size=sum(piece.size for piece in pieces), hash_state=hash_state, updated_at=now())
    )
    if result.rowcount == 0:
        return False
    connection.execute(
        delete(upload_pieces).where(
            upload_pieces.c.upload_id == upload_id, upload_pieces.c.position >= kept
        )
    )
    added = [
        {"upload_id": upload_id, "position": position, "storage_key": piece.key, "size": piece.size}
        for position, piece in enumerate(pieces)
        if position >= kept
    ]
    if added:
        connection.execute(upload_pieces.insert(), added)
    return True


def delete_upload(connection: Connection, upload_id: str) -> bool:
    connection.execute(delete(upload_pieces).where(upload_pieces.c.upload_id == upload_id))
    return connection.execute(delete(uploads).where(uploads.c.id == upload_id)).rowcount > 0


def stale_uploads(connection: Connection, before: datetime) -> list[str]:
    return list(
        connection.execute(select(uploads.c.id).where(uploads.c.updated_at < before)).scalars()
    )
