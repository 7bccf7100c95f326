"""The collector's SQL, and only SQL: every function takes a connection inside a transaction.

A blob is garbage when no repository links it, no manifest references it and no upload
session is publishing it (its pin). Deleting one is a claim (`claim_blobs`: the row marked
`deleting_since`, re-checked under its lock), then its object, then its row
(`forget_claimed`); docs/decisions/0020-online-garbage-collection.md says why that order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from dockyard.db.tables import (
    blobs,
    maintenance_leases,
    manifest_references,
    manifests,
    repositories,
    repository_blobs,
    tags,
    uploads,
)
from dockyard.db.upserts import conflict_insert
from dockyard.registry.metadata import _insert_ignore


@dataclass(frozen=True, slots=True)
class BlobRow:
    digest: str
    size: int


def _moment(moment: datetime) -> ColumnElement[datetime]:
    # Typed, so that SQLite compares it in the columns' format (a bare parameter would be
    # written by sqlite3's own adapter, with a "+00:00" the stored values lack).
    return literal(moment, DateTime(timezone=True))


def _link_used() -> ColumnElement[bool]:
    """A manifest of the link's repository references the blob."""
    return exists().where(
        manifest_references.c.repository_id == repository_blobs.c.repository_id,
        manifest_references.c.reference == repository_blobs.c.digest,
    )


def _garbage(predict: tuple[datetime, datetime] | None = None) -> ColumnElement[bool]:
    """No link, no manifest reference, no pin, not claimed. With `predict` (moment, cutoff):
    links that `delete_unused_links` would delete at that moment count as gone already."""
    links = exists().where(repository_blobs.c.digest == blobs.c.digest)
    if predict is not None:
        moment, cutoff = predict
        stale = and_(
            func.coalesce(repository_blobs.c.unreferenced_since, _moment(moment)) <= cutoff,
            ~_link_used(),
        )
        links = exists().where(repository_blobs.c.digest == blobs.c.digest, ~stale)
    return and_(
        blobs.c.deleting_since.is_(None),
        ~links,
        ~exists().where(manifest_references.c.reference == blobs.c.digest),
        ~exists().where(uploads.c.digest == blobs.c.digest),
    )


def _old_enough(moment: datetime, cutoff: datetime) -> ColumnElement[bool]:
    # A blob the collector has not marked yet counts as unreferenced since `moment`: a dry run
    # (which marks nothing) then lists what a real run at the same moment deletes.
    return func.coalesce(blobs.c.unreferenced_since, _moment(moment)) <= cutoff


def mark_unreferenced(
    connection: Connection, moment: datetime, after: str, limit: int
) -> str | None:
    """Start the grace period of blobs found garbage, end it for those referenced again, among
    the `limit` digests after `after`; the last of them, or None when none is left. Only timing
    hangs on the marks: `claim_blobs` checks everything again."""
    last = connection.execute(
        select(blobs.c.digest)
        .where(blobs.c.digest > after)
        .order_by(blobs.c.digest)
        .offset(limit - 1)
        .limit(1)
    ).scalar()
    within = and_(blobs.c.digest > after, *([blobs.c.digest <= last] if last else []))
    connection.execute(
        update(blobs)
        .where(within, blobs.c.unreferenced_since.is_(None), _garbage())
        .values(unreferenced_since=moment)
    )
    connection.execute(
        update(blobs)
        .where(within, blobs.c.unreferenced_since.is_not(None), ~_garbage())
        .values(unreferenced_since=None)
    )
    return last


def last_repository(connection: Connection) -> int:
    """The highest repository id: the collector walks links in ranges of repositories."""
    return int(connection.execute(select(func.max(repositories.c.id))).scalar() or 0)


def _repositories_in(low: int, high: int) -> ColumnElement[bool]:
    return and_(repository_blobs.c.repository_id > low, repository_blobs.c.repository_id <= high)


