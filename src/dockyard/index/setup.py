"""The index's part of `auth.mode: index`, for dockyard.auth.factory: the token service's
Authenticator and Policy, the registry's access controller, and the /api routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockyard.auth.login import Logins
from dockyard.auth.tokens import TokenVerifier
from dockyard.config import QuotaSettings, ReplicationSettings, Settings, WebhookSettings
from dockyard.index.access import IndexAccess, IndexAuthenticator, IndexPolicy
from dockyard.index.accounts import endpoints as accounts
from dockyard.index.catalogue import endpoints as catalogue
from dockyard.index.catalogue import inbox
from dockyard.index.catalogue.content import RegistryContent
from dockyard.index.catalogue.receiver import LOCAL_CATALOGUE, CatalogueReceiver
from dockyard.index.community import endpoints as community
from dockyard.index.hub import Index
from dockyard.index.openapi import openapi_route
from dockyard.index.organisations import endpoints as organisations
from dockyard.index.policies import endpoints as policies
from dockyard.index.replication import endpoints as replication
from dockyard.index.repositories import endpoints as repositories
from dockyard.index.repositories import transfer
from dockyard.index.search import endpoints as search
from dockyard.index.tokens import endpoints as tokens
from dockyard.index.webhooks import endpoints as webhooks
from dockyard.index.webhooks.receiver import WebhookReceiver
from dockyard.registry.events.local import LocalReceiver
from dockyard.registry.state import Registry


@dataclass(frozen=True)
class IndexAuth:
    index: Index
    authenticator: IndexAuthenticator
    policy: IndexPolicy
    routes: tuple[BaseRoute, ...]
    # The catalogue of other registries' events (/api/events), when index.events.secret is set.
    remote: LocalReceiver | None = None
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    def access(self, verifier: TokenVerifier, realm: str | None, service: str) -> IndexAccess:
        self.index.verifier = verifier  # for the tokens /v1/search receives
        return IndexAccess(self.index, verifier, realm, service)

    def event_receivers(self, registry: Registry) -> list[LocalReceiver]:
        """The catalogue, fed by this process's registry (and by other registries' events);
        then the webhooks, fed by this process's registry."""
        content = RegistryContent(registry)
        database, visibility = self.index.database, self.index.default_visibility
        counts, mirrors = self.index.pull_counts, self.index.mirrors
        local = CatalogueReceiver(LOCAL_CATALOGUE, database, content, visibility, counts, mirrors)
        hooks = WebhookReceiver(database, self.webhooks, visibility)
        return [local, hooks] if self.remote is None else [local, self.remote, hooks]

    def share_logins(self, logins: Logins) -> None:
        """Sign /api callers in through the token service's logins (and their throttle)."""
        self.index.logins = logins


def api_routes(settings: Settings) -> list[BaseRoute]:
    """The /api (and /v1/search) routes, unbound, in the order they match; the last one serves
    their OpenAPI document."""
    routes: list[BaseRoute] = [
        *accounts.routes,
        *organisations.routes,
        *tokens.routes,
        *catalogue.routes,
        *webhooks.routes,  # before the greedy /api/repositories/{name:path}
        *community.routes,  # before the greedy /api/repositories/{name:path}
        *policies.routes,  # before the greedy /api/repositories/{name:path}
        *replication.routes,
        *transfer.routes,
        *repositories.routes,
        *search.routes,
        *inbox.routes(settings.index.events),
    ]
    return [*routes, openapi_route(routes)]


def index_auth(settings: Settings) -> IndexAuth:
    index = Index.from_settings(settings)
    routes = [r for r in api_routes(settings) if isinstance(r, Route)]
    hooks, quotas = settings.index.webhooks, settings.registry.quotas
    replicas = settings.replication
    bound = tuple(
        Route(r.path, _bind(r.endpoint, index, hooks, quotas, replicas), methods=r.methods)
        for r in routes
    )
    remote = None
    if settings.index.events.secret is not None:
        remote = inbox.remote_catalogue(settings, index.database, index.default_visibility)
    return IndexAuth(index, IndexAuthenticator(index), IndexPolicy(index), bound, remote, hooks)


def _bind(
    endpoint: Callable[[Request], Awaitable[Response]],
    index: Index,
    hooks: WebhookSettings,
    quotas: QuotaSettings,
    replication: ReplicationSettings,
) -> Callable[[Request], Awaitable[Response]]:
    async def with_index(request: Request) -> Response:
        request.state.index = index
        request.state.webhooks = hooks  # the allow-list a hook's URL is checked against
        request.state.quotas = quotas  # the default quotas the /api shows
        request.state.replication = replication  # the rules /api/replication lists
        return await endpoint(request)

    return with_index
