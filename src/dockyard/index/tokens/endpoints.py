"""/api/tokens: personal access tokens and robot accounts of the signed-in user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dockyard.index.http import api, body, index_of, no_content, signed_in
from dockyard.index.openapi import operation
from dockyard.index.tokens import service
from dockyard.index.tokens.schemas import CreatedToken, NewToken, TokenOut


def _out(info: service.TokenInfo, owner: str) -> TokenOut:
    login = f"{owner}{service.SEPARATOR}{info.name}" if info.kind == "robot" else owner
    return TokenOut(
        name=info.name,
        kind=info.kind,
        scopes=list(info.scopes),
        created_at=info.created_at,
        expires_at=info.expires_at,
        revoked=info.revoked,
        login=login,
    )


@api
@operation(
    "Create an access token or a robot (its secret is shown only here)",
    body=NewToken,
    answers={201: CreatedToken},
    credentials="required",
)
async def create(request: Request) -> Response:
    who = await signed_in(request)
    who.needs_password()
    form = await body(request, NewToken)
    index = index_of(request)
    database = index.database
    kind = "robot" if form.robot else "personal"
    scopes = service.parse_scopes(list(form.scopes))
    secret = await service.create_token(
        database, who.user, form.name, scopes, form.expires_days, kind, index.limits
    )
    info = next(t for t in await service.list_tokens(database, who.user) if t.name == form.name)
    created = CreatedToken(**_out(info, who.user.username).model_dump(), token=secret)
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@api
@operation(
    "The signed-in user's tokens and robots", answers={200: list[TokenOut]}, credentials="required"
)
async def listing(request: Request) -> Response:
    who = await signed_in(request)
    found = await service.list_tokens(index_of(request).database, who.user)
    return JSONResponse([_out(t, who.user.username).model_dump(mode="json") for t in found])


@api
@operation("Revoke a token or a robot", answers={204: None}, credentials="required")
async def revoke(request: Request) -> Response:
    who = await signed_in(request)
    who.needs_password()
    await service.revoke_token(index_of(request).database, who.user, request.path_params["token"])
    return no_content()


routes = [
    Route("/api/tokens", create, methods=["POST"]),
    Route("/api/tokens", listing, methods=["GET"]),
    Route("/api/tokens/{token}", revoke, methods=["DELETE"]),
]
