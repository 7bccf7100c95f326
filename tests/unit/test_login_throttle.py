"""The pieces of the token service that need no server: the failed-login window, refresh tokens,
the stand-in policy and the bound that keeps any policy within the request."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.auth.endpoint import bounded
from dockyard.auth.keys import load_or_generate_signing_key
from dockyard.auth.policy import OwnNamespacePolicy
from dockyard.auth.refresh import RefreshTokens
from dockyard.auth.scopes import Scope
from dockyard.auth.throttle import LoginThrottle
from dockyard.auth.tokens import InvalidToken, TokenIssuer, TokenVerifier


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_trips_per_account_and_recovers_as_the_window_slides() -> None:
    clock = Clock()
    throttle = LoginThrottle(3, 100, 60, clock=clock)
    for second in (0, 10, 20):
        clock.now = 1000 + second
        assert throttle.retry_after("alice", "10.0.0.1") is None
        throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.2") == 40  # the first failure leaves at 1060
    assert throttle.retry_after("bob", "10.0.0.1") is None
    clock.now = 1060
    assert throttle.retry_after("alice", "10.0.0.1") is None


def test_throttle_trips_per_address_and_success_clears_only_the_account() -> None:
    clock = Clock()
    throttle = LoginThrottle(2, 3, 60, clock=clock)
    throttle.failed("alice", "10.0.0.1")
    throttle.succeeded("alice")
    throttle.failed("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.9") is None  # one failure since the success
    throttle.failed(None, "10.0.0.1")
    assert throttle.retry_after(None, "10.0.0.1") == 60
    assert throttle.retry_after("carol", "10.0.0.1") == 60
    assert throttle.retry_after("carol", "10.0.0.2") is None


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
