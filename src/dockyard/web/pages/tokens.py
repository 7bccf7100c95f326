"""`/account/tokens`: personal access tokens and robots: create (the secret shown once) and
revoke. Changing them needs the password's session, as the /api needs the password."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.index.errors import IndexProblem, Invalid, NotFound
from dockyard.index.names import is_valid_account_name
from dockyard.index.tokens import service as tokens
from dockyard.kit.numbers import parse_decimal
from dockyard.web.context import web_of
from dockyard.web.http import as_user, form, page, redirect, render, signed_in


@page
async def listing(request: Request) -> Response:
    return await _render(request)


async def _render(request: Request, status: int = 200, **values: object) -> Response:
    who = await signed_in(request)
    found = await tokens.list_tokens(web_of(request).index.database, as_user(who))
    return await render(
        request,
        "tokens.html",
        status,
        tokens=found,
        scopes=tuple(tokens.SCOPE_ACTIONS),
        separator=tokens.SEPARATOR,
        **values,
    )


@page
async def create(request: Request) -> Response:
    who = await signed_in(request)
    fields = await form(request)
    name, kind = fields.get("name", ""), fields.get("kind", "personal")
    chosen = [scope for scope in tokens.SCOPE_ACTIONS if fields.get(f"scope_{scope}") == "on"]
    days_text = fields.get("expires_days", "")
    try:
        days = None
        if days_text:
            days = parse_decimal(days_text, tokens.MAX_DAYS + 1)
            if days is None:
                raise Invalid(f"expires_days must be 1 to {tokens.MAX_DAYS}")
        scopes = tokens.parse_scopes(chosen)
        index = web_of(request).index
        secret = await tokens.create_token(
            index.database, as_user(who), name, scopes, days, kind, index.limits
        )
    except IndexProblem as exc:
        return await _render(request, exc.status, error=exc.message)
    login = f"{who.username}{tokens.SEPARATOR}{name}" if kind == "robot" else who.username
    return await _render(request, 201, created=name, secret=secret, login=login)


@page
async def revoke(request: Request) -> Response:
    who = await signed_in(request)
    name: str = request.path_params["token"]
    if not is_valid_account_name(name):
        raise NotFound(f"no token named {name[:80]!r}")
    await tokens.revoke_token(web_of(request).index.database, as_user(who), name)
    return redirect("/account/tokens")


routes = [
    Route("/account/tokens", listing, methods=["GET"]),
    Route("/account/tokens", create, methods=["POST"]),
    Route("/account/tokens/{token}/revoke", revoke, methods=["POST"]),
]
