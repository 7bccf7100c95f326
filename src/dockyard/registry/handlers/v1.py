"""The v1 endpoints of the original registry (docker-registry) that clients still call, on top of
the v2 data: `_ping`, a repository's tags (the image id of a tag is its manifest digest), and
deleting a tag or a whole repository.

Answers are JSON as the original's were: `true` where it had nothing to say. routes.py checks
names and access; `name` here is the v1 name (`library/<name>` for a single component).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard import __version__
from dockyard.oci.names import is_valid_tag
from dockyard.registry import repositories
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.references import Reference
from dockyard.registry.state import registry_of


def ping(standalone: bool) -> Callable[[Request], Awaitable[Response]]:
    """`GET /v1/_ping`; standalone: no index in front of this registry decides access."""
    headers = {"X-Docker-Registry-Standalone": "true" if standalone else "false"}

    async def endpoint(_request: Request) -> Response:
        return _answer(True, headers)

    return endpoint


async def list_tags(request: Request, name: str) -> Response:
    manifests = registry_of(request).manifests
    stored = await repositories.stored_name(manifests, name)
    return _answer(await repositories.tag_digests(manifests, stored))


async def get_tag(request: Request, name: str) -> Response:
    manifests = registry_of(request).manifests
    tag = _tag(request)
    record = await manifests.get(await repositories.stored_name(manifests, name), tag)
    return _answer(record.digest)


async def delete_tag(request: Request, name: str) -> Response:
    manifests = registry_of(request).manifests
    tag = _tag(request)
    await manifests.delete(await repositories.stored_name(manifests, name), tag)
    return _answer(True)


async def delete_repository(request: Request, name: str) -> Response:
    """Everything the repository holds, and (through the event it ends with) the index's
    catalogue entry and settings of it."""
    registry = registry_of(request)
    stored = await repositories.stored_name(registry.manifests, name)
    await repositories.delete_repository(registry.manifests, registry.blobs, stored)
    return _answer(True)


def _tag(request: Request) -> Reference:
    """The tag in the path; one that breaks the grammar cannot exist, so it is unknown."""
    tag: str = request.path_params["tag"]
    if not is_valid_tag(tag):
        raise RegistryError(ErrorCode.MANIFEST_UNKNOWN, detail={"tag": tag[:200]})
    return Reference(tag, None)


def _answer(body: object, headers: dict[str, str] | None = None) -> Response:
    # The original answered every v1 request with its version, and told caches to keep nothing.
    return JSONResponse(
        body,
        headers={
            "X-Docker-Registry-Version": __version__,
            "Cache-Control": "no-cache",
            "Pragma": "no-cache",
            "Expires": "-1",
            **(headers or {}),
        },
    )
