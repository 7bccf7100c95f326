"""Objects in Azure Blob Storage, Google Cloud Storage or OpenStack Swift, through opendal.

Pieces are plain objects (one per request, written in blocks of `chunk_size`). `compose` of one
piece, the common case (clients send a layer in one request), is a server-side copy; several
pieces are streamed through the registry into the blob, as opendal offers no way to join
objects inside these stores (docs/decisions/0011-opendal-stores.md).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import opendal
from opendal.exceptions import NotFound as OpendalNotFound
from opendal.layers import RetryLayer, TimeoutLayer

from dockyard.config import AzureSettings, GcsSettings, StorageSettings, SwiftSettings
from dockyard.storage.base import NotFound, ObjectInfo, Piece, StorageDriver

READ_CHUNK = 1024 * 1024
# opendal reads configuration files and cloud metadata servers unless told not to: the
# settings given are the whole configuration.
_NO_AMBIENT_CONFIG = {"disable_config_load": "true"}
# opendal's names for the services, by `storage.driver`.
_SCHEMES = {"azure": "azblob", "gcs": "gcs", "swift": "swift"}
# A request that fails for a moment (a refused or reset connection, a 5xx, a 429: what opendal
# calls temporary) is tried twice more after a short back-off, as the S3 driver's botocore
# does (three attempts): a pooled connection the store closed, or a moment of overload, is no
# failed push. A store that stays away still answers 503 within about a second.
_RETRIES = RetryLayer(max_times=2, factor=2.0, jitter=True, min_delay=0.1, max_delay=1.0)
# A server-side copy (a pushed blob published) waits for the store to copy the bytes: it may
# take this many times `storage.timeout_seconds`.
COPY_TIMEOUTS = 10


def _operator(scheme: str, options: dict[str, str], timeout: float) -> opendal.AsyncOperator:
    """An operator whose every operation, and every read or write of one, fails after
    `timeout` seconds without an end (opendal waits for ever otherwise: a store that took the
    connection and went silent held a blob's GET for as long as the client waited); a
    timeout is a temporary failure, which the retries then try again."""
    bounded = TimeoutLayer(timeout=timeout, io_timeout=timeout)
    return opendal.AsyncOperator(scheme, **options).layer(bounded).layer(_RETRIES)


class OpendalDriver(StorageDriver):
    def __init__(self, name: str, options: dict[str, str], chunk_size: int, timeout: float) -> None:
        self.name = name
        self.chunk_size = chunk_size
        self._operator = _operator(_SCHEMES[name], options, timeout)
        self._copier = _operator(_SCHEMES[name], options, timeout * COPY_TIMEOUTS)

    async def size(self, key: str) -> int | None:
        try:
            metadata = await self._operator.stat(key)
        except OpendalNotFound:
            return None
        return int(metadata.content_length)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        size = await self.size(key)
        if size is None:
            raise NotFound(key)
        end = size if length is None else min(size, offset + length)
        if end <= offset:
            return
        try:
            reader = await self._operator.open(key, "rb", offset=offset, size=end - offset)
            try:
                # A read may return fewer bytes than asked for: only an empty one ends.
                while chunk := await reader.read(READ_CHUNK):
                    yield chunk
            finally:
                await reader.close()
        except OpendalNotFound:
            raise NotFound(key) from None

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        writer = await self._operator.open(key, "wb", chunk=self.chunk_size)
        size = 0
        # Not `async with`: leaving it closes the writer, which commits the object, and a
        # failed body must commit nothing. An unclosed writer's blocks are never committed.
        async for chunk in chunks:
            await writer.write(chunk)
            size += len(chunk)
        await writer.close()
        return size

    async def compose(self, pieces: Sequence[Piece], destination: str) -> None:
        if len(pieces) == 1:  # the common case: a server-side copy
            await self._copy(pieces[0].key, destination)
        elif not pieces:
            await super().compose(pieces, destination)
        else:
            # Joined under a name of its own first: two uploads of one blob finishing at once
            # would otherwise write one key together, which Azure refuses to one of them.
            joined = f"{pieces[0].key}.{uuid.uuid4().hex}"
            await super().compose(pieces, joined)
            await self._copy(joined, destination)

    async def delete(self, key: str) -> None:
        # One by one: fake-gcs-server, the GCS the tests run, has no batch delete.
        async for listed in self.list(key):
            await self._operator.delete(listed)
        with contextlib.suppress(OpendalNotFound):
            await self._operator.delete(key)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        directory = prefix.strip("/")
        entries = await self._operator.list(f"{directory}/" if directory else "", recursive=True)
        async for entry in entries:
            if not entry.path.endswith("/"):
                yield entry.path

    async def list_info(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for key in self.list(prefix):
            try:
                metadata = await self._operator.stat(key)
            except OpendalNotFound:
                continue  # deleted since it was listed
            modified = metadata.last_modified or datetime.now(UTC)
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            yield ObjectInfo(key, int(metadata.content_length), modified)

    async def _copy(self, source: str, destination: str) -> None:
        try:
            await self._copier.copy(source, destination)
        except OpendalNotFound:
            raise NotFound(source) from None


class SwiftDriver(OpendalDriver):
    """Swift keeps an object written in several blocks as a static large object: a manifest,
    and segments that opendal puts under `.segments/<prefix>/<key><uuid>/` and does not delete
    with the object. `delete` sweeps them, also those of a write that failed before its
    manifest was written."""

    def __init__(
        self, options: dict[str, str], chunk_size: int, timeout: float, prefix: str
    ) -> None:
        super().__init__("swift", options, chunk_size, timeout)
        self._container = _operator("swift", {**options, "root": "/"}, timeout)
        self._segments = f".segments/{prefix}/" if prefix else ".segments/"

    async def delete(self, key: str) -> None:
        await super().delete(key)
        stem = self._segments + key.strip("/")
        entries = await self._container.list(stem.rsplit("/", 1)[0] + "/", recursive=True)
        async for entry in entries:
            if _SEGMENT_OF.match(entry.path[len(stem) :]) and entry.path.startswith(stem):
                await self._container.delete(entry.path)


# What follows a key's name in the name of its segments: a directory of its own (when the key
# names a prefix) or opendal's writer's UUID, then the segment's number.
_SEGMENT_OF = re.compile(r"(/|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)")


def opendal_driver(settings: StorageSettings) -> OpendalDriver:
    section: AzureSettings | GcsSettings | SwiftSettings = getattr(settings, settings.driver)
    options = {**_NO_AMBIENT_CONFIG, "root": f"/{section.prefix}", **_options(section)}
    timeout = settings.timeout_seconds
    if isinstance(section, SwiftSettings):
        return SwiftDriver(options, section.chunk_size, timeout, section.prefix)
    return OpendalDriver(settings.driver, options, section.chunk_size, timeout)


def _options(section: AzureSettings | GcsSettings | SwiftSettings) -> dict[str, str]:
    """opendal's options for the section (strings, as opendal wants them)."""
    found: dict[str, Any]
    if isinstance(section, AzureSettings):
        assert section.account_key is not None
        found = {
            "container": section.container,
            "account_name": section.account_name,
            "account_key": section.account_key.get_secret_value(),
            "endpoint": section.endpoint or f"https://{section.account_name}.blob.core.windows.net",
        }
    elif isinstance(section, GcsSettings):
        found = {"bucket": section.bucket, "endpoint": section.endpoint}
        if section.credential_path is not None:
            found["credential_path"] = str(section.credential_path)
        if section.anonymous:
            found |= {"skip_signature": "true", "disable_vm_metadata": "true"}
    else:
        assert section.token is not None
        found = {
            "endpoint": section.endpoint,
            "container": section.container,
            "token": section.token.get_secret_value(),
        }
    return {name: str(value) for name, value in found.items() if value is not None}
