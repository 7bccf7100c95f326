"""`GET /token`: the standalone token server of Docker's token spec.

Served with `auth.mode: token`. It authenticates Basic credentials (or none: anonymous), asks the
Policy which of the requested scopes the caller may have, and signs a token with exactly those.
Any registry that trusts its certificate accepts the tokens: Dockyard itself, or Distribution
with `auth.token.rootcertbundle` pointing at it. The index will later plug its accounts and
permissions in through the same Authenticator and Policy.
"""

from __future__ import annotations

import datetime
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dockyard.auth.access import quote
from dockyard.auth.credentials import BasicCredentials, MalformedCredentials, parse_authorization
from dockyard.auth.policy import Authenticator, Policy
from dockyard.auth.scopes import ScopeError, parse_scopes
from dockyard.auth.tokens import TokenIssuer

log = logging.getLogger("dockyard.auth")

# A client asking for more scopes than this in one token is refused, not served slowly.
MAX_SCOPES = 64


class TokenService:
    def __init__(
        self, issuer: TokenIssuer, service: str, authenticator: Authenticator, policy: Policy
    ) -> None:
        self.issuer = issuer
        self.service = service
        self.authenticator = authenticator
        self.policy = policy

    async def endpoint(self, request: Request) -> Response:
        params = request.query_params
        service = params.get("service", self.service)
        if service != self.service:
            return _error(400, "INVALID_REQUEST", f"this token service signs for {self.service!r}")
        scope_values = params.getlist("scope")
        try:
            requested = parse_scopes(scope_values)
        except ScopeError as exc:
            return _error(400, "INVALID_REQUEST", str(exc))
        if len(requested) > MAX_SCOPES:
            return _error(400, "INVALID_REQUEST", f"at most {MAX_SCOPES} scopes per token")
        try:
            credentials = parse_authorization(request.headers.get("authorization"))
        except MalformedCredentials as exc:
            return self._unauthorized(str(exc))
        subject: str | None = None
        if credentials is not None:
            if not isinstance(credentials, BasicCredentials):
                return self._unauthorized("the token service takes Basic credentials")
            subject = await self.authenticator.authenticate(credentials.user, credentials.password)
            if subject is None:
                return self._unauthorized("invalid username or password")
        granted = await self.policy.granted(subject, requested)
        issued = self.issuer.issue(subject or "", self.service, granted)
        log.info(
            "token for %s: %s", subject or "anonymous", " ".join(map(str, granted)) or "no access"
        )
        issued_at = datetime.datetime.fromtimestamp(issued.issued_at, datetime.UTC)
        body = {
            "token": issued.token,
            "access_token": issued.token,  # the OAuth 2 name, which some clients read instead
            "expires_in": issued.expires_in,
            "issued_at": issued_at.isoformat().replace("+00:00", "Z"),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _unauthorized(self, message: str) -> Response:
        headers = {"WWW-Authenticate": f"Basic realm={quote(self.service)}"}
        return _error(401, "UNAUTHORIZED", message, headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    # The registry's error shape, which Docker's clients read from token servers too.
    body = {"errors": [{"code": code, "message": message}]}
    return JSONResponse(body, status_code=status, headers=headers)
