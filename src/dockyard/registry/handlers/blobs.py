"""`/v2/<name>/blobs/<digest>`: HEAD, GET (with ranges) and DELETE."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import BLOB_MEDIA_TYPE
from dockyard.registry.handlers.common import empty
from dockyard.registry.mirrors import BlobFetch
from dockyard.registry.ranges import byte_range
from dockyard.registry.references import parse_digest
from dockyard.registry.state import registry_of

OCTET_STREAM = "application/octet-stream"

# A local blob is read in a worker thread CHUNK bytes at a time, each piece sent as it comes:
# against Distribution's sendfile on a 1 GiB blob, Granian's pathsend (its own 128 KiB reads)
# gave ~0.65x; 1 MiB pieces ~1.0x until the host's kernel changed, then ~0.82x, where 2 MiB
# pieces give ~1.0x (docs/decisions/0001-http-server-stack.md).
CHUNK = 2 * 1024 * 1024
# Granian queues ~8 body messages per response before send() waits for the client, so such a
# stream holds ~17 MiB while its client reads slower than the disk. Past this many at once in a
# process, blobs go by pathsend instead (~1 MiB each, whatever the count): memory stays bounded
# (~70 MiB of fast streams a process).
FAST_STREAMS = 4


async def get_blob(request: Request, name: str) -> Response:
    registry = registry_of(request)
    digest = parse_digest(request.path_params["digest"])
    blob = await registry.mirrors.stat_blob(name, digest, request.method)
    registry.events.pulled(name, str(digest), BLOB_MEDIA_TYPE, blob.size, None, "blobs")
    if isinstance(blob, BlobFetch):  # a mirror's download in progress, shared
        return blob.response(request.headers.get("range"))
    headers = {"Docker-Content-Digest": str(digest), "Accept-Ranges": "bytes"}
    if "range" in request.headers:
        # Refuse a bad range here, as JSON: FileResponse would answer it in plain text.
        byte_range(request.headers["range"], blob.size)
    if request.method == "GET":
        # HEAD stays here: it is cheap, and clients expect its headers from the registry.
        url = await registry.blobs.redirect_url(digest)
        if url is not None:
            return RedirectResponse(url, status_code=307, headers=headers)
    path = registry.blobs.local_path(digest)
    if path is not None and request.method == "GET" and FileStream.active >= FAST_STREAMS:
        # Sent by the server outside Python (pathsend), ranges included; the file looked at
        # here, as FileResponse would (in a thread), so that one removed is answered as such.
        try:
            found = path.stat()
        except FileNotFoundError:
            raise _lost(digest) from None
        return FileResponse(path, media_type=OCTET_STREAM, headers=headers, stat_result=found)
    start, end = 0, blob.size - 1
    status = 200
    if "range" in request.headers:
        start, end = byte_range(request.headers["range"], blob.size)
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        status = 206
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=OCTET_STREAM)
    if path is not None:
        return FileStream(path, start, end - start + 1, status, headers)
    chunks = await registry.blobs.read(digest, start, end - start + 1)
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=OCTET_STREAM)


class FileStream(Response):
    """`length` bytes of a file from `offset`, read in a worker thread and sent piece by piece."""

    active = 0  # streams running in this process

    def __init__(
        self, path: Path, offset: int, length: int, status: int, headers: dict[str, str]
    ) -> None:
        super().__init__(status_code=status, headers=headers, media_type=OCTET_STREAM)
        self.path = path
        self.offset = offset
        self.length = length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:  # no 200 started yet
            lost = _lost(self.headers["docker-content-digest"]).response()
            await lost(scope, receive, send)
            return
        FileStream.active += 1
        # Granian's send() does not fail once the client is gone: without this watch the
        # whole blob would still be read, and sent nowhere.
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            start = {"type": "http.response.start", "status": self.status_code}
            await send({**start, "headers": self.raw_headers})
            offset, left = self.offset, self.length
            if left == 0:
                await send({"type": "http.response.body", "body": b""})
            while left > 0 and not (gone.done() and gone.result()):
                chunk = await asyncio.to_thread(os.pread, fd, min(CHUNK, left), offset)
                if not chunk:
                    raise OSError(f"{self.path} is shorter than its recorded size")
                offset += len(chunk)
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        finally:
            gone.cancel()
            FileStream.active -= 1
            os.close(fd)


def _lost(digest: object) -> RegistryError:
    """A blob whose file was removed behind the registry's back: unknown, as Distribution
    answers when its store lacks one."""
    return RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})


async def _disconnected(receive: Receive) -> bool:
    """True once the client has gone; False if the server cannot tell (then stream on)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:
        return False
    return True


async def delete_blob(request: Request, name: str) -> Response:
    digest = parse_digest(request.path_params["digest"])
    await registry_of(request).blobs.delete(name, digest)
    return empty(202, {"Docker-Content-Digest": str(digest)})
