"""The default driver: files under a root directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from dockyard.storage.base import NotFound, ObjectInfo, Piece, StorageDriver

READ_CHUNK = 1024 * 1024


class FilesystemDriver(StorageDriver):
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"key {key!r} escapes the storage root")
        return path

    async def check(self) -> None:
        # In a thread: a hung mount must not hold the event loop.
        await asyncio.to_thread(self._usable)

    def _usable(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"storage root {self.root} is not a directory")
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            raise PermissionError(f"storage root {self.root} is not readable and writable")

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(key) from None
        with handle:
            handle.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = _partial(path)
        try:
            with partial.open("wb") as handle:
                # Each chunk is written in a worker thread while the next one is received (and
                # hashed): one write in flight at a time keeps the order and bounds the memory.
                writing: asyncio.Future[int] | None = None
                try:
                    async for chunk in chunks:
                        if writing is not None:
                            await writing
                        writing = asyncio.ensure_future(asyncio.to_thread(handle.write, chunk))
                    if writing is not None:
                        await writing
                finally:
                    if writing is not None and not writing.done():
                        await asyncio.wait([writing])  # before the file is closed under it
                size = handle.tell()
            # A rename is atomic: readers see the whole object or nothing. No fsync: a killed
            # process loses nothing the kernel holds; power loss is the filesystem's guarantee.
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return size

    async def compose(self, pieces: Sequence[Piece], destination: str) -> None:
        destination_path = self._path(destination)
        destination_path.parent.mkdir(parents=True, exist_ok=True)
        partial = _partial(destination_path)
        try:
            if len(pieces) == 1:
                # The common case, an upload sent in one request: the piece becomes the blob.
                self._path(pieces[0].key).replace(destination_path)
                return
            await asyncio.to_thread(self._concatenate, pieces, partial)
            partial.replace(destination_path)
        except FileNotFoundError as missing:
            raise NotFound(str(missing.filename)) from None
        finally:
            partial.unlink(missing_ok=True)

    def _concatenate(self, pieces: Sequence[Piece], target: Path) -> None:
        """Join the pieces in the kernel (copy_file_range: no bytes through Python, and
        shared extents on filesystems that support them)."""
        with target.open("wb") as output:
            for piece in pieces:
                with self._path(piece.key).open("rb") as source:
                    remaining = piece.size
                    while remaining:
                        copied = os.copy_file_range(source.fileno(), output.fileno(), remaining)
                        if copied == 0:
                            raise OSError(f"{piece.key} ends before its {piece.size} bytes")
                        remaining -= copied

    async def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            await asyncio.to_thread(shutil.rmtree, path, True)
        else:
            path.unlink(missing_ok=True)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        base = self._path(prefix)
        if not base.exists():
            return
        for directory, _, files in os.walk(base):
            for name in files:
                yield (Path(directory) / name).relative_to(self.root).as_posix()

    async def list_info(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for key in self.list(prefix):
            try:
                stat = self._path(key).stat()
            except FileNotFoundError:
                continue  # deleted since it was listed
            modified = datetime.fromtimestamp(stat.st_mtime, UTC)
            yield ObjectInfo(key, stat.st_size, modified)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _partial(path: Path) -> Path:
    """Where an object is written before it is renamed into place: beside it, on the same
    filesystem, with a name no other writer uses."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
