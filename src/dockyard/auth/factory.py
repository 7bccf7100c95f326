"""Build the access controller (and, in token mode, the token service) from the settings.

Files that cannot be used (htpasswd, keys, certificate bundle) stop start-up with a ConfigError
naming the key, before the server listens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

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
from dockyard.auth.policy import AuthenticatedUsersMayDoAnything, HtpasswdAuthenticator
from dockyard.auth.tokens import TokenIssuer, TokenVerifier
from dockyard.config import ConfigError, Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Auth:
    access: AccessController
    token_service: TokenService | None = None  # served at /token in token mode


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
    service = TokenService(
        TokenIssuer(key, token.issuer, token.lifetime_seconds),
        token.service,
        HtpasswdAuthenticator(users),
        AuthenticatedUsersMayDoAnything(),
    )
    return Auth(TokenAccess(verifier, token.realm, token.service), service)


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
