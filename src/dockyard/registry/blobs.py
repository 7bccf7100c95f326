"""Blobs: content-addressed bytes, stored once, visible to the repositories linked to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.oci.digest import Digest
from dockyard.registry import metadata
from dockyard.registry.cache import Codec, MetadataCache
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import (
    BLOB_MEDIA_TYPE,
    DELETE,
    MOUNT,
    PUSH,
    Origin,
    Target,
    current_origin,
)
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.policies.quotas import check_bytes
from dockyard.storage import NotFound, Piece, StorageDriver
from dockyard.storage.base import first_chunk, prepend


@dataclass(frozen=True, slots=True)
class BlobInfo:
    digest: Digest
    size: int


# A linked blob's size, as cached per repository: the blob descriptor of every blob GET and HEAD.
_SIZE: Codec[int] = Codec(lambda size: str(size).encode(), int)


def blob_key(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


class BlobStore:
    def __init__(
        self,
        database: Database,
        driver: StorageDriver,
        redirect_expiry: int | None = None,
        cache: MetadataCache | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.database = database
        self.driver = driver
        self.cache = cache or MetadataCache()
        self.events = events or EventLog.silent()
        # Seconds a presigned URL lives when blob GETs are redirected to the store.
        self.redirect_expiry = redirect_expiry

    async def stat(self, name: str, digest: Digest) -> BlobInfo:
        size = await self.cache.read_through(
            name,
            f"blob:{digest}",
            lambda: self.database.read(metadata.linked_blob_size, name, str(digest)),
            _SIZE,
        )
        if size is None:
            raise RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})
        return BlobInfo(digest, size)

    def local_path(self, digest: Digest) -> Path | None:
        return self.driver.local_path(blob_key(digest))

    async def redirect_url(self, digest: Digest) -> str | None:
        """Where a client may fetch the blob from the store itself, when so configured."""
        if self.redirect_expiry is None:
            return None
        return await self.driver.presigned_url(blob_key(digest), self.redirect_expiry)

    async def read(self, digest: Digest, offset: int, length: int) -> AsyncIterator[bytes]:
        """The blob's bytes, the first of them read already: a store that is away (503), or
        that lost the object, fails here, before the answer starts, instead of cutting a 200
        short."""
        body = self.driver.read(blob_key(digest), offset, length)
        try:
            first = await first_chunk(body)
        except NotFound:
            raise RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)}) from None
        return body if first is None else prepend(first, body)

    async def delete(self, name: str, digest: Digest) -> None:
        """Unlink from the repository; the bytes go later, by garbage collection."""
        unlink = self.database.run(_unlink, name, str(digest), self.events, current_origin())
        if not await self.cache.changed(name, unlink):
            raise RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})

    async def mount(
        self, name: str, source: str, digest: Digest, quotas: QuotaSettings | None = None
    ) -> BlobInfo | None:
        """Link a blob that `source` holds into `name`; None when source does not hold it.
        DENIED when the link exceeds the namespace's byte quota (`quotas`: the defaults; None,
        unchecked)."""
        size = await self.database.run(
            _mount, name, source, str(digest), self.events, current_origin(), quotas
        )
        return None if size is None else BlobInfo(digest, size)

    async def compose(self, digest: Digest, size: int, pieces: Sequence[Piece]) -> None:
        """Make verified pieces the blob's object, unless it is stored already; the caller has
        pinned the blob (so no collector deletes its object meanwhile), records it
        (`record_and_link`) and then deletes what is left of the pieces. Raises NotFound when
        a piece is gone and the blob's object is not there either."""
        key = blob_key(digest)
        if await self.driver.size(key) == size:
            return
        try:
            await self.driver.compose(pieces, key)
        except NotFound:
            # The pieces were composed already, by a finish that a kill stopped before it
            # recorded the blob or by another process finishing the session now (the
            # filesystem renames a single piece into place). Only a verified finish writes a
            # blob's key, and the caller verified these pieces' digest: the object at the key
            # is their bytes.
            if await self.driver.size(key) != size:
                raise


def _mount(
    connection: Connection,
    name: str,
    source: str,
    digest: str,
    events: EventLog,
    origin: Origin | None,
    quotas: QuotaSettings | None,
) -> int | None:
    # The blob's row first: locked until this commits, or found claimed by a collector (then
    # not mountable: the client uploads it).
    if not metadata.touch_blob(connection, digest):
        return None
    size = metadata.linked_blob_size(connection, source, digest)
    if size is not None:
        if quotas is not None:
            check_bytes(connection, name, size, quotas, digest)
        metadata.link_blob(connection, metadata.ensure_repository(connection, name), digest)
        target = Target(name, digest, BLOB_MEDIA_TYPE, size, None, source, kind="blobs")
        events.record(connection, origin, MOUNT, target)
    return size


def _unlink(
    connection: Connection, name: str, digest: str, events: EventLog, origin: Origin | None
) -> bool:
    unlinked = metadata.unlink_blob(connection, name, digest)
    if unlinked:
        events.record(connection, origin, DELETE, Target(name, digest, kind="blobs"))
    return unlinked


def record_and_link(
    connection: Connection,
    name: str,
    digest: str,
    size: int,
    events: EventLog | None = None,
    origin: Origin | None = None,
) -> None:
    """Record a composed blob and let the repository see it (and, given `events`, record the
    push event in the same transaction)."""
    metadata.record_blob(connection, digest, size)
    metadata.touch_blob(connection, digest)
    metadata.link_blob(connection, metadata.ensure_repository(connection, name), digest)
    if events is not None:
        target = Target(name, digest, BLOB_MEDIA_TYPE, size, kind="blobs")
        events.record(connection, origin, PUSH, target)
