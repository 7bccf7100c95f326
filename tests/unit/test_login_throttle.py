"""The pieces of the token service that need no server: the failed-login window, refresh tokens,
the stand-in policy and the bound that keeps any policy within the request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits.aio.storage import MemoryStorage, Storage

from dockyard.auth.endpoint import bounded
from dockyard.auth.keys import load_or_generate_signing_key
from dockyard.auth.policy import OwnNamespacePolicy
from dockyard.auth.refresh import RefreshTokens
from dockyard.auth.scopes import Scope
from dockyard.auth.throttle import LoginThrottle
from dockyard.auth.tokens import InvalidToken, TokenIssuer, TokenVerifier
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.ratelimits.sql_storage import SqlStorage


@pytest.fixture(params=["memory", "database"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each process's memory, and the database every worker and node shares."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(database.engine)
    yield SqlStorage(database)
    database.dispose()


def test_throttle_trips_per_account_and_recovers_when_the_window_ends(storage: Storage) -> None:
    async def scenario() -> None:
        throttle = LoginThrottle(storage, 3, 100, 1)
        for _ in range(3):
            assert await throttle.retry_after("alice", "10.0.0.1") is None
            await throttle.failed("alice", "10.0.0.1")
        assert await throttle.retry_after("alice", "10.0.0.2") == 1
        assert await throttle.retry_after("bob", "10.0.0.1") is None
        await asyncio.sleep(1.1)
        assert await throttle.retry_after("alice", "10.0.0.1") is None

    asyncio.run(scenario())


def test_throttle_trips_per_address_and_success_clears_only_the_account(storage: Storage) -> None:
    async def scenario() -> None:
        throttle = LoginThrottle(storage, 2, 3, 60)
        await throttle.failed("alice", "10.0.0.1")
        await throttle.succeeded("alice", await throttle.standing("alice", "10.0.0.1"))
        await throttle.failed("alice", "10.0.0.1")
        assert await throttle.retry_after("alice", "10.0.0.9") is None  # one since the success
        await throttle.failed(None, "10.0.0.1")
        assert 50 < (await throttle.retry_after(None, "10.0.0.1") or 0) <= 60
        assert await throttle.retry_after("carol", "10.0.0.1") is not None
        assert await throttle.retry_after("carol", "10.0.0.2") is None
        # A name of any length and bytes makes a key of its own, short and anonymous.
        odd = "x" * 5000 + "\udcff"
        await throttle.failed(odd, "10.0.0.3")
        await throttle.failed(odd, "10.0.0.4")
        assert await throttle.retry_after(odd, "10.0.0.5") is not None

    asyncio.run(scenario())


def test_refresh_tokens_round_trip_and_refuse_others(tmp_path: Path) -> None:
    key = load_or_generate_signing_key(tmp_path, "issuer")
    refresh = RefreshTokens(key, "issuer", "svc", 3600)
    token = refresh.issue("alice", "docker")
    claims = refresh.verify(token)
    assert (claims.subject, claims.client_id) == ("alice", "docker")
    with pytest.raises(InvalidToken, match="expired"):
        refresh.verify(refresh.issue("alice", None, now=1000))
    with pytest.raises(InvalidToken):
        RefreshTokens(key, "issuer", "other", 3600).verify(token)
    access = TokenIssuer(key, "issuer", 300).issue("alice", "svc", []).token
    with pytest.raises(InvalidToken):
        refresh.verify(access)  # an access token is no refresh token ...
    with pytest.raises(InvalidToken):
        TokenVerifier([key.public_key], "issuer", "svc").verify(token)  # ... nor the reverse


def scopes(*texts: str) -> list[Scope]:
    return [Scope.parse(text) for text in texts]


def test_own_namespace_policy() -> None:
    requested = scopes(
        "repository:alice:push",
        "repository:alice/app:pull,push,delete",
        "repository:alicex/app:push",
        "repository:bob/app:*",
        "repository:bob/other:push,delete",
        "registry:catalog:*",
    )
    granted = asyncio.run(OwnNamespacePolicy().granted("alice", requested))
    assert list(map(str, granted)) == [
        "repository:alice:push",
        "repository:alice/app:pull,push,delete",
        "repository:bob/app:pull",
        "registry:catalog:*",
    ]
    assert asyncio.run(OwnNamespacePolicy().granted(None, requested)) == []


def test_bounded_never_grants_more_than_asked() -> None:
    requested = scopes("repository:a:pull", "repository:b:pull,push", "repository:c:*")
    too_generous = scopes(
        "repository:a:pull,push,delete",
        "repository:b:*",
        "repository:c:pull",
        "repository:d:pull",
        "registry:catalog:*",
    )
    assert list(map(str, bounded(too_generous, requested))) == [
        "repository:a:pull",
        "repository:b:pull,push",
        "repository:c:pull",
    ]
