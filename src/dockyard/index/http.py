"""What every /api endpoint shares: the caller from Basic credentials, JSON bodies, and errors
as `{"errors": [{"code", "message"}]}` (the registry's shape) with a 4xx status, never a 500."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from dockyard.auth import login
from dockyard.auth.credentials import BasicCredentials, MalformedCredentials, parse_authorization
from dockyard.auth.login import LoginRefused
from dockyard.index.accounts.service import User
from dockyard.index.errors import (
    BadPagination,
    Forbidden,
    IndexProblem,
    Invalid,
    NotFound,
    TooLarge,
    TooManyFailures,
    Unauthorized,
    deleted_meanwhile,
)
from dockyard.index.hub import Index
from dockyard.index.identity import account_of, identity_of, sign_in
from dockyard.index.repositories.permissions import Identity
from dockyard.index.tokens.service import SEPARATOR
from dockyard.kit.bodies import BodyTooLarge, read_limited
from dockyard.kit.errors import error_response
from dockyard.kit.numbers import parse_decimal
from dockyard.ratelimits.accounts import check_account

M = TypeVar("M", bound=BaseModel)
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Caller:
    user: User
    identity: Identity
    by_token: bool  # signed in with an access token or as a robot, not with the password
    robot: bool = False  # signed in as `owner+name`: a machine, not a person

    def may_change(self) -> None:
        """Settings, collaborators, members, teams, webhooks, tokens and accounts change only
        for a person signed in with the password: an access token or a robot, whatever its
        scopes, moves images, never who may move them (a leaked CI secret cannot widen
        itself)."""
        if self.by_token:
            raise Forbidden(
                "an access token or a robot may not change settings: sign in with the password"
            )

    def needs_password(self) -> None:
        if self.by_token:
            raise Forbidden("sign in with the password to manage access tokens")

    def may_post(self) -> None:
        """Stars and comments are the account's own activity, not settings: the password, or a
        personal token with the `write` scope (never a robot, which is not a person)."""
        cap = self.identity.cap
        if self.by_token and (self.robot or cap is None or "push" not in cap):
            raise Forbidden("this token may not post: use the password or a token with write")


def index_of(request: Request) -> Index:
    index: Index = request.state.index
    return index


def api(endpoint: Endpoint) -> Endpoint:
    """Answer the index's errors and malformed bodies as JSON 4xx."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            named_without_nul(request)
            return await endpoint(request)
        except IndexProblem as exc:
            headers = {}
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="dockyard"'
            if isinstance(exc, TooManyFailures):
                headers["Retry-After"] = str(exc.retry_after)
            return error_response(exc.code, exc.message, status=exc.status, headers=headers)
        except IntegrityError as exc:
            gone = deleted_meanwhile(exc)
            if gone is None:
                raise
            return error_response(gone.code, gone.message, status=gone.status)

    return answer


def named_without_nul(request: Request) -> None:
    """No account, organisation, team or repository is named with a NUL (nor may one reach
    PostgreSQL, which refuses it in text: a 500): such a path names nothing."""
    if any("\x00" in value for value in request.path_params.values() if isinstance(value, str)):
        raise NotFound("nothing is named with a NUL character")


async def caller(request: Request, required: bool = True) -> Caller | None:
    """The signed-in caller; None (only when not `required`) for an anonymous request."""
    credentials = _basic_credentials(request, required)
    if credentials is None:
        return None
    index = index_of(request)
    subject = await _sign_in(request, index, credentials)
    identity = None if subject is None else await identity_of(index.database, subject)
    if identity is None:
        raise Unauthorized("invalid username or password")
    await check_account(request.scope, identity.username)
    user = User(identity.user_id, identity.username, "", identity.is_admin)
    robot = SEPARATOR in credentials.user
    return Caller(user, identity, SEPARATOR in (subject or ""), robot)


async def caller_subject(request: Request) -> str | None:
    """`caller`'s sign-in without its account lookup, for a read that looks the subject up in
    its own transaction (search: on PostgreSQL, one transaction fewer); None: anonymous."""
    credentials = _basic_credentials(request, required=False)
    if credentials is None:
        return None
    subject = await _sign_in(request, index_of(request), credentials)
    if subject is None:
        raise Unauthorized("invalid username or password")
    await check_account(request.scope, account_of(subject))
    return subject


def _basic_credentials(request: Request, required: bool) -> BasicCredentials | None:
    try:
        credentials = parse_authorization(request.headers.get("authorization"))
    except MalformedCredentials as exc:
        raise Unauthorized(str(exc)) from None
    if credentials is None:
        if required:
            raise Unauthorized("sign in with Basic credentials (password or access token)")
        return None
    if not isinstance(credentials, BasicCredentials):
        raise Unauthorized("the /api takes Basic credentials (password or access token)")
    return credentials


async def _sign_in(request: Request, index: Index, credentials: BasicCredentials) -> str | None:
    if index.logins is None:
        return await sign_in(index.database, credentials.user, credentials.password)
    address = request.client.host if request.client is not None else "unknown"
    try:
        return await index.logins.password(credentials.user, credentials.password, address)
    except LoginRefused:
        return None
    except login.TooManyFailures as exc:
        raise TooManyFailures(str(exc), exc.retry_after) from None


async def signed_in(request: Request) -> Caller:
    found = await caller(request)
    assert found is not None
    return found


async def body(request: Request, model: type[M], limit: int = MAX_BODY) -> M:
    try:
        raw = await read_limited(request, limit)
    except BodyTooLarge as exc:
        raise TooLarge(f"the request body is {exc}") from None
    document = _json(raw or b"{}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise Invalid(problems) from None


def _json(raw: bytes) -> Any:
    """The body as JSON text that the database can store: UTF-8 without lone surrogates."""
    try:
        document = json.loads(raw.decode("utf-8"))
        # "\ud800" and "\u0000" are valid JSON but refused by database columns: refused here.
        text = json.dumps(document, ensure_ascii=False)
        text.encode("utf-8")
        if "\\u0000" in text:
            raise Invalid("request body holds a NUL character")
    except UnicodeError:
        raise Invalid("request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise Invalid(f"request body is not JSON: {exc.msg}") from None
    except RecursionError:
        raise Invalid("request body is JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise Invalid(f"request body is not usable JSON: {exc}") from None
    return document


def no_content() -> Response:
    return Response(status_code=204)


# Pages past this one are refused: no listing has that many.
MAX_PAGE = 10_000_000


def number_param(text: str | None, name: str, ceiling: int, default: int) -> int:
    """A page number or size from 1 to `ceiling`; absent or empty: `default`."""
    if text is None or text == "":
        return default
    number = parse_decimal(text, ceiling + 1)
    if number is None or not 1 <= number <= ceiling:
        raise BadPagination(f"{name} must be a whole number from 1 to {ceiling}, not {text[:40]!r}")
    return number
