"""`/search`: repositories matching a text, of those the viewer may pull; sorted, paginated."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.search.service import MAX_TEXT, ORDERS, Query
from dockyard.web.context import web_of
from dockyard.web.http import choice, number, page, render, viewer
from dockyard.web.pages import listing

PER_PAGE = 25


@page
async def results(request: Request) -> Response:
    text = request.query_params.get("q", "")[:MAX_TEXT]
    query = Query(
        text=text,
        page=number(request, "page"),
        per_page=PER_PAGE,
        order=choice(request, "sort", ORDERS, "relevance"),
    )
    found, rows = await listing.find(web_of(request).index.database, await viewer(request), query)
    return await render(
        request, "search.html", found=found, rows=rows, orders=ORDERS, text=text, query=text
    )


routes = [Route("/search", results, methods=["GET"])]
