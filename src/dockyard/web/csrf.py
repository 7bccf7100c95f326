"""Every form carries a CSRF token and every POST must return it (else 403).

A signed-in browser's token is its session's (kept server-side with it). Before sign-in (the
sign-in and sign-up forms), the token is the HMAC of a random value held in its own HttpOnly
cookie: a page of another site can neither read that cookie nor compute its token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from dockyard.kit.compare import same_secret
from dockyard.web import session
from dockyard.web.context import web_of

COOKIE = "dockyard_csrf"
FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A POST without its form's token, or with another's."""


async def token(request: Request) -> str:
    """The token the forms of this page carry."""
    found = await session.current(request)
    if found is not None:
        return found.csrf_token
    return _anonymous_token(request, _anonymous_value(request) or _new_value(request))


async def check(request: Request, sent: str | None) -> None:
    found = await session.current(request)
    if found is not None:
        expected: str | None = found.csrf_token
    else:
        value = _anonymous_value(request)
        expected = None if value is None else _anonymous_token(request, value)
    if not sent or expected is None or not same_secret(sent, expected):
        raise CsrfRefused("this form has expired or did not come from this site: load it again")


def set_cookie(request: Request, response: Response) -> None:
    """Hand out the anonymous value a page's forms were made with, when it was new."""
    value = getattr(request.state, "new_csrf_value", None)
    if value is not None:
        response.set_cookie(
            COOKIE,
            value,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )


def _anonymous_value(request: Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= 64 else None


def _new_value(request: Request) -> str:
    value = secrets.token_urlsafe(32)
    request.state.new_csrf_value = value
    return value


def _anonymous_token(request: Request, value: str) -> str:
    key = web_of(request).cookie_key
    return hmac.new(key, f"csrf:{value}".encode(), hashlib.sha256).hexdigest()
