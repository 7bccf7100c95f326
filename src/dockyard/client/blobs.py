"""Downloading blobs: every byte hashed as it arrives, the digest (and the size, when known)
checked before the stream ends, and a broken connection resumed with `Range` where it broke."""

from __future__ import annotations

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
from dockyard.client.transport import RETRY_ERRORS
from dockyard.oci.digest import Digest, Hasher

CHUNK = 1 << 20
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
            async for chunk in stream_blob(
                session, name, digest, size, offset=offset, hasher=hasher
            ):
                output.write(chunk)
                written += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
    except (DigestMismatch, TooLarge):
        partial.unlink(missing_ok=True)  # never resume from bytes that are not the blob
        raise
    partial.replace(path)
    return written
