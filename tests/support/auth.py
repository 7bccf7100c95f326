"""Credentials for the auth tests: htpasswd files made by Apache's own tool, tokens minted by
Dockyard's token code from a key the test configured, and the headers that carry them."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.auth.keys import SigningKey, load_signing_key
from dockyard.auth.scopes import Scope
from dockyard.auth.tokens import TokenIssuer


def htpasswd(path: Path, user: str, password: str) -> None:
    """Add or change a user with `htpasswd -B` (bcrypt), creating the file when missing."""
    if shutil.which("htpasswd") is None:
        pytest.fail("htpasswd is not installed (make test installs apache2-utils)")
    flags = "-Bb" if path.exists() else "-Bbc"
    subprocess.run(["htpasswd", flags, str(path), user, password], check=True, capture_output=True)


def basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Minter:
    """Tokens signed with a key file the server under test was configured with."""

    def __init__(self, key_file: Path, issuer: str, service: str) -> None:
        self.key_file = key_file
        self.key: SigningKey = load_signing_key(key_file)
        self.issuer = TokenIssuer(self.key, issuer, 300)
        self.service = service

    def token(self, *scopes: str, subject: str = "tester", now: int | None = None) -> str:
        access = [Scope.parse(scope) for scope in scopes]
        return self.issuer.issue(subject, self.service, access, now=now).token

    def claiming(self, issuer: str, service: str) -> Minter:
        """The same key, writing another `iss` and `aud` into its tokens."""
        return Minter(self.key_file, issuer, service)

    def headers(self, *scopes: str) -> dict[str, str]:
        return bearer(self.token(*scopes))
