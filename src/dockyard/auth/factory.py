"""Build the access controller (and, in token mode, the token service) from the settings.

Files that cannot be used (htpasswd, keys, certificate bundle) stop start-up with a ConfigError
naming the key, before the server listens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from starlette.routing import BaseRoute

from dockyard.auth.access import AccessController, BasicAccess, OpenAccess, TokenAccess
from dockyard.auth.endpoint import TokenService
from dockyard.auth.htpasswd import HtpasswdFile
from dockyard.auth.keys import (
    KeyFileError,
    SigningKey,
    load_or_generate_signing_key,
    load_signing_key,
    load_trusted_keys,
)
from dockyard.auth.login import Logins
from dockyard.auth.policy import Authenticator, HtpasswdAuthenticator, OwnNamespacePolicy, Policy
from dockyard.auth.refresh import RefreshTokens
from dockyard.auth.throttle import LoginThrottle
from dockyard.auth.tokens import TokenIssuer, TokenVerifier
from dockyard.config import ConfigError, Settings
from dockyard.ratelimits.storage import shared_storage

if TYPE_CHECKING:  # the registry builds the auth: these are only what it hands back
    from dockyard.index.hub import Index
    from dockyard.registry.events.local import LocalReceiver
    from dockyard.registry.state import Registry

T = TypeVar("T")


@dataclass(frozen=True)
class Auth:
    access: AccessController
    token_service: TokenService | None = None  # served at /token in token and index modes
    routes: tuple[BaseRoute, ...] = ()  # more to serve: the index's /api in index mode
    close: Callable[[], None] = lambda: None  # at shutdown: the index's database connections
    # The receivers of this registry's events in the process: the index's catalogue.
    event_receivers: Callable[[Registry], Sequence[LocalReceiver]] = lambda _registry: ()
    # Served after all the others: the web UI's pages at / in index mode (dockyard.web).
    pages: Callable[[Registry], Sequence[BaseRoute]] = lambda _registry: ()


def create_auth(settings: Settings) -> Auth:
    auth = settings.auth
    if auth.mode == "none":
        return Auth(OpenAccess())
    users = _htpasswd(auth.htpasswd.path) if auth.htpasswd.path is not None else None
    if auth.mode == "htpasswd":
        assert users is not None  # the settings require the path in this mode
        return Auth(BasicAccess(users, auth.htpasswd.realm))
    token = auth.token
    key = signing_key(settings)
    trusted = [key.public_key]
    bundle = token.rootcertbundle
    if bundle is not None:
        trusted += _keys("auth.token.rootcertbundle", lambda: load_trusted_keys(bundle))
    verifier = TokenVerifier(trusted, issuer=token.issuer, audience=token.service)
    if auth.mode == "index":
        # Imported here: a registry without an index never loads it (the index uses auth, not
        # the other way round).
        from dockyard.index.setup import index_auth

        index = index_auth(settings)
        service = token_service(settings, key, index.authenticator, index.policy)
        index.share_logins(service.logins)
        access = index.access(verifier, token.realm, token.service)
        return Auth(
            access,
            service,
            index.routes,
            index.index.close,
            index.event_receivers,
            _pages(settings, index.index, key),
        )
    service = token_service(settings, key, HtpasswdAuthenticator(users), OwnNamespacePolicy())
    return Auth(TokenAccess(verifier, token.realm, token.service), service)


def _pages(
    settings: Settings, index: Index, key: SigningKey
) -> Callable[[Registry], Sequence[BaseRoute]]:
    """The web UI over the index and the process's registry (none when switched off)."""

    def routes(registry: Registry) -> Sequence[BaseRoute]:
        if not settings.index.web.enabled:
            return ()
        from dockyard.web.setup import web_routes  # the UI uses the index, as the index auth

        return web_routes(settings, index, registry, key)

    return routes


def token_service(
    settings: Settings, key: SigningKey, authenticator: Authenticator, policy: Policy
) -> TokenService:
    """The token server over an Authenticator and a Policy (the htpasswd stand-in or the
    index's)."""
    token, throttle = settings.auth.token, settings.auth.throttle
    refresh = RefreshTokens(key, token.issuer, token.service, token.refresh_lifetime_seconds)
    limits = LoginThrottle(
        shared_storage(settings),
        throttle.max_failures,
        throttle.max_failures_per_address,
        throttle.window_seconds,
    )
    return TokenService(
        TokenIssuer(key, token.issuer, token.lifetime_seconds),
        token.service,
        Logins(authenticator, refresh, limits),
        refresh,
        policy,
    )


def signing_key(settings: Settings) -> SigningKey:
    """The configured key, or the one generated under `<data_dir>/auth` (made on first use)."""
    configured = settings.auth.token.signing_key
    if configured is not None:
        return _keys("auth.token.signing_key", lambda: load_signing_key(configured))
    directory = settings.data_dir / "auth"
    return _keys(
        "auth.token.signing_key",
        lambda: load_or_generate_signing_key(directory, settings.auth.token.issuer),
    )


def _htpasswd(path: Path) -> HtpasswdFile:
    if not path.is_file():
        raise ConfigError(f"auth.htpasswd.path: {path} is not a readable file")
    users = HtpasswdFile(path)
    users.users()  # read once now, so a warning about its entries comes at start-up
    return users


def _keys(key: str, load: Callable[[], T]) -> T:
    try:
        return load()
    except KeyFileError as exc:
        raise ConfigError(f"{key}: {exc}") from None
