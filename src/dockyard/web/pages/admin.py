"""`/-/admin`: site administration, for site administrators only (everyone else gets 404, as
for a page that does not exist): accounts (disable, enable, promote, demote, reset a password,
the new one shown once), storage per namespace (the registry's accounting, a page of namespaces
at a time), and the queues of registry events and of webhooks with their failures."""

from __future__ import annotations

import secrets
import urllib.parse
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.accounts import lifecycle
from dockyard.index.accounts import service as accounts
from dockyard.index.errors import Conflict, NotFound
from dockyard.index.names import is_valid_account_name
from dockyard.index.policies import service as policies
from dockyard.index.repositories.permissions import Identity
from dockyard.index.tables import as_utc
from dockyard.index.webhooks import service as webhooks
from dockyard.registry.events import outbox
from dockyard.registry.metadata import now
from dockyard.web.context import web_of
from dockyard.web.http import as_user, form, number, page, redirect, render, viewer

PER_PAGE = 50
# A namespace's bytes are a read of all its blob links (decision 0022): fewer per page.
NAMESPACES_PER_PAGE = 20
ACTIONS = ("disable", "enable", "promote", "demote", "password")
EVENT_ACTIONS = ("retry", "discard")


async def site_admin(request: Request) -> Identity:
    who = await viewer(request)
    if who is None or not who.is_admin:
        raise NotFound(f"no page {request.url.path[:200]!r}")
    return who


@page
async def users(request: Request) -> Response:
    return await _users(request)


async def _users(request: Request, status: int = 200, **values: object) -> Response:
    who = await site_admin(request)
    prefix = request.query_params.get("q", "")[:64]
    user_page = number(request, "page")
    database = web_of(request).index.database
    found, more = await accounts.list_users(database, as_user(who), prefix, user_page, PER_PAGE)
    return await render(
        request,
        "admin_users.html",
        status,
        section="users",
        users=found,
        prefix=prefix,
        user_page=user_page,
        more=more,
        **values,
    )


@page
async def act(request: Request) -> Response:
    who = await site_admin(request)
    name: str = request.path_params["user"]
    action: str = request.path_params["action"]
    if action not in ACTIONS or not is_valid_account_name(name):
        raise NotFound(f"no page {request.url.path[:200]!r}")
    database, actor = web_of(request).index.database, as_user(who)
    password = None
    try:
        if action in ("disable", "enable"):
            await lifecycle.set_disabled(database, actor, name, action == "disable")
        elif action in ("promote", "demote"):
            await lifecycle.set_site_admin(database, actor, name, action == "promote")
        else:
            password = secrets.token_urlsafe(15)
            await lifecycle.reset_password(database, actor, name, password)
    except (Conflict, NotFound) as exc:
        return await _users(request, exc.status, error=exc.message)
    if password is not None:
        return await _users(request, reset=name, password=password)
    return redirect(f"/-/admin?q={name}")


@page
async def storage(request: Request) -> Response:
    who = await site_admin(request)
    start = request.query_params.get("from", "")[:64]
    web = web_of(request)
    found, following = await policies.storage_page(
        web.index.database, who, start, NAMESPACES_PER_PAGE, web.quotas
    )
    return await render(
        request,
        "admin_storage.html",
        section="storage",
        namespaces=found,
        start=start,
        following=following,
    )


@page
async def queues(request: Request) -> Response:
    who = await site_admin(request)
    hook_page = number(request, "page")
    web = web_of(request)
    hooks, more = await webhooks.queues(web.index.database, who, hook_page, PER_PAGE)
    statuses = {s.name: s for s in await web.index.database.run(outbox.statuses)}
    configured = {endpoint.name: endpoint for endpoint in web.event_endpoints}
    moment = now()
    endpoints = []
    for name in sorted(set(configured) | set(statuses)):
        status, endpoint = statuses.get(name), configured.get(name)
        state = "unknown" if endpoint is None else "disabled" if endpoint.disabled else "enabled"
        retry = _aware(status.next_attempt_at) if status else None
        if retry is not None and retry > moment:
            state = "backing off"
        endpoints.append((name, state, status))
    return await render(
        request,
        "admin_queues.html",
        section="queues",
        endpoints=endpoints,
        hooks=hooks,
        hook_page=hook_page,
        more=more,
        aware=_aware,
    )


@page
async def act_on_events(request: Request) -> Response:
    """`dockyard events retry|discard ENDPOINT` from the queues page: end an endpoint's back-off
    so its failed events go at the next attempt, or forget its failed events."""
    await site_admin(request)
    action: str = request.path_params["action"]
    endpoint = (await form(request)).get("endpoint", "")
    web = web_of(request)
    database = web.index.database
    known = {s.name for s in await database.run(outbox.statuses)}
    known |= {configured.name for configured in web.event_endpoints}
    if action not in EVENT_ACTIONS or endpoint not in known:
        raise NotFound(f"no endpoint {endpoint[:200]!r}")
    if action == "retry":
        count = await database.run(outbox.retry_now, endpoint)
    else:
        count = await database.run(outbox.discard, endpoint, False)
    done = urllib.parse.urlencode({"done": action, "endpoint": endpoint, "count": count})
    return redirect(f"/-/admin/queues?{done}#events")


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


routes = [
    Route("/-/admin", users, methods=["GET"]),
    Route("/-/admin/users/{user}/{action}", act, methods=["POST"]),
    Route("/-/admin/storage", storage, methods=["GET"]),
    Route("/-/admin/queues", queues, methods=["GET"]),
    Route("/-/admin/queues/events/{action}", act_on_events, methods=["POST"]),
]
