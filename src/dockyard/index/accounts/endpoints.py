"""/api/users: sign-up and the signed-in account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.accounts import service
from dockyard.index.accounts.schemas import SignUp, UserOut
from dockyard.index.errors import Forbidden, NotFound
from dockyard.index.http import api, body, caller, index_of, signed_in


@api
async def sign_up(request: Request) -> Response:
    index = index_of(request)
    if not index.signup_enabled:
        admin = await caller(request, required=False)
        if admin is None or not admin.user.is_admin:
            raise Forbidden("sign-up is switched off (index.signup_enabled): ask an administrator")
    form = await body(request, SignUp)
    user = await service.create_user(index.database, form.username, form.email, form.password)
    out = UserOut(username=user.username, email=user.email, is_admin=user.is_admin)
    return JSONResponse(out.model_dump(), status_code=201)


@api
async def me(request: Request) -> Response:
    who = await signed_in(request)
    user = await service.find_user(index_of(request).database, who.user.username)
    if user is None:
        raise NotFound("the account is gone")
    return JSONResponse(
        UserOut(username=user.username, email=user.email, is_admin=user.is_admin).model_dump()
    )


routes = [
    Route("/api/users", sign_up, methods=["POST"]),
    Route("/api/user", me, methods=["GET"]),
]
