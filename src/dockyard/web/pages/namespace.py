"""`/u/<name>`: a user's or an organisation's repositories (those the viewer may pull); an
organisation's members and teams for its members."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.accounts import service as accounts
from dockyard.index.errors import NotFound
from dockyard.index.names import is_valid_account_name
from dockyard.index.organisations import service as organisations
from dockyard.index.repositories import service as repositories
from dockyard.index.repositories.permissions import Identity
from dockyard.web.context import web_of
from dockyard.web.http import number, page, render, viewer

PER_PAGE = 25


@page
async def show(request: Request) -> Response:
    name: str = request.path_params["name"]
    database = web_of(request).index.database
    if not is_valid_account_name(name):
        raise NotFound(f"no user or organisation {name[:80]!r}")
    organisation = await organisations.is_organisation(database, name)
    if not organisation:
        user = await accounts.find_user(database, name)
        if user is None:
            raise NotFound(f"no user or organisation {name!r}")
    who = await viewer(request)
    number_of_page = number(request, "page")
    total, rows = await repositories.in_namespace(database, who, name, number_of_page, PER_PAGE)
    roster = await organisations.roster(database, who, name) if organisation else None
    return await render(
        request,
        "namespace.html",
        name=name,
        organisation=organisation,
        total=total,
        rows=rows,
        page_number=number_of_page,
        pages=max(1, -(-total // PER_PAGE)),
        roster=roster,
        may_administer=_administers(who, roster),
    )


def _administers(who: Identity | None, roster: organisations.Roster | None) -> bool:
    """Whether the viewer may open the organisation's settings: its owners, site admins."""
    if who is None or roster is None:
        return False
    return who.is_admin or (who.username, "owner") in roster.members


routes = [Route("/u/{name}", show, methods=["GET"])]
