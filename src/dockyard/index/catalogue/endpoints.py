"""`GET /api/repositories/<name>/tags`: the catalogue's tags of a repository."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.catalogue import schemas, service
from dockyard.index.errors import Invalid
from dockyard.index.http import MAX_PAGE, api, caller, index_of, number_param
from dockyard.index.openapi import operation
from dockyard.oci.names import is_valid_name


@api
@operation(
    "A repository's tags as the catalogue knows them",
    answers={200: schemas.TagsAnswer},
    query={"sort": "name or last_push", "page": "from 1", "per_page": "1 to 100"},
)
async def list_tags(request: Request) -> Response:
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise Invalid(f"{name[:200]!r} is not a repository name")
    params = request.query_params
    per_page = number_param(params.get("per_page"), "per_page", service.MAX_PER_PAGE, 25)
    page = number_param(params.get("page"), "page", MAX_PAGE, 1)
    order = params.get("sort") or "name"
    who = await caller(request, required=False)
    identity = None if who is None else who.identity
    found = await service.tags(index_of(request).database, identity, name, page, per_page, order)
    answer = schemas.TagsAnswer(
        repository=name,
        sort=order,
        page=page,
        per_page=per_page,
        total=found.total,
        pages=-(-found.total // per_page),
        results=[
            schemas.TagOut(
                name=tag.name,
                digest=tag.digest,
                media_type=tag.media_type,
                size=tag.size,
                platforms=[schemas.Platform(**platform) for platform in tag.platforms],
                pushed_at=tag.pushed_at,
                pushed_by=tag.pushed_by,
            )
            for tag in found.tags
        ],
    )
    return JSONResponse(answer.model_dump(mode="json"))


# Before /api/repositories/{name:path}, which would take `<name>/tags` as a repository's name.
routes = [Route("/api/repositories/{name:path}/tags", list_tags, methods=["GET"])]
