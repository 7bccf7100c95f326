"""/api/namespaces/<namespace>/{usage,quota,immutable-tags,retention} and
/api/repositories/<name>/{immutable-tags,retention}: storage policies. Writes need the
password (Caller.may_change)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.config import QuotaSettings
from dockyard.index.errors import Invalid, NotFound
from dockyard.index.http import Caller, Endpoint, api, body, index_of, no_content, signed_in
from dockyard.index.openapi import operation
from dockyard.index.policies import service
from dockyard.index.policies.schemas import (
    ImmutableTags,
    QuotaChange,
    QuotaOut,
    RetentionPolicy,
    UsageOut,
)
from dockyard.index.policies.service import Scope
from dockyard.index.repositories.endpoints import MAX_NAME
from dockyard.oci.names import is_valid_name


def quota_defaults(request: Request) -> QuotaSettings:
    """registry.quotas, as dockyard.index.setup hands it to every /api request."""
    found = getattr(request.state, "quotas", None)
    return found if isinstance(found, QuotaSettings) else QuotaSettings()


def _scope(request: Request) -> Scope:
    params = request.path_params
    if "namespace" in params:
        return Scope.of_namespace(params["namespace"])
    name: str = params["name"]
    if not is_valid_name(name) or len(name) > MAX_NAME:
        raise Invalid(f"{name[:200]!r} is not a repository name")
    return Scope.of_repository(name)


async def _writer(request: Request) -> Caller:
    who = await signed_in(request)
    who.may_change()
    return who


def _json(model: UsageOut | QuotaOut | ImmutableTags | RetentionPolicy) -> Response:
    return JSONResponse(model.model_dump(mode="json"))


@api
@operation(
    "A namespace's bytes stored, per repository", answers={200: UsageOut}, credentials="required"
)
async def show_usage(request: Request) -> Response:
    who = await signed_in(request)
    namespace = _scope(request).namespace
    database = index_of(request).database
    return _json(await service.usage_of(database, who.identity, namespace, quota_defaults(request)))


@api
@operation("A namespace's quotas", answers={200: QuotaOut}, credentials="required")
async def show_quota(request: Request) -> Response:
    who = await signed_in(request)
    namespace = _scope(request).namespace
    database = index_of(request).database
    return _json(await service.quota_of(database, who.identity, namespace, quota_defaults(request)))


@api
@operation(
    "Set a namespace's quotas (site administrators)",
    body=QuotaChange,
    answers={200: QuotaOut},
    credentials="required",
)
async def set_quota(request: Request) -> Response:
    who = await _writer(request)
    namespace = _scope(request).namespace
    change = await body(request, QuotaChange)
    found = await service.quota_of(
        index_of(request).database, who.identity, namespace, quota_defaults(request), change
    )
    return _json(found)


@api
@operation(
    "Put a namespace back on the default quotas (site administrators)",
    answers={200: QuotaOut},
    credentials="required",
)
async def reset_quota(request: Request) -> Response:
    who = await _writer(request)
    namespace = _scope(request).namespace
    found = await service.quota_of(
        index_of(request).database, who.identity, namespace, quota_defaults(request), reset=True
    )
    return _json(found)


@api
@operation("Patterns of immutable tags", answers={200: ImmutableTags}, credentials="required")
async def show_immutable(request: Request) -> Response:
    who = await signed_in(request)
    database = index_of(request).database
    return _json(await service.immutable_tags(database, who.identity, _scope(request)))


@api
@operation(
    "Replace the patterns of immutable tags",
    body=ImmutableTags,
    answers={200: ImmutableTags},
    credentials="required",
)
async def set_immutable(request: Request) -> Response:
    who = await _writer(request)
    change = await body(request, ImmutableTags)
    database = index_of(request).database
    return _json(await service.immutable_tags(database, who.identity, _scope(request), change))


@api
@operation("The retention policy", answers={200: RetentionPolicy}, credentials="required")
async def show_retention(request: Request) -> Response:
    who = await signed_in(request)
    found = await service.retention(index_of(request).database, who.identity, _scope(request))
    if found is None:
        raise NotFound("no retention policy is set here")
    return _json(found)


@api
@operation(
    "Set the retention policy",
    body=RetentionPolicy,
    answers={200: RetentionPolicy},
    credentials="required",
)
async def set_retention(request: Request) -> Response:
    who = await _writer(request)
    change = await body(request, RetentionPolicy)
    database = index_of(request).database
    found = await service.retention(database, who.identity, _scope(request), change)
    assert found is not None
    return _json(found)


@api
@operation("Remove the retention policy", answers={204: None}, credentials="required")
async def remove_retention(request: Request) -> Response:
    who = await _writer(request)
    database = index_of(request).database
    await service.retention(database, who.identity, _scope(request), remove=True)
    return no_content()


def _routes(prefix: str, namespace: bool) -> list[Route]:
    table: list[tuple[str, Endpoint, str]] = [
        ("immutable-tags", show_immutable, "GET"),
        ("immutable-tags", set_immutable, "PUT"),
        ("retention", show_retention, "GET"),
        ("retention", set_retention, "PUT"),
        ("retention", remove_retention, "DELETE"),
    ]
    if namespace:
        table += [
            ("usage", show_usage, "GET"),
            ("quota", show_quota, "GET"),
            ("quota", set_quota, "PUT"),
            ("quota", reset_quota, "DELETE"),
        ]
    return [
        Route(f"{prefix}/{path}", endpoint, methods=[method]) for path, endpoint, method in table
    ]


# Before /api/repositories/{name:path}, which would take `<name>/retention` as a repository.
routes = [
    *_routes("/api/namespaces/{namespace}", namespace=True),
    *_routes("/api/repositories/{name:path}", namespace=False),
]
