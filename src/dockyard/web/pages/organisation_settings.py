"""`/u/<org>/-/settings`: an organisation's members and owners, its teams with their members
and the repositories each may use (with which role), and its webhooks; for its owners and site
administrators, through the /api's services (dockyard.index.organisations)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.db.engine import Database
from dockyard.index.accounts.service import User
from dockyard.index.errors import Conflict, Forbidden, Invalid, NotFound
from dockyard.index.limits import AccountLimits
from dockyard.index.names import is_valid_account_name
from dockyard.index.organisations import service as organisations
from dockyard.index.repositories import service as repositories
from dockyard.index.webhooks import service as hooks_service
from dockyard.index.webhooks.service import Of
from dockyard.web.context import web_of
from dockyard.web.http import Endpoint, as_user, form, page, redirect, render, signed_in
from dockyard.web.pages import webhooks

HOOKS_SHOWN = 100
# The refusals a form's input can cause: the page says why, the rest are the page's own.
FORM_PROBLEMS = (Invalid, NotFound, Conflict)


def _organisation(request: Request) -> str:
    org: str = request.path_params["org"]
    if not is_valid_account_name(org):
        raise NotFound(f"no organisation {org[:80]!r}")
    return org


def settings_url(org: str) -> str:
    return f"/u/{urllib.parse.quote(org)}/-/settings"


@page
async def show(request: Request) -> Response:
    return await render_settings(request)


async def render_settings(request: Request, status: int = 200, **values: object) -> Response:
    org = _organisation(request)
    who = await signed_in(request)
    database = web_of(request).index.database
    members = await organisations.members(database, as_user(who), org)  # NotFound to strangers
    if not who.is_admin and (who.username, "owner") not in members:
        raise Forbidden(f"only owners of {org} may change its settings")
    roster = await organisations.roster(database, who, org)
    assert roster is not None
    grants = await repositories.team_grants(database, who, org)
    hooks, _more = await hooks_service.hooks(database, who, Of(organisation=org), 1, HOOKS_SHOWN)
    return await render(
        request,
        "organisation_settings.html",
        status,
        name=org,
        settings_url=settings_url(org),
        members=members,
        teams=roster.teams,
        grants=grants,
        hooks=hooks,
        roles=organisations.ROLES,
        **values,
    )


@dataclass(frozen=True, slots=True)
class Change:
    """What a form on the page asks, for the organisations' service."""

    database: Database
    limits: AccountLimits
    actor: User
    org: str
    team: str  # the team the form's path names, or ""
    fields: dict[str, str]

    def field(self, name: str) -> str:
        return self.fields.get(name, "").strip()


def _form(anchor: str, act: Callable[[Change], Awaitable[None]]) -> Endpoint:
    """A form's endpoint: `act`, then back to the page at `anchor`; or the page saying what
    was wrong with the form."""

    @page
    async def endpoint(request: Request) -> Response:
        org, who = _organisation(request), await signed_in(request)
        fields = await form(request)
        team = request.path_params.get("team", "")
        index = web_of(request).index
        change = Change(index.database, index.limits, as_user(who), org, team, fields)
        try:
            await act(change)
        except FORM_PROBLEMS as exc:
            return await render_settings(request, exc.status, error=exc.message)
        return redirect(f"{settings_url(org)}?saved=1#{anchor}")

    return endpoint


set_member = _form(
    "members",
    lambda c: organisations.set_member(
        c.database, c.actor, c.org, c.field("username"), c.field("role")
    ),
)
remove_member = _form(
    "members",
    lambda c: organisations.remove_member(c.database, c.actor, c.org, c.field("username")),
)
create_team = _form(
    "teams",
    lambda c: organisations.create_team(c.database, c.actor, c.org, c.field("team"), c.limits),
)
add_team_member = _form(
    "teams",
    lambda c: organisations.add_team_member(
        c.database, c.actor, c.org, c.team, c.field("username")
    ),
)
remove_team_member = _form(
    "teams",
    lambda c: organisations.remove_team_member(
        c.database, c.actor, c.org, c.team, c.field("username")
    ),
)
delete_team = _form(
    "teams", lambda c: organisations.delete_team(c.database, c.actor, c.org, c.team)
)
create_hook = webhooks.hook_creator(lambda r: Of(organisation=_organisation(r)), render_settings)

_BASE = "/u/{org}/-/settings"
routes = [
    Route(_BASE, show, methods=["GET"]),
    Route(f"{_BASE}/members", set_member, methods=["POST"]),
    Route(f"{_BASE}/members/remove", remove_member, methods=["POST"]),
    Route(f"{_BASE}/teams", create_team, methods=["POST"]),
    Route(f"{_BASE}/teams/{{team}}/delete", delete_team, methods=["POST"]),
    Route(f"{_BASE}/teams/{{team}}/members", add_team_member, methods=["POST"]),
    Route(f"{_BASE}/teams/{{team}}/members/remove", remove_team_member, methods=["POST"]),
    Route(f"{_BASE}/webhooks", create_hook, methods=["POST"]),
]
