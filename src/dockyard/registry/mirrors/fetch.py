"""One upstream download of a blob, shared by every client that asks for it meanwhile.

The bytes go two ways as they arrive: into an upload session (hashed there, the one check of
the upstream's bytes; the blob becomes visible only once its digest matched) and into an
anonymous spool file that each waiting client reads at its own pace. A client is sent only
bytes the download has passed on, and the last HOLD bytes only once the digest was verified: a
blob that small which turns out wrong is answered with an error instead of a cut connection.
Verified bytes are sent on at once, while the blob is made durable and recorded: that took
20-80 ms per blob, which every client waited for (decision 0025)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dockyard import client
from dockyard.kit import pace
from dockyard.oci.digest import Digest
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.mirrors.upstream import translated
from dockyard.registry.ranges import byte_range
from dockyard.registry.uploads import UploadService

log = logging.getLogger("dockyard.registry.mirrors")

CHUNK = 1024 * 1024
HOLD = 1024 * 1024
# The upstream's bytes come in the socket's pieces (64 KiB): spooled and passed on once CHUNK
# of them arrived, or this long after the last time, so that a slow upstream's bytes still
# reach the clients as they come. A spool write (in a thread), a wake-up of the readers and a
# send to each client per piece cost a cold pull of 250 MB about 2.5 s of server CPU, 1.7 s
# once gathered (docs/benchmarks.md, "Pull through a mirror").
GATHER_SECONDS = 0.1
OCTET_STREAM = "application/octet-stream"


class UpstreamTooSlow(client.RegistryUnavailable):
    """The upstream sent the blob slower than the mirror's minimum rate."""


