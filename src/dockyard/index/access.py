"""The index behind the token service: `auth.mode: index`.

IndexAuthenticator and IndexPolicy answer the token endpoint's two questions from the index's
accounts and repository settings; IndexAccess is token access whose grants also carry which
repositories the caller may see, for the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.auth.access import Grant, TokenAccess, Unauthenticated
from dockyard.auth.credentials import (
    BasicCredentials,
    BearerToken,
    MalformedCredentials,
    parse_authorization,
)
from dockyard.auth.login import LoginRefused, TooManyFailures
from dockyard.auth.scopes import CATALOG, Scope
from dockyard.auth.tokens import TokenVerifier
from dockyard.index.hub import Index
from dockyard.index.identity import identity_of, sign_in, signed_in_since
from dockyard.index.repositories import service as repositories


class IndexAuthenticator:
    def __init__(self, index: Index) -> None:
        self.index = index

    async def authenticate(self, user: str, password: str) -> str | None:
        return await sign_in(self.index.database, user, password)

    async def active(self, subject: str, issued_at: float | None = None) -> bool:
        """The account still exists and is enabled, a token's subject names a live token, and
        no password change or disable came after `issued_at`."""
        return await signed_in_since(self.index.database, subject, issued_at)


class IndexPolicy:
    def __init__(self, index: Index) -> None:
        self.index = index

    async def granted(self, subject: str | None, requested: Sequence[Scope]) -> list[Scope]:
        identity = await identity_of(self.index.database, subject)
        names = [s.name for s in requested if s.type == "repository" and s.resource_class is None]
        allowed = await repositories.actions(
            self.index.database, identity, names, self.index.mirrors
        )
        granted = []
        for scope in requested:
            if scope.type == CATALOG.type and scope.name == CATALOG.name:
                # Everyone may ask; the catalogue lists only what the caller may pull.
                granted.append(scope)
            elif scope.type == "repository" and scope.name in allowed:
                cut = scope.restricted_to(allowed[scope.name])
                if cut.actions:
                    granted.append(cut)
        return granted


class IndexAccess(TokenAccess):
    """Token access whose grants know which repositories their subject may pull; on the v1
    endpoints, also a password (Basic) or no credentials at all, decided by the index as the
    token service would have."""

    def __init__(
        self, index: Index, verifier: TokenVerifier, realm: str | None, service: str
    ) -> None:
        super().__init__(verifier, realm, service)
        self.index = index
        self.policy = IndexPolicy(index)

    async def direct_grant(self, authorization: str | None, needed: Scope, address: str) -> Grant:
        try:
            credentials = parse_authorization(authorization)
        except MalformedCredentials as exc:
            raise Unauthenticated(str(exc)) from None
        if isinstance(credentials, BearerToken):
            return await self.grant(authorization)
        subject = None
        if isinstance(credentials, BasicCredentials):
            subject = await self._password(credentials, address)
        return Grant(subject, tuple(await self.policy.granted(subject, [needed])))

    async def _password(self, credentials: BasicCredentials, address: str) -> str:
        logins = self.index.logins
        assert logins is not None  # shared when the token service was made
        try:
            return await logins.password(credentials.user, credentials.password, address)
        except (LoginRefused, TooManyFailures) as exc:
            raise Unauthenticated(str(exc)) from None

    async def grant(self, authorization: str | None) -> Grant:
        grant = await super().grant(authorization)
        subject = grant.subject

        async def visible(names: list[str]) -> list[str]:
            identity = await identity_of(self.index.database, subject)
            return await repositories.readable(self.index.database, identity, names)

        return Grant(subject, grant.scopes, grant.everything, visible)
