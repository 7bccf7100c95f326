"""`/account/stars`: the repositories the signed-in user starred (and may still pull)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.community import service as community
from dockyard.web.context import web_of
from dockyard.web.http import number, page, render, signed_in

PER_PAGE = 25


@page
async def starred(request: Request) -> Response:
    who = await signed_in(request)
    number_ = number(request, "page")
    found = await community.starred(
        web_of(request).index.database, who, community.Page(number_, PER_PAGE)
    )
    return await render(request, "stars.html", starred=found, page_number=number_)


routes = [Route("/account/stars", starred, methods=["GET"])]
