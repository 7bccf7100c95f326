"""Objects in a dict: for unit tests and throwaway registries; one process only."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from dockyard.storage.base import NotFound, StorageDriver


class MemoryDriver(StorageDriver):
    name = "memory"

    def __init__(self) -> None:
        self._objects: dict[str, bytearray] = {}

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
        return len(data)

    async def delete(self, key: str) -> None:
        self._objects.pop(key, None)
        prefix = key.rstrip("/") + "/"
        for name in [name for name in self._objects if name.startswith(prefix)]:
            del self._objects[name]

    async def list(self, prefix: str) -> AsyncIterator[str]:
        for name in list(self._objects):
            if name.startswith(prefix):
                yield name
