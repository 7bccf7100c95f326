"""`GET /v2/<name>/tags/list`: sorted, paginated with `n` and `last`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.registry import metadata
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.handlers.common import Page
from dockyard.registry.state import registry_of
from dockyard.registry.tag_lists import TagList

JSON = "application/json"


async def list_tags(request: Request, name: str) -> Response:
    registry = registry_of(request)
    page = Page.from_request(request, registry.tag_page_size)
    database = registry.database
    found = await database.run(metadata.repository_tags_version, name)
    if found is None:
        raise RegistryError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    repository, version = found
    # The version is read before the names: a list kept under it is never older than it (a
    # tag added in between makes a list newer than its version, which the next request, seeing
    # the new version, reads again).
    whole = "n" not in request.query_params and page.last is None  # what clients ask
    if whole:
        kept = registry.tag_lists.get(repository, version)
        if kept is not None:
            return Response(kept.body, headers=kept.headers, media_type=JSON)
    rows = await database.run(metadata.list_tags, repository, page.fetch, page.last)
    tags, headers = page.cut(rows, f"/v2/{name}/tags/list")
    response = JSONResponse({"name": name, "tags": tags}, headers=headers)
    if whole:
        registry.tag_lists.put(
            repository, TagList(version, bytes(response.body), headers), len(tags)
        )
    return response
