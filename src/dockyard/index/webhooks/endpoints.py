"""/api/repositories/<name>/webhooks and /api/orgs/<org>/webhooks: hooks, their deliveries
(with every attempt) and redelivery. Writes need the password or a write token
(Caller.may_change); reading needs the same administrators as writing."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.config import WebhookSettings
from dockyard.index.errors import Invalid, NotFound
from dockyard.index.http import (
    MAX_PAGE,
    Endpoint,
    api,
    body,
    index_of,
    no_content,
    number_param,
    signed_in,
)
from dockyard.index.openapi import operation
from dockyard.index.webhooks import service
from dockyard.index.webhooks.addresses import Allowed
from dockyard.index.webhooks.schemas import (
    DeliveriesAnswer,
    DeliveryOut,
    HookChange,
    HookOut,
    HooksAnswer,
    NewHook,
)
from dockyard.index.webhooks.service import Of
from dockyard.kit.numbers import parse_decimal
from dockyard.oci.names import is_valid_name

PAGING = {"page": "page number, from 1", "per_page": "results per page"}
# Ids past this are no one's (the columns are 32-bit integers).
MAX_ID = 2**31 - 1


def settings_of(request: Request) -> WebhookSettings:
    """index.webhooks, as dockyard.index.setup hands it to every /api request."""
    found = getattr(request.state, "webhooks", None)
    return found if isinstance(found, WebhookSettings) else WebhookSettings()


def _of(request: Request) -> Of:
    params = request.path_params
    if "org" in params:
        return Of(organisation=params["org"])
    name: str = params["name"]
    if not is_valid_name(name):
        raise Invalid(f"{name[:200]!r} is not a repository name")
    return Of(repository=name)


def path_id(request: Request, key: str) -> int:
    """A hook's or a delivery's id from the path; NotFound when it is none."""
    text: str = request.path_params[key]
    number = parse_decimal(text, MAX_ID)
    if number is None or number < 1:
        raise NotFound(f"no webhook or delivery {text[:40]!r}")
    return number


def _paging(request: Request) -> tuple[int, int]:
    params = request.query_params
    page = number_param(params.get("page"), "page", MAX_PAGE, 1)
    per_page = number_param(params.get("per_page"), "per_page", service.MAX_PER_PAGE, 25)
    return page, per_page


def _paged(
    request: Request, document: dict[str, object], more: bool, page: int, per_page: int
) -> Response:
    headers = {}
    if more:
        query = urlencode({"page": page + 1, "per_page": per_page})
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return JSONResponse(document, headers=headers)


@api
@operation(
    "Create a webhook (its secret is shown only here)",
    body=NewHook,
    answers={201: HookOut},
    credentials="required",
)
async def create(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    of = _of(request)
    form = await body(request, NewHook)
    index = index_of(request)
    settings = settings_of(request)
    created = await service.create(
        index.database, who.identity, of, form, Allowed.of(settings.allow),
        index.default_visibility, settings.max_per_owner,
    )  # fmt: skip
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@api
@operation("List the webhooks", answers={200: HooksAnswer}, query=PAGING, credentials="required")
async def listing(request: Request) -> Response:
    who = await signed_in(request)
    page, per_page = _paging(request)
    found, more = await service.hooks(
        index_of(request).database, who.identity, _of(request), page, per_page
    )
    answer = HooksAnswer(page=page, per_page=per_page, results=found)
    return _paged(request, answer.model_dump(mode="json", exclude_none=False), more, page, per_page)


@api
@operation("Show a webhook", answers={200: HookOut}, credentials="required")
async def show(request: Request) -> Response:
    who = await signed_in(request)
    found = await service.show(
        index_of(request).database, who.identity, _of(request), path_id(request, "hook")
    )
    return JSONResponse(found.model_dump(mode="json"))


@api
@operation(
    "Change a webhook (or rotate its secret)",
    body=HookChange,
    answers={200: HookOut},
    credentials="required",
)
async def change(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    of, hook = _of(request), path_id(request, "hook")
    form = await body(request, HookChange)
    allowed = Allowed.of(settings_of(request).allow)
    found = await service.change(index_of(request).database, who.identity, of, hook, form, allowed)
    return JSONResponse(found.model_dump(mode="json"))


@api
@operation("Delete a webhook", answers={204: None}, credentials="required")
async def remove(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    await service.remove(
        index_of(request).database, who.identity, _of(request), path_id(request, "hook")
    )
    return no_content()


@api
@operation(
    "List a webhook's deliveries with every attempt",
    answers={200: DeliveriesAnswer},
    query=PAGING,
    credentials="required",
)
async def deliveries(request: Request) -> Response:
    who = await signed_in(request)
    of, hook = _of(request), path_id(request, "hook")
    page, per_page = _paging(request)
    found, more = await service.deliveries(
        index_of(request).database, who.identity, of, hook, page, per_page
    )
    answer = DeliveriesAnswer(page=page, per_page=per_page, results=found)
    return _paged(request, answer.model_dump(mode="json"), more, page, per_page)


@api
@operation("Send a delivery again", answers={202: DeliveryOut}, credentials="required")
async def redeliver(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    of, hook, delivery = _of(request), path_id(request, "hook"), path_id(request, "delivery")
    found = await service.redeliver(index_of(request).database, who.identity, of, hook, delivery)
    return JSONResponse(found.model_dump(mode="json"), status_code=202)


def _routes(prefix: str) -> list[Route]:
    hooks, hook = f"{prefix}/webhooks", f"{prefix}/webhooks/{{hook}}"
    table: list[tuple[str, Endpoint, str]] = [
        (hooks, listing, "GET"),
        (hooks, create, "POST"),
        (hook, show, "GET"),
        (hook, change, "PATCH"),
        (hook, remove, "DELETE"),
        (f"{hook}/deliveries", deliveries, "GET"),
        (f"{hook}/deliveries/{{delivery}}/redeliver", redeliver, "POST"),
    ]
    return [Route(path, endpoint, methods=[method]) for path, endpoint, method in table]


# Before /api/repositories/{name:path}, which would take `<name>/webhooks` as a repository.
routes = [*_routes("/api/repositories/{name:path}"), *_routes("/api/orgs/{org}")]
