"""A repository's or an organisation's webhooks, under their settings: create (the secret
shown once), change, delete, and each hook's deliveries with every attempt and a button to send
one again. The rules are the /api's (dockyard.index.webhooks.service), URLs checked against the
same allow-list (index.webhooks.allow)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.errors import Conflict, Invalid, NotFound
from dockyard.index.names import is_valid_account_name
from dockyard.index.webhooks import service
from dockyard.index.webhooks.addresses import Allowed
from dockyard.index.webhooks.endpoints import path_id
from dockyard.index.webhooks.schemas import HookChange, NewHook
from dockyard.index.webhooks.service import Of
from dockyard.web.context import web_of
from dockyard.web.http import form, number, page, redirect, render, signed_in
from dockyard.web.pages.repository import repository_name, url_of

M = TypeVar("M", NewHook, HookChange)
DELIVERIES_PER_PAGE = 20
EVENTS = ("push", "delete")


def _owner(request: Request) -> tuple[Of, str, str]:
    """Whose hooks the path names, the settings page they hang from, and its title."""
    if "org" in request.path_params:
        org: str = request.path_params["org"]
        if not is_valid_account_name(org):
            raise NotFound(f"no organisation {org[:80]!r}")
        return Of(organisation=org), f"/u/{urllib.parse.quote(org)}/-/settings", org
    name = repository_name(request)
    return Of(repository=name), f"{url_of(name)}/-/settings", name


def _fields(fields: dict[str, str]) -> dict[str, object]:
    return {
        "name": fields.get("name", "").strip(),
        "url": fields.get("url", "").strip(),
        "events": [event for event in EVENTS if fields.get(f"event_{event}") == "on"],
        "active": fields.get("active") == "on",
    }


def _validated(model: type[M], values: dict[str, object]) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Invalid(problems) from None


def hook_creator(
    owner: Callable[[Request], Of], settings_page: Callable[..., Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """The settings pages' "Add webhook" form: the new hook's page with its secret, shown this
    once (201), or `settings_page` saying why the form or its URL was refused (400), or that
    the owner has hooks enough (409)."""

    @page
    async def create(request: Request) -> Response:
        try:
            return await _create(request, owner(request))
        except (Invalid, Conflict) as exc:  # a form or URL refused, or hooks enough
            return await settings_page(request, exc.status, error=exc.message)

    return create


async def _create(request: Request, of: Of) -> Response:
    who = await signed_in(request)
    web = web_of(request)
    wanted = _validated(NewHook, _fields(await form(request)))
    created = await service.create(
        web.index.database,
        who,
        of,
        wanted,
        Allowed.of(web.webhooks.allow),
        web.index.default_visibility,
        web.webhooks.max_per_owner,
    )
    return await render_hook(request, created.id, 201, secret=created.secret)


@page
async def show(request: Request) -> Response:
    return await render_hook(request, path_id(request, "hook"))


async def render_hook(
    request: Request, hook_id: int, status: int = 200, **values: object
) -> Response:
    of, base, title = _owner(request)
    who = await signed_in(request)
    database = web_of(request).index.database
    hook = await service.show(database, who, of, hook_id)
    delivery_page = number(request, "page")
    deliveries, more = await service.deliveries(
        database, who, of, hook_id, delivery_page, DELIVERIES_PER_PAGE
    )
    return await render(
        request,
        "webhook.html",
        status,
        title=title,
        settings_url=base,
        hook_url=f"{base}/webhooks/{hook.id}",
        hook=hook,
        deliveries=deliveries,
        delivery_page=delivery_page,
        more=more,
        **values,
    )


@page
async def change(request: Request) -> Response:
    of, base, _title = _owner(request)
    hook_id = path_id(request, "hook")
    who = await signed_in(request)
    web = web_of(request)
    fields = await form(request)
    values = _fields(fields)
    values["rotate_secret"] = fields.get("rotate_secret") == "on"
    try:
        wanted = _validated(HookChange, values)
        changed = await service.change(
            web.index.database, who, of, hook_id, wanted, Allowed.of(web.webhooks.allow)
        )
    except Invalid as exc:
        return await render_hook(request, hook_id, 400, error=exc.message)
    if changed.secret is not None:
        return await render_hook(request, hook_id, secret=changed.secret)
    return redirect(f"{base}/webhooks/{hook_id}?saved=1")


@page
async def remove(request: Request) -> Response:
    of, base, _title = _owner(request)
    who = await signed_in(request)
    await service.remove(web_of(request).index.database, who, of, path_id(request, "hook"))
    return redirect(f"{base}#webhooks")


@page
async def redeliver(request: Request) -> Response:
    of, base, _title = _owner(request)
    hook_id, delivery_id = path_id(request, "hook"), path_id(request, "delivery")
    who = await signed_in(request)
    try:
        await service.redeliver(web_of(request).index.database, who, of, hook_id, delivery_id)
    except Conflict as exc:
        return await render_hook(request, hook_id, 409, error=exc.message)
    return redirect(f"{base}/webhooks/{hook_id}#deliveries")


def _routes(prefix: str) -> list[Route]:
    hook = f"{prefix}/-/settings/webhooks/{{hook}}"
    return [
        Route(hook, show, methods=["GET"]),
        Route(hook, change, methods=["POST"]),
        Route(f"{hook}/delete", remove, methods=["POST"]),
        Route(f"{hook}/deliveries/{{delivery}}/redeliver", redeliver, methods=["POST"]),
    ]


# Before the repository's greedy {name:path}. Creating is the settings pages' (their form).
routes = [*_routes("/r/{name:path}"), *_routes("/u/{org}")]
