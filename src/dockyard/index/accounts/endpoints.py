"""/api/users: sign-up, the signed-in account, and the account lifecycle (passwords, disabling,
deletion)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.accounts import lifecycle, service
from dockyard.index.accounts.schemas import PasswordChange, PasswordReset, SignUp, UserOut
from dockyard.index.errors import Forbidden, NotFound
from dockyard.index.http import Caller, api, body, caller, index_of, no_content, signed_in
from dockyard.index.openapi import operation


@api
@operation(
    "Create an account (an administrator only, when sign-up is switched off)",
    body=SignUp,
    answers={201: UserOut},
)
async def sign_up(request: Request) -> Response:
    index = index_of(request)
    who = await caller(request, required=False)
    by_admin = who is not None and who.user.is_admin
    if not index.signup_enabled and not by_admin:
        raise Forbidden("sign-up is switched off (index.signup_enabled): ask an administrator")
    form = await body(request, SignUp)
    user = await service.create_user(
        index.database, form.username, form.email, form.password, taking_repositories=by_admin
    )
    out = UserOut(username=user.username, email=user.email, is_admin=user.is_admin)
    return JSONResponse(out.model_dump(), status_code=201)


@api
@operation("The signed-in account", answers={200: UserOut}, credentials="required")
async def me(request: Request) -> Response:
    who = await signed_in(request)
    user = await service.find_user(index_of(request).database, who.user.username)
    if user is None:
        raise NotFound("the account is gone")
    return JSONResponse(
        UserOut(username=user.username, email=user.email, is_admin=user.is_admin).model_dump()
    )


async def _person(request: Request) -> Caller:
    """Accounts change only for someone signed in with the password, never for a token."""
    who = await signed_in(request)
    who.may_change()
    return who


@api
@operation(
    "Change one's own password (ends every other credential)",
    body=PasswordChange,
    answers={204: None},
    credentials="required",
)
async def change_password(request: Request) -> Response:
    who = await _person(request)
    form = await body(request, PasswordChange)
    database = index_of(request).database
    await lifecycle.change_password(database, who.user, form.old_password, form.new_password)
    return no_content()


@api
@operation(
    "Set another account's password (site administrators)",
    body=PasswordReset,
    answers={204: None},
    credentials="required",
)
async def reset_password(request: Request) -> Response:
    who = await _person(request)
    form = await body(request, PasswordReset)
    name = request.path_params["name"]
    await lifecycle.reset_password(index_of(request).database, who.user, name, form.new_password)
    return no_content()


def _disabling(disabled: bool) -> Route:
    @api
    @operation(
        f"{'Disable' if disabled else 'Enable'} an account (site administrators)",
        answers={204: None},
        credentials="required",
    )
    async def endpoint(request: Request) -> Response:
        who = await _person(request)
        name = request.path_params["name"]
        await lifecycle.set_disabled(index_of(request).database, who.user, name, disabled)
        return no_content()

    action = "disable" if disabled else "enable"
    return Route(f"/api/users/{{name}}/{action}", endpoint, methods=["POST"])


@api
@operation("Delete an account", answers={204: None}, credentials="required")
async def delete_account(request: Request) -> Response:
    who = await _person(request)
    name = request.path_params["name"]
    await lifecycle.delete_account(index_of(request).database, who.user, name)
    return no_content()


routes = [
    Route("/api/users", sign_up, methods=["POST"]),
    Route("/api/user", me, methods=["GET"]),
    Route("/api/user/password", change_password, methods=["PUT"]),
    Route("/api/users/{name}/password", reset_password, methods=["PUT"]),
    _disabling(True),
    _disabling(False),
    Route("/api/users/{name}", delete_account, methods=["DELETE"]),
]
