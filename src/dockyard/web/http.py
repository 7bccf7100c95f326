"""What every page shares: the `page` decorator (session, CSRF on POST, HTML errors, security
headers), forms, rendering, redirects and who is signed in."""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dockyard.index.accounts.service import User
from dockyard.index.errors import IndexProblem, Invalid, TooManyFailures, deleted_meanwhile
from dockyard.index.http import named_without_nul
from dockyard.index.repositories.permissions import Identity
from dockyard.kit import unavailable
from dockyard.kit.bodies import BodyTooLarge, read_limited
from dockyard.kit.numbers import parse_decimal
from dockyard.registry.errors import RegistryError
from dockyard.web import csrf, session
from dockyard.web.context import web_of

log = logging.getLogger("dockyard.web")

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_FORM = 64 * 1024  # a full description (25,000 characters) fits, percent-encoded too
MAX_FIELDS = 32
MAX_PAGE = 100_000

# No inline script or style, nothing from another host, no framing (docs/web.md).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInNeeded(Exception):
    """The page is for signed-in people: the browser goes to the sign-in form."""


def page(endpoint: Endpoint) -> Endpoint:
    """A web page: reads the session, refuses a POST without its CSRF token (403), answers the
    index's errors, and the server's own failures, as HTML pages with their status, and adds
    the security headers."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            named_without_nul(request)
            if request.method == "POST":
                fields = await form(request)
                await csrf.check(request, fields.get(csrf.FIELD))
            response = await endpoint(request)
        except csrf.CsrfRefused as exc:
            response = await error_page(request, 403, str(exc))
        except SignInNeeded:
            target = request.url.path if request.method == "GET" else "/"
            response = redirect(f"/signin?next={urllib.parse.quote(target)}")
        except IndexProblem as exc:
            response = await error_page(request, exc.status, exc.message)
            if isinstance(exc, TooManyFailures):
                response.headers["Retry-After"] = str(exc.retry_after)
        except RegistryError as exc:  # the registry's refusal (an immutable tag), as a page
            response = await error_page(request, exc.status, exc.message)
        except (ClientDisconnect, HTTPException):
            raise  # the application's handlers answer these, as for every route
        except IntegrityError as exc:
            gone = deleted_meanwhile(exc)
            if gone is None:
                response = failure_page(request, exc)
            else:
                response = await error_page(request, gone.status, gone.message)
        except Exception as exc:
            response = failure_page(request, exc)
        response.headers.update(SECURITY_HEADERS)
        csrf.set_cookie(request, response)
        return response

    return answer


async def render(request: Request, template: str, status: int = 200, **values: Any) -> Response:
    web = web_of(request)
    found = await session.current(request)
    context = {
        "request": request,
        "viewer": None if found is None else found.identity,
        "csrf_token": await csrf.token(request),
        "signup_enabled": web.index.signup_enabled,
        "query": request.query_params.get("q", "") if request.url.path == "/search" else "",
        **values,
    }
    return HTMLResponse(web.templates.render(template, context), status_code=status)


async def error_page(request: Request, status: int, message: str) -> Response:
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    title = titles.get(status, "Something went wrong")
    return await render(request, "error.html", status, title=title, message=message)


def failure_page(request: Request, exc: Exception) -> Response:
    """The page for a request the server failed: 503 with `Retry-After` while a dependency is
    away (noted once per interval, as the API does), else 500 with the traceback logged. Made
    without the session, which is kept in the database that may be the one away: the page
    shows no one signed in."""
    where = f"{request.method} {request.url.path}"
    dependency = unavailable.away(exc)
    if dependency is None:
        log.error("unhandled error on %s", where, exc_info=exc)
        status, title = 500, "Something went wrong"
        message = "The server failed to make this page. The failure is in its log."
    else:
        unavailable.note(dependency, exc, where)
        status, title = 503, "Unavailable"
        message = f"The {dependency} is unavailable. Try again shortly."
    web = web_of(request)
    context = {
        "request": request,
        "viewer": None,
        "csrf_token": "",
        "signup_enabled": web.index.signup_enabled,
        "query": "",
        "title": title,
        "message": message,
    }
    response = HTMLResponse(web.templates.render("error.html", context), status_code=status)
    if dependency is not None:
        response.headers["Retry-After"] = str(unavailable.RETRY_AFTER_SECONDS)
    return response


def redirect(location: str) -> Response:
    """See Other: after a POST, the browser GETs the page the change shows on."""
    return RedirectResponse(location, status_code=303)


async def viewer(request: Request) -> Identity | None:
    found = await session.current(request)
    return None if found is None else found.identity


async def signed_in(request: Request) -> Identity:
    found = await viewer(request)
    if found is None:
        raise SignInNeeded()
    return found


def as_user(identity: Identity) -> User:
    """The account as the services that take a User want it."""
    return User(identity.user_id, identity.username, "", identity.is_admin)


async def form(request: Request) -> dict[str, str]:
    """The POST's url-encoded fields (the first of each name), read once."""
    cached: dict[str, str] | None = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    try:
        raw = await read_limited(request, MAX_FORM)
        text = raw.decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except BodyTooLarge:
        raise Invalid(f"the form is larger than {MAX_FORM} bytes") from None
    except (UnicodeError, ValueError):
        raise Invalid("the form is not url-encoded UTF-8 text") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if "\0" in value or "\0" in name:
            raise Invalid("the form holds a NUL character")
        fields.setdefault(name, value)
    request.state.form = fields
    return fields


def number(request: Request, name: str, default: int = 1, ceiling: int = MAX_PAGE) -> int:
    """A whole number from the query string (a page); 400 when it is not one."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    value = parse_decimal(text, ceiling + 1)
    if value is None or not 1 <= value <= ceiling:
        raise Invalid(f"{name} must be a whole number from 1 to {ceiling}")
    return value


def choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name) or default
    if value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}")
    return value