class BlobFetch:
    """A download in progress (or just ended) of `digest`, `size` bytes, for `name`."""

    def __init__(self, name: str, digest: Digest, size: int, spool_dir: Path) -> None:
        self.name = name
        self.digest = digest
        self.size = size
        spool_dir.mkdir(parents=True, exist_ok=True)
        # Unlinked at once: nothing of it outlives the process, whatever happens.
        self._spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 (the last reader closes it)
        self.written = 0  # into the spool
        self.received = 0  # from the upstream (some may wait to be spooled)
        self.done = False
        self.verified = False  # every byte arrived and matched the digest
        self.error: RegistryError | None = None
        self.readers = 0
        self.also_link: set[str] = set()  # other repositories that asked meanwhile
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._spool.closed

    async def run(
        self,
        uploads: UploadService,
        stream: AsyncIterator[bytes],
        minimum_rate: float,
        link_others: Callable[[set[str]], Awaitable[None]],
    ) -> None:
        """Store the stream through an upload session; on any failure nothing is kept."""
        try:
            upload = await uploads.start(self.name)
            try:
                finished = uploads.finish(
                    self.name, upload.id, self._tee(stream), self.digest, verified=self._verified
                )
                # Up to CHUNK bytes may wait to be spooled: the first MiB is not counted.
                try:
                    await pace.kept_up(finished, minimum_rate, lambda: self.received, CHUNK)
                except pace.TooSlow as slow:
                    raise UpstreamTooSlow(
                        f"blob {self.digest}: the upstream sent {slow}, slower than the "
                        f"mirror's minimum of {minimum_rate:.0f} bytes/s"
                    ) from None
            except BaseException:
                with contextlib.suppress(Exception):
                    await uploads.cancel(self.name, upload.id)
                raise
            if self.also_link:
                await link_others(set(self.also_link))
        except client.RegistryError as exc:
            log.warning("mirror fetch of %s for %s failed: %s", self.digest, self.name, exc)
            self.error = translated(exc, blob=True)
        except RegistryError as exc:
            if exc.code == ErrorCode.DIGEST_INVALID:  # the upload session hashed what came
                exc = translated(self._mismatch(exc.detail), blob=True)
            log.warning("mirror fetch of %s for %s refused: %s", self.digest, self.name, exc)
            self.error = exc
        except Exception as exc:
            log.exception("mirror fetch of %s for %s failed", self.digest, self.name)
            self.error = RegistryError(ErrorCode.UNKNOWN, f"mirror fetch failed: {exc}")
        finally:
            self.done = True
            self._wake()
            self._close_if_unused()

    def _verified(self) -> None:
        self.verified = True
        self._wake()

    def _mismatch(self, detail: object) -> client.DigestMismatch:
        actual = detail.get("actual", "?") if isinstance(detail, dict) else "?"
        return client.DigestMismatch(f"upstream blob {self.digest}", str(self.digest), actual)

    async def _tee(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        pending: list[bytes] = []
        gathered = 0
        flushed = time.monotonic()
        try:
            async for chunk in stream:
                self.received += len(chunk)
                pending.append(chunk)
                gathered += len(chunk)
                if gathered >= CHUNK or time.monotonic() - flushed >= GATHER_SECONDS:
                    yield await self._spooled(b"".join(pending))
                    pending.clear()
                    gathered = 0
                    flushed = time.monotonic()
            if pending:
                yield await self._spooled(b"".join(pending))
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def _spooled(self, block: bytes) -> bytes:
        await asyncio.to_thread(_write_all, self._spool.fileno(), block)
        self.written += len(block)
        self._wake()
        return block

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _close_if_unused(self) -> None:
        if self.done and self.readers == 0 and not self._spool.closed:
            self._spool.close()

    def readable(self) -> int:
        """How far a client may be sent: everything once verified (even if storing it then
        failed: the bytes are the blob), else all but HOLD bytes."""
        if self.verified:
            return self.written
        return max(0, self.written - HOLD)

    async def wait_for(self, offset: int) -> None:
        """Until bytes past `offset` may be sent, or the download ended."""
        while self.readable() <= offset and not self.done:
            await self._changed.wait()

    async def wait_for_verdict(self) -> None:
        """Until the download was verified, or ended without."""
        while not self.verified and not self.done:
            await self._changed.wait()

    def response(self, range_header: str | None) -> FetchStream:
        """The answer to one client; it holds the spool open until it has been sent."""
        headers = {"Docker-Content-Digest": str(self.digest), "Accept-Ranges": "bytes"}
        start, end, status = 0, self.size - 1, 200
        if range_header:
            start, end = byte_range(range_header, self.size)
            headers["Content-Range"] = f"bytes {start}-{end}/{self.size}"
            status = 206
        headers["Content-Length"] = str(end - start + 1)
        self.readers += 1  # from here: the spool stays open until the answer is sent
        return FetchStream(self, start, end - start + 1, status, headers)


class FetchStream(Response):
    """`length` bytes from `offset` of a blob being fetched, sent as the download passes them."""

    def __init__(
        self, fetch: BlobFetch, offset: int, length: int, status: int, headers: dict[str, str]
    ) -> None:
        super().__init__(status_code=status, headers=headers, media_type=OCTET_STREAM)
        self.fetch = fetch
        self.offset = offset
        self.length = length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fetch = self.fetch
        try:
            await self._stream(scope, receive, send)
        finally:
            fetch.readers -= 1
            fetch._close_if_unused()

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        fetch = self.fetch
        offset, left = self.offset, self.length
        if left:
            await fetch.wait_for(offset)
            refused = fetch.error is not None and offset >= fetch.readable()
        else:  # an empty answer is whole at once: it waits for the verdict on the bytes
            await fetch.wait_for_verdict()
            refused = not fetch.verified
        if refused:  # nothing sent yet: a clean error
            error = fetch.error or RegistryError(
                ErrorCode.UNAVAILABLE, "the upstream download ended", status=503
            )
            await error.response()(scope, receive, send)
            return
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        fd = fetch._spool.fileno()
        while left > 0:
            await fetch.wait_for(offset)
            available = min(left, fetch.readable() - offset, CHUNK)
            if available <= 0:
                # The download failed after this client was sent part of the blob: the only
                # way to say so now is to end the connection short of Content-Length.
                log.warning(
                    "cut a client's mirror download of %s at byte %d: %s",
                    fetch.digest,
                    offset,
                    fetch.error.message if fetch.error else "the download ended short",
                )
                return
            chunk = await asyncio.to_thread(os.pread, fd, available, offset)
            offset += len(chunk)
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        if self.length == 0:
            await send({"type": "http.response.body", "body": b""})


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
