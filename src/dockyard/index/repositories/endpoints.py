"""/api/repositories/<name>: visibility, descriptions, collaborators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.errors import Invalid
from dockyard.index.http import api, body, caller, index_of, no_content, signed_in
from dockyard.index.names import namespace_of
from dockyard.index.openapi import operation
from dockyard.index.policies.service import repository_bytes
from dockyard.index.repositories import service
from dockyard.index.repositories.schemas import Collaborator, RepositoryOut, Role, SettingsChange
from dockyard.oci.names import is_valid_name

# As the columns hold them (index/tables.py): longer ones are no repository's.
MAX_NAME, MAX_NAMESPACE = 255, 64
# A full description of 25,000 characters, each escaped in JSON as up to 12 bytes.
SETTINGS_BODY = 320 * 1024


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise Invalid(f"{name!r} is not a repository name")
    if len(name) > MAX_NAME or len(namespace_of(name)) > MAX_NAMESPACE:
        raise Invalid(
            f"a repository name has at most {MAX_NAME} characters, its namespace {MAX_NAMESPACE}"
        )
    return name


@api
@operation("A repository's settings and counts", answers={200: RepositoryOut})
async def show(request: Request) -> Response:
    who = await caller(request, required=False)
    database = index_of(request).database
    found = await service.info(database, None if who is None else who.identity, _name(request))
    return _shown(found, await repository_bytes(database, found.name))


def _shown(found: service.RepositoryInfo, stored: int | None = None) -> Response:
    shown = RepositoryOut.model_validate(found, from_attributes=True)
    shown.stored_bytes = stored
    return JSONResponse(shown.model_dump(mode="json"))


@api
@operation(
    "Change a repository's visibility or descriptions",
    body=SettingsChange,
    answers={200: RepositoryOut},
    credentials="required",
)
async def change(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    form = await body(request, SettingsChange, SETTINGS_BODY)
    index = index_of(request)
    found = await service.update(
        index.database,
        who.identity,
        _name(request),
        index.default_visibility,
        visibility=form.visibility,
        description=form.description,
        full_description=form.full_description,
    )
    return _shown(found)


@api
@operation(
    "A repository's collaborators (users and teams)",
    answers={200: list[Collaborator]},
    credentials="required",
)
async def collaborators(request: Request) -> Response:
    who = await signed_in(request)
    index = index_of(request)
    found = await service.collaborators(
        index.database, who.identity, _name(request), index.default_visibility
    )
    listed = [Collaborator(kind=k, name=n, role=r).model_dump() for k, n, r in found]
    return JSONResponse(listed)


def _collaborator(kind: str, remove: bool = False) -> Route:
    @api
    @operation(
        f"{'Remove' if remove else 'Add or change'} a collaborating {kind[:-1]}",
        body=None if remove else Role,
        answers={204: None},
        credentials="required",
    )
    async def endpoint(request: Request) -> Response:
        who = await signed_in(request)
        who.may_change()
        role = None if remove else (await body(request, Role)).role
        index = index_of(request)
        member = request.path_params["member"]
        await service.set_collaborator(
            index.database,
            who.identity,
            _name(request),
            index.default_visibility,
            role,
            user=member if kind == "users" else None,
            team=member if kind == "teams" else None,
        )
        return no_content()

    path = f"/api/repositories/{{name:path}}/collaborators/{kind}/{{member}}"
    return Route(path, endpoint, methods=["DELETE" if remove else "PUT"])


routes = [
    _collaborator("users"),
    _collaborator("users", remove=True),
    _collaborator("teams"),
    _collaborator("teams", remove=True),
    Route("/api/repositories/{name:path}/collaborators", collaborators, methods=["GET"]),
    Route("/api/repositories/{name:path}", show, methods=["GET"]),
    Route("/api/repositories/{name:path}", change, methods=["PATCH"]),
]
