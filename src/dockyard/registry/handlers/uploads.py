"""`/v2/<name>/blobs/uploads/`: monolithic, chunked and mounted uploads."""

from __future__ import annotations

import re
import uuid

from starlette.requests import Request
from starlette.responses import Response

from dockyard.kit.numbers import parse_decimal
from dockyard.oci.names import is_valid_name
from dockyard.registry.authorization import may_pull
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.handlers.common import empty
from dockyard.registry.references import parse_digest
from dockyard.registry.state import registry_of
from dockyard.registry.uploads import Upload

_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?([0-9]+)-([0-9]+)(?:/(?:[0-9]+|\*))?")
# Beyond any upload's size: positions are capped here, however many digits they have.
_FAR = 2**63


async def start_upload(request: Request, name: str) -> Response:
    registry = registry_of(request)
    params = request.query_params
    if "mount" in params:
        digest = parse_digest(params["mount"])
        source = params.get("from")
        # A source the caller may not pull is treated as one without the blob: the same 202,
        # so the answer tells nothing about repositories the caller cannot see.
        mounted = None
        if source and is_valid_name(source) and may_pull(request, source):
            await registry.quotas.before_repository(name)
            mounted = await registry.blobs.mount(name, source, digest, registry.quotas.defaults)
        if mounted is not None:
            return _created(name, str(digest))
        # Not visible in `from`: the spec says fall back to an ordinary upload session.
    if "digest" in params:
        digest = parse_digest(params["digest"])
        upload = await registry.uploads.start(name)
        blob = await registry.uploads.finish(
            name, upload.id, request.stream(), digest, length=_length(request)
        )
        return _created(name, str(blob.digest))
    return _in_progress(await registry.uploads.start(name), status=202)


async def upload_status(request: Request, name: str) -> Response:
    upload = await registry_of(request).uploads.get(name, _upload_id(request))
    return _in_progress(upload, status=204)


async def upload_chunk(request: Request, name: str) -> Response:
    start = _chunk_start(request)
    upload = await registry_of(request).uploads.append(
        name, _upload_id(request), request.stream(), start, _length(request)
    )
    return _in_progress(upload, status=202)


async def finish_upload(request: Request, name: str) -> Response:
    digest = parse_digest(request.query_params.get("digest"))
    # A last chunk out of order is refused as the same chunk in a PATCH would be.
    blob = await registry_of(request).uploads.finish(
        name,
        _upload_id(request),
        request.stream(),
        digest,
        _chunk_start(request),
        _length(request),
    )
    return _created(name, str(blob.digest))


async def cancel_upload(request: Request, name: str) -> Response:
    await registry_of(request).uploads.cancel(name, _upload_id(request))
    return empty(204, {})


def _length(request: Request) -> int | None:
    """The body's declared length (checked against quotas before a byte is stored)."""
    header = request.headers.get("content-length")
    return None if header is None else parse_decimal(header, _FAR)


def _chunk_start(request: Request) -> int | None:
    """Where the chunk claims to start (Content-Range); None for a streamed PATCH."""
    header = request.headers.get("content-range")
    if header is None:
        return None
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise RegistryError(ErrorCode.RANGE_INVALID, f"malformed Content-Range {header[:80]!r}")
    start, end = (parse_decimal(match.group(group), _FAR) for group in (1, 2))
    assert start is not None and end is not None  # the pattern took ASCII digits only
    length = request.headers.get("content-length")
    declared = None if length is None else parse_decimal(length, _FAR)
    if end < start or end == _FAR or (declared is not None and declared != end - start + 1):
        raise RegistryError(
            ErrorCode.RANGE_INVALID,
            f"Content-Range {header[:80]!r} does not match Content-Length {length}",
        )
    return start


def _in_progress(upload: Upload, status: int) -> Response:
    return empty(
        status,
        {
            "Location": f"/v2/{upload.repository}/blobs/uploads/{upload.id}",
            "Range": f"0-{max(upload.size - 1, 0)}",
            "Docker-Upload-UUID": upload.id,
        },
    )


def _created(name: str, digest: str) -> Response:
    return empty(201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})


def _upload_id(request: Request) -> str:
    """The path's session id: what starting an upload made (a UUID), else BLOB_UPLOAD_UNKNOWN
    without asking the database (PostgreSQL refuses a NUL in text: a 500)."""
    text: str = request.path_params["upload_id"]
    try:
        if str(uuid.UUID(text)) == text:
            return text
    except ValueError:
        pass
    raise RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": text[:100]})
