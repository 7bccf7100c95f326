"""`/`: the public repositories pushed most recently and the most starred, and a search box.
Read straight from their indexes (repositories.showcase), not through search, which would count
every public repository first. And the page a browser gets for a path no route has."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.errors import NotFound
from dockyard.index.repositories import service as repositories
from dockyard.kit.errors import NOT_FOUND_PAGE
from dockyard.web.context import web_of
from dockyard.web.http import page, render

SHOWN = 10


@page
async def home(request: Request) -> Response:
    database = web_of(request).index.database
    # Anonymous's view: only public repositories, whoever is signed in.
    recent = await repositories.showcase(database, "last_push", SHOWN)
    starred = await repositories.showcase(database, "stars", SHOWN)
    return await render(request, "explore.html", recent=recent, starred=starred)


@page
async def not_found(_request: Request) -> Response:
    """Answered by the application's 404 handler to a browser's GET of a path no route has
    (dockyard.registry.app); its own path answers the same."""
    raise NotFound("there is no page at this address")


routes = [
    Route("/", home, methods=["GET"]),
    Route("/-/not-found", not_found, methods=["GET"], name=NOT_FOUND_PAGE),
]
