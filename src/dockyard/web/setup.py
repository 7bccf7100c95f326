"""The web UI's routes, bound to this process's index and registry: served after /v2, /v1,
/token and /api (dockyard.registry.app), so no page can shadow them."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockyard.auth.keys import SigningKey
from dockyard.config import Settings
from dockyard.index.hub import Index
from dockyard.registry.state import Registry
from dockyard.web.context import Web
from dockyard.web.pages import (
    account,
    admin,
    explore,
    namespace,
    organisation_settings,
    repository,
    repository_settings,
    search,
    stars,
    tag,
    tokens,
    webhooks,
)
from dockyard.web.static import StaticFiles
from dockyard.web.templates import Templates

# In the order they match: a tag's page, the settings and the repository's forms before the
# repository's greedy {name:path}.
PAGES = (
    explore,
    search,
    tag,
    repository_settings,
    webhooks,
    repository,
    namespace,
    organisation_settings,
    account,
    tokens,
    stars,
    admin,
)


def page_routes() -> list[Route]:
    """Every page route, unbound (the fuzz suite lists them from here too)."""
    return [route for module in PAGES for route in module.routes]


def web_routes(
    settings: Settings, index: Index, registry: Registry, key: SigningKey
) -> list[BaseRoute]:
    static = StaticFiles()
    web = Web(
        index,
        registry,
        Templates(static.url),
        cookie_key(key),
        settings.index.web.session_lifetime_seconds,
        settings.index.webhooks,
        tuple(settings.notifications.endpoints),
        settings.registry.quotas,
    )
    bound: list[BaseRoute] = [
        Route(r.path, _bind(r.endpoint, web), methods=r.methods, name=r.name) for r in page_routes()
    ]
    return [static.route(), *bound]


def cookie_key(key: SigningKey) -> bytes:
    """Derived from the token signing key, which every worker and node already shares: a
    cookie signed by one is good on all, and no other secret needs configuring."""
    der = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return hashlib.sha256(b"dockyard web cookies\0" + der).digest()


def _bind(
    endpoint: Callable[[Request], Awaitable[Response]], web: Web
) -> Callable[[Request], Awaitable[Response]]:
    async def with_web(request: Request) -> Response:
        request.state.web = web
        return await endpoint(request)

    return with_web