def mark_unused_links(connection: Connection, moment: datetime, low: int, high: int) -> None:
    """Start the grace period of links no manifest of their repository uses; end it for
    those used again (repositories with ids in (low, high])."""
    connection.execute(
        update(repository_blobs)
        .where(
            _repositories_in(low, high),
            repository_blobs.c.unreferenced_since.is_(None),
            ~_link_used(),
        )
        .values(unreferenced_since=moment)
    )
    connection.execute(
        update(repository_blobs)
        .where(
            _repositories_in(low, high),
            repository_blobs.c.unreferenced_since.is_not(None),
            _link_used(),
        )
        .values(unreferenced_since=None)
    )


def delete_unused_links(connection: Connection, cutoff: datetime, low: int, high: int) -> int:
    """Delete links unused since `cutoff` or before (repositories with ids in (low, high]). A
    manifest put clears the mark of the links it uses under their lock
    (metadata.unlinked_blobs), so on PostgreSQL this DELETE either waits for it and then finds
    the mark gone, or runs first and the put finds the link missing (MANIFEST_BLOB_UNKNOWN)."""
    result = connection.execute(
        delete(repository_blobs).where(
            _repositories_in(low, high),
            repository_blobs.c.unreferenced_since.is_not(None),
            repository_blobs.c.unreferenced_since <= cutoff,
            ~_link_used(),
        )
    )
    return int(result.rowcount)


def unused_links(connection: Connection, moment: datetime, cutoff: datetime) -> int:
    """How many links `delete_unused_links` would delete at `moment` (for a dry run)."""
    return int(
        connection.execute(
            select(func.count()).where(
                func.coalesce(repository_blobs.c.unreferenced_since, _moment(moment)) <= cutoff,
                ~_link_used(),
            )
        ).scalar_one()
    )


def collectable_blobs(
    connection: Connection,
    moment: datetime,
    cutoff: datetime,
    after: str,
    limit: int,
    predict: bool = False,
) -> list[BlobRow]:
    """Garbage blobs unreferenced since `cutoff` or before, by digest after `after`; with
    `predict`, as if the unused links had been deleted (a dry run)."""
    garbage = _garbage((moment, cutoff) if predict else None)
    rows = connection.execute(
        select(blobs.c.digest, blobs.c.size)
        .where(garbage, _old_enough(moment, cutoff), blobs.c.digest > after)
        .order_by(blobs.c.digest)
        .limit(limit)
    )
    return [BlobRow(digest, size) for digest, size in rows]


