"""The sign-in cookie: a random session id, signed with HMAC-SHA256, naming a server-side
session (dockyard.index.sessions) that a sign-out, a password change, a disable or its expiry
ends. `HttpOnly`, `SameSite=Lax`, and `Secure` when the request came over TLS."""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from dockyard.index.repositories.permissions import Identity
from dockyard.index.sessions import service as sessions
from dockyard.index.sessions.service import Session
from dockyard.kit.compare import same_secret
from dockyard.web.context import web_of

COOKIE = "dockyard_session"
_MAX_COOKIE = 256  # a signed id is 87 characters: anything longer is not ours
_UNREAD = object()


def sign(key: bytes, value: str) -> str:
    mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return f"{value}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign(key: bytes, signed: str | None) -> str | None:
    """The value `signed` carries if its signature is ours; None otherwise."""
    if not signed or len(signed) > _MAX_COOKIE or "." not in signed:
        return None
    value = signed.rsplit(".", 1)[0]
    return value if same_secret(signed, sign(key, value)) else None


async def current(request: Request) -> Session | None:
    """The request's live session, read once per request."""
    cached = getattr(request.state, "session", _UNREAD)
    if cached is not _UNREAD:
        assert cached is None or isinstance(cached, Session)
        return cached
    web = web_of(request)
    session_id = unsign(web.cookie_key, request.cookies.get(COOKIE))
    found = None if session_id is None else await sessions.find(web.index.database, session_id)
    request.state.session = found
    return found


async def begin(request: Request, response: Response, identity: Identity) -> None:
    """Sign the browser in as `identity`: a new session, its cookie on `response`."""
    web = web_of(request)
    session_id = await sessions.start(web.index.database, identity, web.session_lifetime_seconds)
    response.set_cookie(
        COOKIE,
        sign(web.cookie_key, session_id),
        max_age=web.session_lifetime_seconds,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


async def end(request: Request, response: Response) -> None:
    """Sign out: the session row goes, and the cookie with it."""
    web = web_of(request)
    session_id = unsign(web.cookie_key, request.cookies.get(COOKIE))
    if session_id is not None:
        await sessions.end(web.index.database, session_id)
    response.delete_cookie(COOKIE, path="/", secure=request.url.scheme == "https", httponly=True)
