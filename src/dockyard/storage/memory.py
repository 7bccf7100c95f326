"""Objects in a dict: for unit tests and throwaway registries; one process only."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from dockyard.storage.base import NotFound, ObjectInfo, StorageDriver


class MemoryDriver(StorageDriver):
    name = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, bytearray] = {}
        self._modified: dict[str, datetime] = {}

    async def size(self, key: str) -> int | None:
        data = self._objects.get(key)
        return None if data is None else len(data)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        data = self._objects.get(key)
        if data is None:
            raise NotFound(key)
        end = len(data) if length is None else min(len(data), offset + length)
        yield bytes(data[offset:end])

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        data = bytearray()
        async for chunk in chunks:
            data.extend(chunk)
        self._objects[key] = data
        self._modified[key] = datetime.now(UTC)
        return len(data)

    async def delete(self, key: str) -> None:
        self._objects.pop(key, None)
        self._modified.pop(key, None)
        prefix = key.rstrip("/") + "/"
        for name in [name for name in self._objects if name.startswith(prefix)]:
            del self._objects[name]
            del self._modified[name]

    async def list(self, prefix: str) -> AsyncIterator[str]:
        for name in list(self._objects):
            if name.startswith(prefix):
                yield name

    async def list_info(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        for name in list(self._objects):
            if name.startswith(prefix):
                yield ObjectInfo(name, len(self._objects[name]), self._modified[name])
