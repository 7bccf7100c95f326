"""`GET /v2/<name>/tags/list`: sorted, paginated with `n` and `last`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.registry import metadata
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.handlers.common import Page
from dockyard.registry.state import registry_of


async def list_tags(request: Request, name: str) -> Response:
    registry = registry_of(request)
    page = Page.from_request(request, registry.tag_page_size)
    database = registry.database
    repository = await database.run(metadata.repository_id, name)
    if repository is None:
        raise RegistryError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
    rows = await database.run(metadata.list_tags, repository, page.fetch, page.last)
    tags, headers = page.cut(rows, f"/v2/{name}/tags/list")
    return JSONResponse({"name": name, "tags": tags}, headers=headers)
