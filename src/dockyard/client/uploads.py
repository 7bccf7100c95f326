"""Pushing blobs: skip what the repository has (HEAD), mount what another repository of the
same registry has, else upload: monolithic (POST, then PUT with the bytes) or chunked (PATCH
with Content-Range, then PUT). A chunk lost to a broken connection is sent again from where the
registry says the upload stands."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from dockyard.client.errors import (
    InvalidRequest,
    InvalidURL,
    NotFound,
    RegistryError,
    RegistryUnavailable,
)
from dockyard.client.session import Session
from dockyard.client.transport import Body
from dockyard.oci.digest import Digest

# Content to push: bytes in memory, a file (sent again if a retry needs it), or a stream
# (sent once: copying between registries without touching the disk).
Content = bytes | Path | AsyncIterable[bytes]
FILE_CHUNK = 1 << 20
# Told the size of each piece as it is handed to the connection (progress bars).
OnBytes = Callable[[int], None]
MAX_CHUNK_RETRIES = 3


class Pushed(enum.Enum):
    EXISTS = "exists"  # the repository had it: nothing sent
    MOUNTED = "mounted"  # linked from another repository of the registry
    UPLOADED = "uploaded"


@dataclass(frozen=True, slots=True)
class PushedBlob:
    digest: Digest
    size: int | None
    how: Pushed


async def blob_exists(session: Session, name: str, digest: Digest) -> int | None:
    """The blob's size if the repository has it, else None."""
    response = await session.request(
        "HEAD", f"/v2/{name}/blobs/{digest}", scopes=(f"repository:{name}:pull",),
        what=f"blob {session.registry}/{name}@{digest}", expect=(200, 404),
    )  # fmt: skip
    if response.status_code == 404:
        return None
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else 0


async def push_blob(
    session: Session,
    name: str,
    content: Content,
    digest: Digest,
    size: int | None,
    *,
    mount_from: Iterable[str] = (),
    chunk_size: int | None = None,
    on_bytes: OnBytes | None = None,
) -> PushedBlob:
    what = f"push {session.registry}/{name}@{digest}"
    if await blob_exists(session, name, digest) is not None:
        return PushedBlob(digest, size, Pushed.EXISTS)
    location = None
    for source in mount_from:
        location = await _mount(session, name, digest, source, what)
        if location is None:
            return PushedBlob(digest, size, Pushed.MOUNTED)
    if location is None:
        location = await _start(session, name, what)
    if chunk_size is None:
        await _finish(session, name, location, digest, _body(content, on_bytes), what)
    else:
        location = await _chunks(
            session, name, location, _counted(content, on_bytes), chunk_size, what
        )
        await _finish(session, name, location, digest, None, what)
    return PushedBlob(digest, size, Pushed.UPLOADED)


async def mount_only(session: Session, name: str, digest: Digest, source: str) -> bool:
    """A mount and nothing else: True if the registry linked the blob."""
    what = f"mount {session.registry}/{name}@{digest} from {source}"
    return await _mount(session, name, digest, source, what) is None


def _scopes(name: str, *sources: str) -> tuple[str, ...]:
    return (f"repository:{name}:pull,push", *(f"repository:{s}:pull" for s in sources))


async def _mount(session: Session, name: str, digest: Digest, source: str, what: str) -> str | None:
    """None once mounted; else the upload session the registry opened instead (202)."""
    response = await session.request(
        "POST", f"/v2/{name}/blobs/uploads/?mount={digest}&from={quote(source, safe='/')}",
        scopes=_scopes(name, source), what=what, expect=(201, 202), retryable=True,
    )  # fmt: skip
    if response.status_code == 201:
        return None
    return _location(response, what)


async def _start(session: Session, name: str, what: str) -> str:
    # Retrying a POST that opens a session is harmless: a lost one is abandoned, and expires.
    response = await session.request(
        "POST", f"/v2/{name}/blobs/uploads/", scopes=_scopes(name), what=what,
        expect=(202,), retryable=True,
    )  # fmt: skip
    return _location(response, what)