def claim_blobs(
    connection: Connection, digests: Sequence[str], moment: datetime, cutoff: datetime
) -> list[BlobRow]:
    """Claim those of `digests` that are still garbage: their rows marked as being deleted.

    The rows are locked first (PostgreSQL; SQLite has one writer at a time), skipping any a
    push holds: the UPDATE after them, a new statement, then sees every link, reference and
    pin committed before the locks were taken, and any push after them waits for this
    transaction and finds the blob claimed (metadata.touch_blob, metadata.pin_blob)."""
    locked = list(
        connection.execute(
            select(blobs.c.digest)
            .where(blobs.c.digest.in_(digests), blobs.c.deleting_since.is_(None))
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not locked:
        return []
    rows = connection.execute(
        update(blobs)
        .where(blobs.c.digest.in_(locked), _garbage(), _old_enough(moment, cutoff))
        .values(deleting_since=moment)
        .returning(blobs.c.digest, blobs.c.size)
    )
    return [BlobRow(digest, size) for digest, size in rows]


def claim_orphans(connection: Connection, found: Sequence[BlobRow], moment: datetime) -> list[str]:
    """Claim objects no row names: a row is written for each, already being deleted, unless
    one exists (a publish pinned it: metadata.pin_blob writes the row before the object).
    The digests claimed."""
    claimed = []
    for row in found:
        statement = conflict_insert(connection, blobs).values(
            digest=row.digest, size=row.size, created_at=moment, deleting_since=moment
        )
        if connection.execute(statement.on_conflict_do_nothing()).rowcount:
            claimed.append(row.digest)
    return claimed


def stale_claims(connection: Connection, before: datetime) -> list[BlobRow]:
    """Blobs a collector claimed before `before` and did not finish (it died)."""
    rows = connection.execute(
        select(blobs.c.digest, blobs.c.size).where(blobs.c.deleting_since < before)
    )
    return [BlobRow(digest, size) for digest, size in rows]


def forget_claimed(connection: Connection, digests: Sequence[str]) -> None:
    """The rows of claimed blobs whose objects are deleted."""
    connection.execute(
        delete(blobs).where(blobs.c.digest.in_(digests), blobs.c.deleting_since.is_not(None))
    )


def recorded(connection: Connection, digests: Sequence[str]) -> set[str]:
    """Which of `digests` have a row."""
    return set(
        connection.execute(select(blobs.c.digest).where(blobs.c.digest.in_(digests))).scalars()
    )


def sessions(connection: Connection, ids: Sequence[str]) -> set[str]:
    """Which of these upload sessions exist."""
    return set(connection.execute(select(uploads.c.id).where(uploads.c.id.in_(ids))).scalars())


# Leases: periodic work one process at a time does.


def take_lease(
    connection: Connection,
    name: str,
    owner: str,
    moment: datetime,
    until: datetime,
    finished_before: datetime | None = None,
) -> bool:
    """Take (or renew) the lease `name` for `owner` until `until`, unless another holds it;
    with `finished_before`, only if the work last finished before then (or never)."""
    _insert_ignore(connection, maintenance_leases, name=name)
    c = maintenance_leases.c
    conditions: list[Any] = [
        c.name == name,
        or_(c.owner.is_(None), c.owner == owner, c.until < moment),
    ]
    if finished_before is not None:
        conditions.append(or_(c.last_finished_at.is_(None), c.last_finished_at < finished_before))
    result = connection.execute(
        update(maintenance_leases).where(*conditions).values(owner=owner, until=until)
    )
    return result.rowcount > 0


def release_lease(connection: Connection, name: str, owner: str, finished: datetime | None) -> None:
    values: dict[str, Any] = {"owner": None, "until": None}
    if finished is not None:
        values["last_finished_at"] = finished
    c = maintenance_leases.c
    connection.execute(
        update(maintenance_leases).where(c.name == name, c.owner == owner).values(**values)
    )


# Untagged manifests.


@dataclass(frozen=True, slots=True)
class ManifestNode:
    digest: str
    created_at: datetime
    subject: str | None
    tagged: bool
    children: tuple[str, ...]


def repositories_with_untagged(connection: Connection) -> list[tuple[int, str]]:
    """(id, name) of the repositories holding a manifest no tag points at."""
    untagged = ~exists().where(
        tags.c.repository_id == manifests.c.repository_id, tags.c.digest == manifests.c.digest
    )
    rows = connection.execute(
        select(repositories.c.id, repositories.c.name)
        .where(exists().where(manifests.c.repository_id == repositories.c.id, untagged))
        .order_by(repositories.c.name)
    )
    return [(int(found), str(name)) for found, name in rows]


def manifest_graph(connection: Connection, repository: int) -> list[ManifestNode]:
    """Every manifest of the repository, with whether a tag names it and its children."""
    children: dict[str, list[str]] = {}
    for parent, child in connection.execute(
        select(manifest_references.c.digest, manifest_references.c.reference).where(
            manifest_references.c.repository_id == repository,
            manifest_references.c.kind == "manifest",
        )
    ):
        children.setdefault(parent, []).append(child)
    tagged = set(
        connection.execute(
            select(tags.c.digest).where(tags.c.repository_id == repository)
        ).scalars()
    )
    rows = connection.execute(
        select(manifests.c.digest, manifests.c.created_at, manifests.c.subject).where(
            manifests.c.repository_id == repository
        )
    )
    return [
        ManifestNode(digest, created, subject, digest in tagged, tuple(children.get(digest, ())))
        for digest, created, subject in rows
    ]


def delete_untagged_manifest(
    connection: Connection,
    repository: int,
    digest: str,
    cutoff: datetime,
    keep_referred_subjects: bool,
) -> bool:
    """Delete the manifest if it is still untagged, pushed before `cutoff`, listed by no
    index of the repository and (with `keep_referred_subjects`) the subject of none of its
    manifests. Its row is locked first, so a push that tags it or lists it in an index (both
    lock it: metadata.store_manifest, metadata.missing_manifests) commits wholly before
    these checks or waits for this transaction and then finds it gone."""
    m = manifests.c
    locked = connection.execute(
        select(m.digest)
        .where(m.repository_id == repository, m.digest == digest, m.created_at < cutoff)
        .with_for_update()
    ).first()
    if locked is None:
        return False
    held_by = [
        exists().where(tags.c.repository_id == repository, tags.c.digest == digest),
        exists().where(
            manifest_references.c.repository_id == repository,
            manifest_references.c.reference == digest,
            manifest_references.c.kind == "manifest",
        ),
    ]
    if keep_referred_subjects:
        held_by.append(exists().where(m.repository_id == repository, m.subject == digest))
    if connection.execute(select(or_(*held_by))).scalar():
        return False
    connection.execute(
        delete(manifest_references).where(
            manifest_references.c.repository_id == repository,
            manifest_references.c.digest == digest,
        )
    )
    connection.execute(delete(manifests).where(m.repository_id == repository, m.digest == digest))
    return True


# The consistency check.


@dataclass(frozen=True, slots=True)
class RecordedBlob:
    digest: str
    size: int
    deleting: bool
    pinned: bool
    garbage: bool


def recorded_blobs(connection: Connection, after: str, limit: int) -> list[RecordedBlob]:
    """Every blob row, by digest after `after`, with whether it is claimed, pinned, garbage."""
    pinned = exists().where(uploads.c.digest == blobs.c.digest)
    rows = connection.execute(
        select(
            blobs.c.digest,
            blobs.c.size,
            blobs.c.deleting_since.is_not(None),
            pinned,
            _garbage(),
        )
        .where(blobs.c.digest > after)
        .order_by(blobs.c.digest)
        .limit(limit)
    )
    return [RecordedBlob(d, s, bool(x), bool(p), bool(g)) for d, s, x, p, g in rows]


def users_of_blob(connection: Connection, digest: str) -> list[str]:
    """Who needs the blob: `<repository>@<manifest>` for each manifest that references it,
    `<repository> (link)` for each repository that links it."""
    r = manifest_references.c
    referencing = connection.execute(
        select(repositories.c.name, r.digest)
        .join(repositories, repositories.c.id == r.repository_id)
        .where(r.reference == digest)
        .order_by(repositories.c.name, r.digest)
    )
    linking = connection.execute(
        select(repositories.c.name)
        .join(repository_blobs, repository_blobs.c.repository_id == repositories.c.id)
        .where(repository_blobs.c.digest == digest)
        .order_by(repositories.c.name)
    ).scalars()
    return [f"{name}@{manifest}" for name, manifest in referencing] + [
        f"{name} (link)" for name in linking
    ]


def dangling_references(connection: Connection) -> list[tuple[str, str, str, str]]:
    """(repository, manifest, kind, reference) of each blob reference without its blob row,
    and each child manifest the repository does not hold."""
    r = manifest_references.c
    child = manifests.alias("child")
    missing_blob = and_(r.kind == "blob", ~exists().where(blobs.c.digest == r.reference))
    missing_child = and_(
        r.kind == "manifest",
        ~exists().where(child.c.repository_id == r.repository_id, child.c.digest == r.reference),
    )
    rows = connection.execute(
        select(repositories.c.name, r.digest, r.kind, r.reference)
        .join(repositories, repositories.c.id == r.repository_id)
        .where(or_(missing_blob, missing_child))
        .order_by(repositories.c.name, r.digest, r.reference)
    )
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]
