"""`/v2/<name>/blobs/<digest>`: HEAD, GET (with ranges) and DELETE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from dockyard.registry.handlers.common import empty
from dockyard.registry.ranges import byte_range
from dockyard.registry.references import parse_digest
from dockyard.registry.state import registry_of

OCTET_STREAM = "application/octet-stream"


async def get_blob(request: Request, name: str) -> Response:
    registry = registry_of(request)
    digest = parse_digest(request.path_params["digest"])
    blob = await registry.blobs.stat(name, digest)
    headers = {"Docker-Content-Digest": str(digest), "Accept-Ranges": "bytes"}
    if "range" in request.headers:
        # Refuse a bad range here, as JSON: FileResponse would answer it in plain text.
        byte_range(request.headers["range"], blob.size)
    path = registry.blobs.local_path(digest)
    if path is not None:
        # Sent by the server outside Python (pathsend), ranges and HEAD included.
        return FileResponse(path, media_type=OCTET_STREAM, headers=headers)
    start, end = 0, blob.size - 1
    status = 200
    if "range" in request.headers:
        start, end = byte_range(request.headers["range"], blob.size)
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        status = 206
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=OCTET_STREAM)
    chunks = registry.blobs.read(digest, start, end - start + 1)
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=OCTET_STREAM)


async def delete_blob(request: Request, name: str) -> Response:
    digest = parse_digest(request.path_params["digest"])
    await registry_of(request).blobs.delete(name, digest)
    return empty(202, {"Docker-Content-Digest": str(digest)})