async def _finish(
    session: Session, name: str, location: str, digest: Digest, body: Body, what: str
) -> None:
    separator = "&" if "?" in location else "?"
    headers = {"Content-Type": "application/octet-stream"}
    try:
        await session.request(
            "PUT", f"{location}{separator}digest={digest}", scopes=_scopes(name), what=what,
            expect=(201,), headers=headers, body=body or b"",
        )  # fmt: skip
    except NotFound:
        # A retried PUT whose first attempt went through finds its session closed.
        if await blob_exists(session, name, digest) is None:
            raise


async def _chunks(
    session: Session, name: str, location: str, content: Content, chunk_size: int, what: str
) -> str:
    """PATCH the content in order; the location for the final PUT."""
    sent = 0
    async for chunk in _pieces(content, chunk_size):
        for attempt in range(MAX_CHUNK_RETRIES + 1):
            try:
                location = await _patch(session, name, location, chunk, sent, what)
                break
            except RegistryUnavailable:
                if attempt == MAX_CHUNK_RETRIES or not isinstance(content, bytes | Path):
                    raise
                done = await _upload_offset(session, name, location, what)
                if done != sent:  # the registry kept part of it: we cannot re-cut the chunk
                    raise
        sent += len(chunk)
    return location


async def _patch(
    session: Session, name: str, location: str, chunk: bytes, start: int, what: str
) -> str:
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Range": f"{start}-{start + len(chunk) - 1}",
    }
    response = await session.request(
        "PATCH", location, scopes=_scopes(name), what=what, expect=(202,), headers=headers,
        body=chunk, retryable=False,
    )  # fmt: skip
    return _location(response, what)


async def _upload_offset(session: Session, name: str, location: str, what: str) -> int:
    """How many bytes the upload session holds (its `Range: 0-<last>`)."""
    response = await session.request(
        "GET", location, scopes=_scopes(name), what=what, expect=(204,)
    )
    last = response.headers.get("range", "0--1").rsplit("-", 1)[-1]
    try:
        return int(last) + 1
    except ValueError:
        raise InvalidRequest(f"{what}: upload status without a Range") from None


def _location(response: httpx.Response, what: str) -> str:
    location = response.headers.get("location")
    if not location:
        raise RegistryError(
            f"{what}: the registry answered {response.status_code} without Location"
        )
    try:
        return str(response.url.join(location))
    except httpx.InvalidURL as exc:
        raise InvalidURL(f"{what}: the registry gave an invalid Location: {exc}") from None


def _body(content: Content, on_bytes: OnBytes | None = None) -> Body:
    if isinstance(content, bytes):
        if on_bytes is not None:
            on_bytes(len(content))
        return content
    if isinstance(content, Path):
        path = content
        return lambda: _counted_stream(_read_file(path, FILE_CHUNK), on_bytes)
    return _counted_stream(content, on_bytes)


def _counted(content: Content, on_bytes: OnBytes | None) -> Content:
    """The same content, `on_bytes` told of each piece as it is read (not for bytes or files,
    which chunked uploads cut and resend themselves)."""
    if isinstance(content, bytes | Path):
        return content
    return _counted_stream(content, on_bytes)


def _counted_stream(
    content: AsyncIterable[bytes], on_bytes: OnBytes | None
) -> AsyncIterable[bytes]:
    return content if on_bytes is None else _counting(content, on_bytes)


async def _counting(content: AsyncIterable[bytes], on_bytes: OnBytes) -> AsyncIterator[bytes]:
    async for piece in content:
        on_bytes(len(piece))
        yield piece


async def _pieces(content: Content, size: int) -> AsyncIterator[bytes]:
    """The content cut into chunks of `size` bytes (the last one shorter)."""
    if isinstance(content, bytes):
        for start in range(0, len(content), size):
            yield content[start : start + size]
        return
    source = _read_file(content, size) if isinstance(content, Path) else content
    buffer = bytearray()
    async for block in source:
        buffer += block
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


async def _read_file(path: Path, size: int) -> AsyncIterator[bytes]:
    # Plain reads: a local file's read is short next to sending the bytes over the network.
    with path.open("rb") as file:
        while block := file.read(size):
            yield block
