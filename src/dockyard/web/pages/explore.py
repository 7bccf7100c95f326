"""`/`: the public repositories pushed most recently and the most starred, and a search box."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.search.service import Query
from dockyard.web.context import web_of
from dockyard.web.http import page, render
from dockyard.web.pages import listing

SHOWN = 10


@page
async def home(request: Request) -> Response:
    database = web_of(request).index.database
    # Anonymous's view: only public repositories, whoever is signed in.
    _, recent = await listing.find(database, None, Query(per_page=SHOWN, order="last_push"))
    _, starred = await listing.find(database, None, Query(per_page=SHOWN, order="stars"))
    return await render(request, "explore.html", recent=recent, starred=starred)


routes = [Route("/", home, methods=["GET"])]
