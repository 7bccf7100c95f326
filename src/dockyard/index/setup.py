"""The index's part of `auth.mode: index`, for dockyard.auth.factory: the token service's
Authenticator and Policy, the registry's access controller, and the /api routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockyard.auth.login import Logins
from dockyard.auth.tokens import TokenVerifier
from dockyard.config import Settings
from dockyard.index.access import IndexAccess, IndexAuthenticator, IndexPolicy
from dockyard.index.accounts import endpoints as accounts
from dockyard.index.hub import Index
from dockyard.index.organisations import endpoints as organisations
from dockyard.index.repositories import endpoints as repositories
from dockyard.index.search import endpoints as search
from dockyard.index.tokens import endpoints as tokens


@dataclass(frozen=True)
class IndexAuth:
    index: Index
    authenticator: IndexAuthenticator
    policy: IndexPolicy
    routes: tuple[BaseRoute, ...]

    def access(self, verifier: TokenVerifier, realm: str | None, service: str) -> IndexAccess:
        self.index.verifier = verifier  # for the tokens /v1/search receives
        return IndexAccess(self.index, verifier, realm, service)

    def share_logins(self, logins: Logins) -> None:
        """Sign /api callers in through the token service's logins (and their throttle)."""
        self.index.logins = logins


def index_auth(settings: Settings) -> IndexAuth:
    index = Index.from_settings(settings)
    routes = [
        *accounts.routes,
        *organisations.routes,
        *tokens.routes,
        *repositories.routes,
        *search.routes,
    ]
    bound = tuple(Route(r.path, _bind(r.endpoint, index), methods=r.methods) for r in routes)
    return IndexAuth(index, IndexAuthenticator(index), IndexPolicy(index), bound)


def _bind(
    endpoint: Callable[[Request], Awaitable[Response]], index: Index
) -> Callable[[Request], Awaitable[Response]]:
    async def with_index(request: Request) -> Response:
        request.state.index = index
        return await endpoint(request)

    return with_index
