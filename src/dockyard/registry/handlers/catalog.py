"""`GET /v2/_catalog`: repository names, sorted, paginated with `n` and `last`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.registry import metadata
from dockyard.registry.handlers.common import Page
from dockyard.registry.state import registry_of


async def catalog(request: Request) -> Response:
    page = Page.from_request(request)
    rows = await registry_of(request).database.run(
        metadata.list_repositories, page.fetch, page.last
    )
    names, headers = page.cut(rows, "/v2/_catalog")
    return JSONResponse({"repositories": names}, headers=headers)
