"""Every /v2 route in one table, with the checks each repository route gets before its handler.

Routes are tried in order; `name` is greedy (`org/team/app`), so the more specific suffixes
(`blobs/uploads/...`) come before the general ones (`blobs/<digest>`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.oci.names import is_valid_name
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.handlers import blobs, catalog, manifests, referrers, tags, uploads
from dockyard.registry.handlers.base import api_version

RepositoryHandler = Callable[[Request, str], Awaitable[Response]]


def _repository(path: str, handler: RepositoryHandler, methods: list[str]) -> Route:
    async def endpoint(request: Request) -> Response:
        name = request.path_params["name"]
        if not is_valid_name(name):
            raise RegistryError(ErrorCode.NAME_INVALID, detail={"name": name})
        return await handler(request, name)

    return Route(f"/v2/{{name:path}}/{path}", endpoint, methods=methods)


def registry_routes() -> list[Route]:
    return [
        Route("/v2/", api_version, methods=["GET"]),
        Route("/v2/_catalog", catalog.catalog, methods=["GET"]),
        _repository("blobs/uploads/", uploads.start_upload, ["POST"]),
        _repository("blobs/uploads/{upload_id}", uploads.upload_status, ["GET"]),
        _repository("blobs/uploads/{upload_id}", uploads.upload_chunk, ["PATCH"]),
        _repository("blobs/uploads/{upload_id}", uploads.finish_upload, ["PUT"]),
        _repository("blobs/uploads/{upload_id}", uploads.cancel_upload, ["DELETE"]),
        _repository("blobs/{digest}", blobs.get_blob, ["GET", "HEAD"]),
        _repository("blobs/{digest}", blobs.delete_blob, ["DELETE"]),
        _repository("manifests/{reference}", manifests.get_manifest, ["GET", "HEAD"]),
        _repository("manifests/{reference}", manifests.put_manifest, ["PUT"]),
        _repository("manifests/{reference}", manifests.delete_manifest, ["DELETE"]),
        _repository("tags/list", tags.list_tags, ["GET"]),
        _repository("referrers/{digest}", referrers.list_referrers, ["GET"]),
    ]
