"""`/`: the public repositories pushed most recently and the most starred, and a search box.
Read straight from their indexes (repositories.showcase), not through search, which would count
every public repository first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.repositories import service as repositories
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


routes = [Route("/", home, methods=["GET"])]
