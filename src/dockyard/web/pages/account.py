"""Signing in and out, signing up, and changing one's password."""

from __future__ import annotations

import urllib.parse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dockyard.auth import login
from dockyard.index.accounts import lifecycle
from dockyard.index.accounts import service as accounts
from dockyard.index.errors import Forbidden, IndexProblem, TooManyFailures
from dockyard.index.identity import identity_of, sign_in
from dockyard.index.tokens.service import SEPARATOR
from dockyard.web import session
from dockyard.web.context import web_of
from dockyard.web.http import as_user, form, page, redirect, render, signed_in


def _next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never `//host`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@page
async def sign_in_form(request: Request) -> Response:
    return await render(request, "signin.html", next=_next(request.query_params.get("next")))


@page
async def sign_in_post(request: Request) -> Response:
    fields = await form(request)
    username, password = fields.get("username", ""), fields.get("password", "")
    target = _next(fields.get("next"))
    subject = await _check(request, username, password)
    identity = await identity_of(web_of(request).index.database, subject)
    if subject is None or SEPARATOR in subject or identity is None:
        # A token or a robot's secret signs in docker, not a browser: it cannot change settings.
        return await render(
            request,
            "signin.html",
            401,
            next=target,
            username=username,
            error="Wrong username or password.",
        )
    response = redirect(target)
    await session.begin(request, response, identity)
    return response


async def _check(request: Request, username: str, password: str) -> str | None:
    """The subject the password proves, through the token service's throttled logins."""
    index = web_of(request).index
    if not username or not password:
        return None
    if index.logins is None:
        return await sign_in(index.database, username, password)
    address = request.client.host if request.client is not None else "unknown"
    try:
        return await index.logins.password(username, password, address)
    except login.LoginRefused:
        return None
    except login.TooManyFailures as exc:
        raise TooManyFailures(str(exc), exc.retry_after) from None


@page
async def sign_out(request: Request) -> Response:
    response = redirect("/")
    await session.end(request, response)
    return response


@page
async def sign_up_form(request: Request) -> Response:
    _signup_open(request)
    return await render(request, "signup.html")


@page
async def sign_up_post(request: Request) -> Response:
    _signup_open(request)
    fields = await form(request)
    username, email = fields.get("username", ""), fields.get("email", "")
    database = web_of(request).index.database
    try:
        await accounts.create_user(database, username, email, fields.get("password", ""))
    except IndexProblem as exc:
        return await render(
            request, "signup.html", exc.status, username=username, email=email, error=exc.message
        )
    identity = await identity_of(database, username)
    assert identity is not None
    response = redirect(f"/u/{urllib.parse.quote(username)}")
    await session.begin(request, response, identity)
    return response


def _signup_open(request: Request) -> None:
    if not web_of(request).index.signup_enabled:
        raise Forbidden("sign-up is switched off here: ask an administrator for an account")


@page
async def password_form(request: Request) -> Response:
    await signed_in(request)
    return await render(request, "password.html")


@page
async def password_post(request: Request) -> Response:
    who = await signed_in(request)
    fields = await form(request)
    new = fields.get("new_password", "")
    if new != fields.get("confirm_password", ""):
        return await render(request, "password.html", 400, error="The new passwords differ.")
    database = web_of(request).index.database
    try:
        await lifecycle.change_password(database, as_user(who), fields.get("old_password", ""), new)
    except IndexProblem as exc:
        return await render(request, "password.html", exc.status, error=exc.message)
    # Every session ended with the old password, this one too: this browser signs in anew.
    response = redirect("/account/password?changed=1")
    await session.begin(request, response, who)
    return response


routes = [
    Route("/signin", sign_in_form, methods=["GET"]),
    Route("/signin", sign_in_post, methods=["POST"]),
    Route("/signout", sign_out, methods=["POST"]),
    Route("/signup", sign_up_form, methods=["GET"]),
    Route("/signup", sign_up_post, methods=["POST"]),
    Route("/account/password", password_form, methods=["GET"]),
    Route("/account/password", password_post, methods=["POST"]),
]
