"""The interface every storage driver implements, and nothing more.

Kept small enough for an object store: appends at an offset that an S3 driver can
turn into multipart parts, a publish step (rename or server-side copy), ranged reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path


class NotFound(FileNotFoundError):
    """No object at that key."""


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
    async def write_at(self, key: str, offset: int, chunks: AsyncIterable[bytes]) -> int:
        """Write chunks from offset on, dropping any bytes past it (what a failed request
        left behind); the object is created if missing. Returns its new size."""

    @abstractmethod
    async def publish(self, source: str, destination: str) -> None:
        """Make source's bytes visible at destination at once, whole, then drop source."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object, or every object under the key as a prefix; missing is fine."""

    @abstractmethod
    def list(self, prefix: str) -> AsyncIterator[str]:
        """Keys of the objects under prefix, in no particular order."""

    def local_path(self, key: str) -> Path | None:
        """A file the HTTP server may send directly (zero-copy), when the driver has one."""
        return None

    async def presigned_url(self, key: str, expires: int) -> str | None:
        """A URL that serves the object to anyone for `expires` seconds without the
        registry in the way, when the store can sign one."""
        return None

    async def close(self) -> None:
        """Release connections at shutdown; a driver used again afterwards reopens them."""
        return
