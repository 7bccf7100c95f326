"""/api/orgs: organisations, their members and teams."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.http import api, body, index_of, no_content, signed_in
from dockyard.index.openapi import operation
from dockyard.index.organisations import service
from dockyard.index.organisations.schemas import (
    Created,
    Member,
    Membership,
    NewOrganisation,
    NewTeam,
)


@api
@operation(
    "Create an organisation (its creator is its owner)",
    body=NewOrganisation,
    answers={201: Created},
    credentials="required",
)
async def create(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    form = await body(request, NewOrganisation)
    index = index_of(request)
    await service.create_organisation(
        index.database, form.name, who.user, index.limits, taking_repositories=who.user.is_admin
    )
    return JSONResponse(Created(name=form.name).model_dump(), status_code=201)


@api
@operation("Delete an organisation", answers={204: None}, credentials="required")
async def delete(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    await service.delete_organisation(
        index_of(request).database, who.user, request.path_params["org"]
    )
    return no_content()


@api
@operation("An organisation's members", answers={200: list[Member]}, credentials="required")
async def members(request: Request) -> Response:
    who = await signed_in(request)
    org = request.path_params["org"]
    found = await service.members(index_of(request).database, who.user, org)
    return JSONResponse([Member(username=u, role=r).model_dump() for u, r in found])


@api
@operation(
    "Add a member or change their role",
    body=Membership,
    answers={204: None},
    credentials="required",
)
async def set_member(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    form = await body(request, Membership)
    params = request.path_params
    await service.set_member(
        index_of(request).database, who.user, params["org"], params["user"], form.role
    )
    return no_content()


@api
@operation("Remove a member", answers={204: None}, credentials="required")
async def remove_member(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    params = request.path_params
    await service.remove_member(index_of(request).database, who.user, params["org"], params["user"])
    return no_content()


@api
@operation("Create a team", body=NewTeam, answers={201: Created}, credentials="required")
async def create_team(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    form = await body(request, NewTeam)
    org = request.path_params["org"]
    index = index_of(request)
    await service.create_team(index.database, who.user, org, form.name, index.limits)
    return JSONResponse(Created(name=form.name).model_dump(), status_code=201)


@api
@operation(
    "Delete a team (its members and repository roles go)",
    answers={204: None},
    credentials="required",
)
async def delete_team(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    params = request.path_params
    await service.delete_team(index_of(request).database, who.user, params["org"], params["team"])
    return no_content()


@api
@operation("A team's members' usernames", answers={200: list[str]}, credentials="required")
async def team_members(request: Request) -> Response:
    who = await signed_in(request)
    params = request.path_params
    names = await service.team_members(
        index_of(request).database, who.user, params["org"], params["team"]
    )
    return JSONResponse(names)


@api
@operation("Add a member to a team", answers={204: None}, credentials="required")
async def add_team_member(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    params = request.path_params
    await service.add_team_member(
        index_of(request).database, who.user, params["org"], params["team"], params["user"]
    )
    return no_content()


@api
@operation("Remove a member from a team", answers={204: None}, credentials="required")
async def remove_team_member(request: Request) -> Response:
    who = await signed_in(request)
    who.may_change()
    params = request.path_params
    await service.remove_team_member(
        index_of(request).database, who.user, params["org"], params["team"], params["user"]
    )
    return no_content()


routes = [
    Route("/api/orgs", create, methods=["POST"]),
    Route("/api/orgs/{org}", delete, methods=["DELETE"]),
    Route("/api/orgs/{org}/members", members, methods=["GET"]),
    Route("/api/orgs/{org}/members/{user}", set_member, methods=["PUT"]),
    Route("/api/orgs/{org}/members/{user}", remove_member, methods=["DELETE"]),
    Route("/api/orgs/{org}/teams", create_team, methods=["POST"]),
    Route("/api/orgs/{org}/teams/{team}", delete_team, methods=["DELETE"]),
    Route("/api/orgs/{org}/teams/{team}/members", team_members, methods=["GET"]),
    Route("/api/orgs/{org}/teams/{team}/members/{user}", add_team_member, methods=["PUT"]),
    Route("/api/orgs/{org}/teams/{team}/members/{user}", remove_team_member, methods=["DELETE"]),
]
