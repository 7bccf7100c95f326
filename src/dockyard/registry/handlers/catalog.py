"""`GET /v2/_catalog`: repository names, sorted, paginated with `n` and `last`.

When the request's Grant carries a visibility filter (an index decides who sees what), only the
repositories that pass it are listed, and pages are filled from further rows as needed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.access import RepositoryFilter
from dockyard.registry import metadata
from dockyard.registry.authorization import grant_of
from dockyard.registry.handlers.common import MAX_PAGE, Page
from dockyard.registry.state import registry_of


async def catalog(request: Request) -> Response:
    page = Page.from_request(request)
    visible = grant_of(request).visible
    if visible is None:
        rows = await registry_of(request).database.run(
            metadata.list_repositories, page.fetch, page.last
        )
    else:
        rows = await _visible_rows(request, page, visible)
    names, headers = page.cut(rows, "/v2/_catalog")
    return JSONResponse({"repositories": names}, headers=headers)


async def _visible_rows(request: Request, page: Page, visible: RepositoryFilter) -> list[str]:
    """Up to `page.fetch` visible names after `page.last`, read in batches."""
    database = registry_of(request).database
    wanted = page.fetch
    found: list[str] = []
    last = page.last
    while len(found) < wanted:
        batch = await database.run(metadata.list_repositories, MAX_PAGE, last)
        found += await visible(batch)
        if len(batch) < MAX_PAGE:
            break
        last = batch[-1]
    return found[:wanted]
