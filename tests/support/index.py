"""A Dockyard server in `auth.mode: index`, and clients that sign in the way docker does:
Basic credentials at the server's own /token, then the token on /v2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.auth import bearer
from tests.support.postgres import backend_env
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.waiting import eventually

ADMIN_PASSWORD = "admin-password-1"
SERVICE = "dockyard"
Credentials = tuple[str, str] | None  # None: anonymous


@dataclass
class IndexServer:
    server: DockyardServer

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, credentials: Credentials = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, auth=credentials)

    def sign_up(self, *accounts: tuple[str, str]) -> None:
        """Accounts made as their users sign up (anonymously: open on these servers), each
        `(username, password)`."""
        with self.api() as api:
            for user, password in accounts:
                body = {"username": user, "email": f"{user}@example.com", "password": password}
                created = api.post("/api/users", json=body)
                assert created.status_code == 201, created.text

    def token(self, credentials: Credentials, *scopes: str) -> str:
        params: dict[str, str | list[str]] = {"service": SERVICE, "scope": list(scopes)}
        response = httpx.get(f"{self.url}/token", params=params, auth=credentials, timeout=30)
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def catalogued(self, name: str) -> dict[str, Any]:
        """The repository as /api shows it to the admin, once the catalogue applied its first
        push (registry events reach the index a moment after the push answered)."""

        def shown() -> dict[str, Any] | None:
            with self.api(("admin", ADMIN_PASSWORD)) as api:
                response = api.get(f"/api/repositories/{name}")
            found: dict[str, Any] | None = response.json() if response.status_code == 200 else None
            return found

        return eventually(shown, what=f"{name} in the catalogue")

    def tagged(self, name: str, tag: str) -> None:
        """Once the catalogue applied the push of `name:tag`: the last of a push's events (a
        webhook made after it is not called for that push)."""

        def shown() -> bool:
            with self.api(("admin", ADMIN_PASSWORD)) as api:
                response = api.get(f"/api/repositories/{name}/tags", params={"per_page": 100})
            found = response.json()["results"] if response.status_code == 200 else []
            return any(row["name"] == tag for row in found)

        eventually(shown, what=f"{name}:{tag} in the catalogue")

    def registry(self, credentials: Credentials, *scopes: str) -> httpx.Client:
        """A /v2 client carrying a token for `scopes`, as the token service grants them."""
        headers = bearer(self.token(credentials, *scopes))
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)


@contextmanager
def index_server(data: Path, env: dict[str, str] | None = None) -> Iterator[IndexServer]:
    with ExitStack() as stack:
        settings = {
            "DOCKYARD_AUTH__MODE": "index",
            "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **(env or {}),
        }
        yield IndexServer(stack.enter_context(dockyard_server(data, env=settings)))


@contextmanager
def index_on_backend(
    backend: str,
    request: pytest.FixtureRequest,
    tmp: pytest.TempPathFactory,
    stem: str,
    env: dict[str, str] | None = None,
) -> Iterator[IndexServer]:
    """An index-mode server whose metadata is on `backend` (the `database_backend` fixture's:
    SQLite, or a new database of the session's PostgreSQL); `env`: more of its settings."""
    with ExitStack() as stack:
        database = stack.enter_context(backend_env(backend, request))
        data = tmp.mktemp(f"{stem}-{backend}") / "data"
        yield stack.enter_context(index_server(data, {**database, **(env or {})}))
