"""Downloading blobs: every byte hashed as it arrives, the digest (and the size, when known)
checked before the stream ends, and a broken connection resumed with `Range` where it broke."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from dockyard.client.errors import (
    DigestMismatch,
    InvalidRequest,
    RegistryUnavailable,
    TooLarge,
)
from dockyard.client.session import Session
from dockyard.client.transport import RETRY_ERRORS, body_error
from dockyard.oci.digest import Digest, Hasher

CHUNK = 1 << 20
# What a download's writer thread takes at once (see _HashingWriter).
GROUP = 4 << 20
IOV_MAX = 1024  # buffers per writev: Linux's limit
MAX_RESUMES = 5


async def stream_blob(
    session: Session,
    name: str,
    digest: Digest,
    size: int | None = None,
    *,
    offset: int = 0,
    hasher: Hasher | None = None,
    verify: bool = True,
) -> AsyncIterator[bytes]:
    """The blob's bytes from `offset` (with `hasher` holding the hash of the bytes before it).
    Raises DigestMismatch (or TooLarge) instead of finishing when the bytes are not the blob:
    a consumer that reached the end without an exception has verified content. Without
    `verify`, only the size is checked: for a consumer that hashes the bytes itself."""
    what = f"blob {session.registry}/{name}@{digest}"
    if verify and hasher is None:
        hasher = digest.hasher()
    received, resumes = offset, 0
    # A file finished before its rename was interrupted has nothing left to ask for.
    while size is None or received < size:
        try:
            async for chunk in _from(session, name, digest, what, received):
                received += len(chunk)
                if size is not None and received > size:
                    raise TooLarge(f"{what}: more than the {size} bytes it should have")
                if hasher is not None:
                    hasher.update(chunk)
                yield chunk
            break
        except RETRY_ERRORS as exc:
            resumes += 1
            if resumes > MAX_RESUMES:
                raise RegistryUnavailable(
                    f"{what}: connection lost {resumes} times: {exc}"
                ) from None
        except httpx.HTTPError as exc:
            raise body_error(exc, what) from None
    if hasher is not None:
        actual = f"{digest.algorithm}:{hasher.hexdigest()}"
        if actual != str(digest):
            raise DigestMismatch(what, str(digest), actual)
    if size is not None and received != size:
        raise TooLarge(f"{what}: {received} bytes where {size} were announced")


async def _from(
    session: Session, name: str, digest: Digest, what: str, offset: int
) -> AsyncIterator[bytes]:
    # Identity encoding: the digest covers the stored bytes, not a compressed transfer of them.
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    response = await session.request(
        "GET", f"/v2/{name}/blobs/{digest}", scopes=(f"repository:{name}:pull",), what=what,
        expect=(200, 206), headers=headers, stream=True,
    )  # fmt: skip
    try:
        skip = _skip(response, offset, what)
        # The pieces as the socket gives them (64 KiB): re-cutting them into CHUNK-sized ones
        # copied every byte twice and page-faulted a fresh 1 MiB buffer each time (a 500 MB
        # pull took a third longer; docs/benchmarks.md, "Client push and pull").
        async for chunk in response.aiter_bytes():
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if chunk:
                yield chunk
    finally:
        await response.aclose()


def _skip(response: httpx.Response, offset: int, what: str) -> int:
    """Bytes to drop from the answer's start: all we already have, if the server ignored our
    Range and sent the whole blob."""
    if not offset or response.status_code == 200:
        return offset
    start = response.headers.get("content-range", "").removeprefix("bytes ").split("-", 1)[0]
    if start != str(offset):
        raise InvalidRequest(f"{what}: asked from byte {offset}, answered {start or 'no range'}")
    return 0


async def blob_to_file(
    session: Session,
    name: str,
    digest: Digest,
    path: Path,
    size: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> int:
    """Write the blob to `path` only once verified: bytes go to `path.partial` first, which a
    later call resumes from (its bytes hashed again) if this one is interrupted."""
    partial = path.with_name(path.name + ".partial")
    hasher = digest.hasher()
    offset = 0
    if partial.exists():
        with partial.open("rb") as existing:
            while block := existing.read(CHUNK):
                hasher.update(block)
                offset += len(block)
        if size is not None and offset > size:
            partial.unlink()
            return await blob_to_file(session, name, digest, path, size, on_bytes)
    if on_bytes is not None and offset:
        on_bytes(offset)
    written = offset
    try:
        with partial.open("ab") as output:
            spool = _HashingWriter(output.fileno(), hasher)
            try:
                # Hashed by the writer's thread; the size is still checked as the bytes come.
                stream = stream_blob(session, name, digest, size, offset=offset, verify=False)
                async for chunk in stream:
                    await spool.add(chunk)
                    written += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
            finally:
                await spool.finish()  # before the file closes, whatever happened
        actual = f"{digest.algorithm}:{hasher.hexdigest()}"
        if actual != str(digest):
            raise DigestMismatch(f"blob {session.registry}/{name}@{digest}", str(digest), actual)
    except (DigestMismatch, TooLarge):
        partial.unlink(missing_ok=True)  # never resume from bytes that are not the blob
        raise
    partial.replace(path)
    return written


class _HashingWriter:
    """Hashes and writes a download's pieces in a worker thread, GROUP bytes at a time and in
    order, while the event loop reads the next ones: hashlib and the write let go of the GIL,
    so a pull uses the machine's second CPU (a 500 MB pull spent 2.1 s of CPU in 2.1 s on the
    loop's thread alone). Grouping matters: a hop to a thread per 64 KiB piece cost more than
    it saved. One group is in flight at a time; the next waits for it."""

    def __init__(self, fd: int, hasher: Hasher) -> None:
        self._fd = fd
        self._hasher = hasher
        self._pieces: list[bytes] = []
        self._gathered = 0
        self._busy: asyncio.Future[None] | None = None

    async def add(self, piece: bytes) -> None:
        self._pieces.append(piece)
        self._gathered += len(piece)
        if self._gathered >= GROUP:
            await self._hand_over()

    async def finish(self) -> None:
        await self._hand_over()
        if self._busy is not None:
            await self._busy

    async def _hand_over(self) -> None:
        if self._busy is not None:
            await self._busy
            self._busy = None
        if self._pieces:
            pieces, self._pieces, self._gathered = self._pieces, [], 0
            self._busy = asyncio.ensure_future(asyncio.to_thread(self._write, pieces))

    def _write(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._hasher.update(piece)
        views = [memoryview(piece) for piece in pieces]
        while views:
            done = os.writev(self._fd, views[:IOV_MAX])
            while views and done >= len(views[0]):
                done -= len(views[0])
                views.pop(0)
            if done:
                views[0] = views[0][done:]
