"""The interface every storage driver implements, and nothing more.

Kept small enough for an object store: objects are written whole and never changed, an
upload is a list of such objects (pieces) that `compose` joins into the blob, reads take a
range. Nothing here keeps state between calls that another process would need.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


class NotFound(FileNotFoundError):
    """No object at that key."""


@dataclass(frozen=True, slots=True)
class Piece:
    """An object holding a run of an upload's bytes: written once, by one request, then only
    read, so a request that loses the race to commit its pieces cannot touch anyone else's."""

    key: str
    size: int


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """A stored object as a listing reports it: what the garbage collector and fsck need."""

    key: str
    size: int
    modified: datetime  # aware, UTC


class StorageDriver(ABC):
    """Keys are '/'-separated relative paths such as `blobs/sha256/ab/ab12...`."""

    name: str

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when it does not exist."""

    @abstractmethod
    def read(self, key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream the object's bytes from offset; raises NotFound."""

    @abstractmethod
    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store chunks as the object at key, replacing any; readers see it whole or not at
        all. Returns its size."""

    async def append(
        self, pieces: Sequence[Piece], key: str, chunks: AsyncIterable[bytes]
    ) -> list[Piece]:
        """The pieces that hold `pieces`' bytes followed by chunks, the new ones written at
        `key` or under `key/`. Pieces given are never changed; a driver may leave some out of
        the answer (their bytes copied into a new piece), for the caller to delete once it
        has recorded the answer. Without bytes in chunks, the answer is `pieces`."""
        body = aiter(chunks)
        first = await first_chunk(body)
        if first is None:
            return list(pieces)
        size = await self.write(key, prepend(first, body))
        return [*pieces, Piece(key, size)]

    async def compose(self, pieces: Sequence[Piece], destination: str) -> None:
        """Make destination the pieces' bytes in order, whole at once. The pieces may be
        consumed; the caller deletes what is left of them. This fallback streams the bytes
        through the registry: drivers whose store can join objects itself override it."""
        await self.write(destination, self._concatenated(pieces))

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object, or every object under the key as a prefix; missing is fine."""

    @abstractmethod
    def list(self, prefix: str) -> AsyncIterator[str]:
        """Keys of the objects under prefix, in no particular order."""

    @abstractmethod
    def list_info(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """The objects under prefix with their size and last modification, in no order."""

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove these objects (not prefixes); missing ones are fine. Stores that delete in
        batches override it."""
        for key in keys:
            await self.delete(key)

    async def abort_incomplete_writes(self, older_than: timedelta) -> int:
        """Remove what writes interrupted long ago left inside the store itself and no key
        names (S3's incomplete multipart uploads); how many. Most stores keep none."""
        return 0

    def local_path(self, key: str) -> Path | None:
        """A file the HTTP server may send directly (zero-copy), when the driver has one."""
        return None

    async def presigned_url(self, key: str, expires: int) -> str | None:
        """A URL that serves the object to anyone for `expires` seconds without the
        registry in the way, when the store can sign one."""
        return None

    async def check(self) -> None:
        """Raise unless the store answers (for /readyz): by default a lookup of a key that
        need not exist, one round trip that fails when the store is away."""
        await self.size("health/probe")

    async def close(self) -> None:
        """Release connections at shutdown; a driver used again afterwards reopens them."""
        return

    async def _concatenated(self, pieces: Sequence[Piece]) -> AsyncIterator[bytes]:
        for piece in pieces:
            async for chunk in self.read(piece.key, 0, piece.size):
                yield chunk


async def first_chunk(body: AsyncIterator[bytes]) -> bytes | None:
    """The first non-empty chunk of a body, or None when it has none."""
    async for chunk in body:
        if chunk:
            return chunk
    return None


async def prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
