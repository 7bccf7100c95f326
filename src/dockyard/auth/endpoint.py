"""`/token`: the standalone token server of Docker's token spec.

Served with `auth.mode: token`. `GET` (token.md) takes Basic credentials or none (anonymous);
`POST` (oauth.md) takes an OAuth2 form with `grant_type=password` or `refresh_token`. Either way
the Policy cuts the requested scopes down to what the caller may do, and the token carries exactly
that: never more than asked, and no access (not an error) where the caller may do nothing. Any
registry that trusts the certificate accepts the tokens: Dockyard itself, or Distribution with
`auth.token.rootcertbundle` pointing at it. The index plugs its accounts and permissions in
through the same Authenticator and Policy.

Errors: `GET` answers the registry's `{"errors": [...]}` (which Docker's clients read from token
servers); `POST` answers RFC 6749's `{"error", "error_description"}`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.access import quote
from dockyard.auth.credentials import BasicCredentials, MalformedCredentials, parse_authorization
from dockyard.auth.forms import Form, FormError, read_form
from dockyard.auth.login import LoginRefused, Logins, TooManyFailures
from dockyard.auth.policy import Policy
from dockyard.auth.refresh import RefreshTokens
from dockyard.auth.scopes import ANY_ACTION, Scope, ScopeError, parse_scopes
from dockyard.auth.tokens import TokenIssuer
from dockyard.kit.errors import ErrorCode, error_response
from dockyard.ratelimits.accounts import RateLimited, check_account

log = logging.getLogger("dockyard.auth")

# A client asking for more scopes than this in one token is refused, not served slowly.
MAX_SCOPES = 64
GRANT_TYPES = ("password", "refresh_token")


class BadRequest(Exception):
    """A request the token service cannot read; the message is safe to send back."""


class TokenService:
    def __init__(
        self,
        issuer: TokenIssuer,
        service: str,
        logins: Logins,
        refresh: RefreshTokens,
        policy: Policy,
    ) -> None:
        self.issuer = issuer
        self.service = service
        self.logins = logins
        self.refresh = refresh
        self.policy = policy

    async def endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.post(request)
        return await self.get(request)

    # --- GET: token.md -----------------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        params = request.query_params
        try:
            self._check_service(params.get("service", self.service))
            requested = _scopes(params.getlist("scope"))
        except BadRequest as exc:
            return error_response(ErrorCode.INVALID_REQUEST, str(exc))
        try:
            credentials = parse_authorization(request.headers.get("authorization"))
        except MalformedCredentials as exc:
            return self._unauthorized(str(exc))
        subject: str | None = None
        if credentials is not None:
            if not isinstance(credentials, BasicCredentials):
                return self._unauthorized("the token service takes Basic credentials")
            account = params.get("account")
            if account and account != credentials.user:
                return error_response(
                    ErrorCode.INVALID_REQUEST, "account does not match the credentials"
                )
            try:
                subject = await self.logins.password(
                    credentials.user, credentials.password, _address(request)
                )
                await check_account(request.scope, subject)
            except TooManyFailures as exc:
                return error_response(ErrorCode.TOOMANYREQUESTS, str(exc), headers=_retry(exc))
            except LoginRefused as exc:
                return self._unauthorized(str(exc))
        refresh = None
        if subject is not None and params.get("offline_token", "").lower() == "true":
            refresh = self.refresh.issue(subject, params.get("client_id"))
        return await self._token(subject, requested, refresh)

    def _unauthorized(self, message: str) -> Response:
        headers = {"WWW-Authenticate": f"Basic realm={quote(self.service)}"}
        return error_response(ErrorCode.UNAUTHORIZED, message, headers=headers)

    # --- POST: oauth.md ----------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            grant_type = _required(form, "grant_type")
            if grant_type not in GRANT_TYPES:
                return _oauth_error(
                    400, "unsupported_grant_type", f"grant_type must be one of {GRANT_TYPES}"
                )
            self._check_service(_required(form, "service"))
            client_id = _required(form, "client_id")
            requested = _scopes(form.getlist("scope"))
            secret = _required(form, "password" if grant_type == "password" else "refresh_token")
            user = _required(form, "username") if grant_type == "password" else None
        except (FormError, BadRequest) as exc:
            return _oauth_error(400, "invalid_request", str(exc))
        address = _address(request)
        try:
            if user is not None:
                subject = await self.logins.password(user, secret, address)
            else:
                subject = await self.logins.refresh_token(secret, address)
            await check_account(request.scope, subject)
        except (TooManyFailures, RateLimited) as exc:
            return _oauth_error(429, "too_many_requests", str(exc), _retry(exc))
        except LoginRefused as exc:
            return _oauth_error(401, "invalid_grant", str(exc))
        refresh = None
        if form.get("access_type") == "offline":
            # A refresh grant gets the same refresh token back (oauth.md), not a longer-lived one.
            refresh = self.refresh.issue(subject, client_id) if user is not None else secret
        return await self._token(subject, requested, refresh)

    # --- both ----------------------------------------------------------------------------------

    def _check_service(self, service: str) -> None:
        if service != self.service:
            raise BadRequest(
                f"unknown service {service!r}: this token service signs for {self.service!r}"
            )

    async def _token(
        self, subject: str | None, requested: list[Scope], refresh: str | None
    ) -> Response:
        granted = bounded(await self.policy.granted(subject, requested), requested)
        issued = self.issuer.issue(subject or "", self.service, granted)
        scope = " ".join(map(str, granted))
        log.info("token for %s: %s", subject or "anonymous", scope or "no access")
        issued_at = datetime.datetime.fromtimestamp(issued.issued_at, datetime.UTC)
        body: dict[str, Any] = {
            "token": issued.token,
            "access_token": issued.token,  # the OAuth 2 name, which some clients read instead
            "expires_in": issued.expires_in,
            "issued_at": issued_at.isoformat().replace("+00:00", "Z"),
            "scope": scope,
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def bounded(granted: Sequence[Scope], requested: Sequence[Scope]) -> list[Scope]:
    """What the policy granted, cut down to what was asked for (whatever the policy returned);
    resources left with no action are dropped."""
    result = []
    for scope in granted:
        asked = {
            action
            for wanted in requested
            if (wanted.type, wanted.name, wanted.resource_class)
            == (scope.type, scope.name, scope.resource_class)
            for action in wanted.actions
        }
        if ANY_ACTION in asked:
            kept = scope
        elif ANY_ACTION in scope.actions:
            kept = Scope(scope.type, scope.name, tuple(sorted(asked)), scope.resource_class)
        else:
            kept = scope.restricted_to(asked)
        if kept.actions:
            result.append(kept)
    return result


def _scopes(values: list[str]) -> list[Scope]:
    try:
        requested = parse_scopes(values)
    except ScopeError as exc:
        raise BadRequest(str(exc)) from None
    if len(requested) > MAX_SCOPES:
        raise BadRequest(f"at most {MAX_SCOPES} scopes per token")
    return requested


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if value is None:
        raise BadRequest(f"{name} is required")
    return value


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": error, "error_description": description}
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _retry(exc: TooManyFailures | RateLimited) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)}
