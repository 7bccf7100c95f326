"""What a request may do: its credentials in, a Grant out; and the challenge that tells a client
how to authenticate when it may not.

One controller per `auth.mode`: `none` grants everything to everyone; `htpasswd` grants
everything to any user of the file (as Distribution does); `token` grants what a verified token's
`access` claim lists, and nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dockyard.auth.credentials import (
    BasicCredentials,
    BearerToken,
    MalformedCredentials,
    parse_authorization,
)
from dockyard.auth.htpasswd import HtpasswdFile
from dockyard.auth.scopes import Scope
from dockyard.auth.tokens import InvalidToken, TokenVerifier

INVALID_TOKEN = "invalid_token"
INSUFFICIENT_SCOPE = "insufficient_scope"


# Those of the given repository names the caller may pull, in order (the catalogue's filter).
RepositoryFilter = Callable[[list[str]], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class Grant:
    """The access one request's credentials carry."""

    subject: str | None  # who authenticated; None: anonymous
    scopes: tuple[Scope, ...] = ()
    everything: bool = False
    # Set when an index decides visibility: the catalogue lists only what passes it.
    visible: RepositoryFilter | None = None

    def allows(self, resource_type: str, name: str, action: str) -> bool:
        if self.everything:
            return True
        return any(
            scope.type == resource_type and scope.name == name and scope.allows(action)
            for scope in self.scopes
        )

    def covers(self, needed: Scope) -> bool:
        return all(self.allows(needed.type, needed.name, action) for action in needed.actions)


EVERYTHING = Grant(subject=None, everything=True)
NOTHING = Grant(subject=None)


class Unauthenticated(Exception):
    """No credentials, or credentials that cannot be trusted: answer 401 with a challenge."""

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error  # the challenge's `error` attribute (RFC 6750), if any


class AccessController(ABC):
    # True only for `auth: none`: the registry then skips every check (its fast path).
    open = False

    @abstractmethod
    async def grant(self, authorization: str | None) -> Grant:
        """The access the `Authorization` header's credentials carry; Unauthenticated if none."""

    @abstractmethod
    def challenge(self, base_url: str, needed: Scope | None, error: str | None) -> str:
        """The `WWW-Authenticate` value for a 401 about `needed` (None: authentication only)."""

    async def direct_grant(self, authorization: str | None, needed: Scope, address: str) -> Grant:
        """For the v1 endpoints, which clients call without the token dance: the access these
        credentials carry for `needed`. Unless an index decides (IndexAccess), as `grant`."""
        return await self.grant(authorization)


class OpenAccess(AccessController):
    open = True

    async def grant(self, authorization: str | None) -> Grant:
        return EVERYTHING

    def challenge(self, base_url: str, needed: Scope | None, error: str | None) -> str:
        raise AssertionError("an open registry never challenges")


class BasicAccess(AccessController):
    def __init__(self, users: HtpasswdFile, realm: str) -> None:
        self.users = users
        self.realm = realm

    async def grant(self, authorization: str | None) -> Grant:
        credentials = _credentials(authorization, error=None)
        if not isinstance(credentials, BasicCredentials):
            raise Unauthenticated("Basic credentials required")
        if not await self.users.authenticate(credentials.user, credentials.password):
            raise Unauthenticated("invalid username or password")
        return Grant(subject=credentials.user, everything=True)

    def challenge(self, base_url: str, needed: Scope | None, error: str | None) -> str:
        return f"Basic realm={quote(self.realm)}"


class TokenAccess(AccessController):
    def __init__(self, verifier: TokenVerifier, realm: str | None, service: str) -> None:
        self.verifier = verifier
        self.realm = realm  # None: this server's own /token
        self.service = service

    async def grant(self, authorization: str | None) -> Grant:
        credentials = _credentials(authorization, error=INVALID_TOKEN)
        if not isinstance(credentials, BearerToken):
            raise Unauthenticated("a Bearer token from the token service is required")
        try:
            claims = self.verifier.verify(credentials.token)
        except InvalidToken as exc:
            raise Unauthenticated(str(exc), INVALID_TOKEN) from None
        return Grant(subject=claims.subject or None, scopes=claims.access)

    def challenge(self, base_url: str, needed: Scope | None, error: str | None) -> str:
        realm = self.realm or f"{base_url.rstrip('/')}/token"
        parts = [f"realm={quote(realm)}", f"service={quote(self.service)}"]
        if needed is not None:
            parts.append(f"scope={quote(str(needed))}")
        if error is not None:
            parts.append(f"error={quote(error)}")
        return "Bearer " + ",".join(parts)


def quote(value: str) -> str:
    """An RFC 7230 quoted-string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _credentials(authorization: str | None, error: str | None) -> BasicCredentials | BearerToken:
    try:
        credentials = parse_authorization(authorization)
    except MalformedCredentials as exc:
        raise Unauthenticated(str(exc), error) from None
    if credentials is None:
        raise Unauthenticated("authentication required")
    return credentials
