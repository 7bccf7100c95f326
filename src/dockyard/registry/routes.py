"""Every /v2 and /v1 route in one table, with the checks each route gets before its handler:
the repository name, then access (the one place it is checked: registry/authorization.py).

Routes are tried in order, each one's pattern against the path until one matches, so the
reads that pulls make (manifest and blob GET and HEAD) come first: trying the others before
them was a tenth of a manifest GET's time. The order decides nothing else: `name` is greedy
(`org/team/app`), but every repository route ends in its own last two segments (`blobs/<x>`,
`uploads/<x>`, `manifests/<x>`, `tags/list`, `referrers/<x>`), so no path matches two of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.auth.access import EVERYTHING, AccessController
from dockyard.auth.scopes import CATALOG, Scope
from dockyard.oci.names import is_valid_name
from dockyard.registry.authorization import GRANT_KEY, authorize, repository_actions
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.handlers import blobs, catalog, manifests, referrers, tags, uploads, v1
from dockyard.registry.handlers.base import api_version
from dockyard.registry.repositories import v1_name
from dockyard.registry.state import registry_of

Handler = Callable[[Request], Awaitable[Response]]
RepositoryHandler = Callable[[Request, str], Awaitable[Response]]
# Requests that change nothing; any other is refused in a read-only mirror's repositories.
READS = frozenset({"GET", "HEAD"})


def _repository(
    access: AccessController, path: str, handler: RepositoryHandler, methods: list[str]
) -> Route:
    async def open_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        if not is_valid_name(name):
            raise RegistryError(ErrorCode.NAME_INVALID, detail={"name": name})
        request.scope[GRANT_KEY] = EVERYTHING
        if request.method not in READS:
            registry_of(request).mirrors.check_writable(name)
        return await handler(request, name)

    async def checked_endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        if not is_valid_name(name):
            raise RegistryError(ErrorCode.NAME_INVALID, detail={"name": name})
        needed = Scope("repository", name, repository_actions(path, request.method))
        await authorize(request, access, needed)
        if request.method not in READS:
            registry_of(request).mirrors.check_writable(name)
        return await handler(request, name)

    # `auth: none` gets the endpoint without any check: nothing to pay per request.
    endpoint = open_endpoint if access.open else checked_endpoint
    return Route(f"/v2/{{name:path}}/{path}", endpoint, methods=methods)


def _v1_repository(
    access: AccessController, path: str, handler: RepositoryHandler, methods: list[str]
) -> Route:
    """A v1 route: the name is `<namespace>/<repository>` (one component means `library/...`),
    checked as the same name over /v2 would be, with the actions of the same method there."""

    async def endpoint(request: Request) -> Response:
        name = v1_name(request.path_params["name"])
        if not is_valid_name(name):
            raise RegistryError(ErrorCode.NAME_INVALID, detail={"name": name})
        if access.open:
            request.scope[GRANT_KEY] = EVERYTHING
        else:
            needed = Scope("repository", name, repository_actions(path, request.method))
            await authorize(request, access, needed, direct=True)
        return await handler(request, name)

    return Route(f"/v1/repositories/{{name:path}}/{path}", endpoint, methods=methods)


def _registry(access: AccessController, needed: Scope | None, handler: Handler) -> Handler:
    """A registry-wide route; `needed` None: any authenticated caller (the `GET /v2/` probe)."""
    if access.open:
        return handler

    async def endpoint(request: Request) -> Response:
        await authorize(request, access, needed)
        return await handler(request)

    return endpoint


def registry_routes(access: AccessController) -> list[Route]:
    return [
        _repository(access, "manifests/{reference}", manifests.get_manifest, ["GET", "HEAD"]),
        _repository(access, "blobs/{digest}", blobs.get_blob, ["GET", "HEAD"]),
        Route("/v2/", _registry(access, None, api_version), methods=["GET"]),
        Route("/v2/_catalog", _registry(access, CATALOG, catalog.catalog), methods=["GET"]),
        _repository(access, "blobs/uploads/", uploads.start_upload, ["POST"]),
        _repository(access, "blobs/uploads/{upload_id}", uploads.upload_status, ["GET"]),
        _repository(access, "blobs/uploads/{upload_id}", uploads.upload_chunk, ["PATCH"]),
        _repository(access, "blobs/uploads/{upload_id}", uploads.finish_upload, ["PUT"]),
        _repository(access, "blobs/uploads/{upload_id}", uploads.cancel_upload, ["DELETE"]),
        _repository(access, "blobs/{digest}", blobs.delete_blob, ["DELETE"]),
        _repository(access, "manifests/{reference}", manifests.put_manifest, ["PUT"]),
        _repository(access, "manifests/{reference}", manifests.delete_manifest, ["DELETE"]),
        _repository(access, "tags/list", tags.list_tags, ["GET"]),
        _repository(access, "referrers/{digest}", referrers.list_referrers, ["GET"]),
    ]


def v1_routes(access: AccessController, standalone: bool) -> list[Route]:
    """The original registry's endpoints that clients still call; `_ping` needs no credentials
    (docker asks it before it knows how to authenticate)."""
    return [
        Route("/v1/_ping", v1.ping(standalone), methods=["GET"]),
        _v1_repository(access, "tags", v1.list_tags, ["GET"]),
        _v1_repository(access, "tags/{tag}", v1.get_tag, ["GET"]),
        _v1_repository(access, "tags/{tag}", v1.delete_tag, ["DELETE"]),
        _v1_repository(access, "", v1.delete_repository, ["DELETE"]),
    ]
