"""The token service of Docker's token spec: `GET /token` (token.md) and the OAuth2 `POST /token`
(oauth.md), refresh tokens, the access it grants (what was asked for, cut down by the stand-in
policy), failed-login throttling, and clear 4xx answers to bad input."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest

from dockyard.auth.keys import generated_key_paths, load_or_generate_signing_key, load_signing_key
from dockyard.auth.refresh import RefreshTokens
from tests.support.api import assert_error
from tests.support.auth import basic, bearer, htpasswd
from tests.support.images import make_image, push_image
from tests.support.redis import missing_redis_server, redis_server
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.waiting import eventually

ISSUER = "token-issuer"
SERVICE = "token-registry"
ALICE = ("alice", "wonderland")
BOB = ("bob", "builder")


@dataclass
class TokenService:
    server: DockyardServer
    users: Path
    key_file: Path

    @property
    def url(self) -> str:
        return f"{self.server.url}/token"

    def get(
        self, *scopes: str, auth: tuple[str, str] | None = None, **params: str
    ) -> httpx.Response:
        query = [("service", SERVICE), *(("scope", scope) for scope in scopes), *params.items()]
        headers = basic(*auth) if auth else {}
        return httpx.get(f"{self.url}?{urlencode(query)}", headers=headers, timeout=30)

    def post(self, **fields: str) -> httpx.Response:
        form = {"service": SERVICE, "client_id": "tests", **fields}
        return httpx.post(self.url, data=form, timeout=30)

    def refresh_tokens(self, lifetime: int = 3600) -> RefreshTokens:
        return RefreshTokens(load_signing_key(self.key_file), ISSUER, SERVICE, lifetime)


@contextmanager
def token_service(
    base: Path, workers: int = 1, redis_url: str = "", **throttle: int
) -> Iterator[TokenService]:
    load_or_generate_signing_key(base / "key", ISSUER)
    key_file = generated_key_paths(base / "key")[0]
    users = base / "htpasswd"
    htpasswd(users, *ALICE)
    htpasswd(users, *BOB)
    env = {
        "DOCKYARD_AUTH__MODE": "token",
        "DOCKYARD_AUTH__TOKEN__SERVICE": SERVICE,
        "DOCKYARD_AUTH__TOKEN__ISSUER": ISSUER,
        "DOCKYARD_AUTH__TOKEN__SIGNING_KEY": str(key_file),
        "DOCKYARD_AUTH__HTPASSWD__PATH": str(users),
        "DOCKYARD_HTTP__WORKERS": str(workers),
        "DOCKYARD_CACHE__REDIS_URL": redis_url,
        **{
            f"DOCKYARD_AUTH__THROTTLE__{key.upper()}": str(value) for key, value in throttle.items()
        },
    }
    with dockyard_server(base / "data", env=env) as server:
        yield TokenService(server, users, key_file)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenService]:
    with token_service(tmp_path_factory.mktemp("token-service")) as running:
        yield running


def access(token: str) -> list[dict[str, Any]]:
    """The `access` claim of a token (its signature is the registry's business)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    entries: list[dict[str, Any]] = claims["access"]
    return entries


def entry(name: str, *actions: str, kind: str = "repository") -> dict[str, Any]:
    return {"type": kind, "name": name, "actions": list(actions)}


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    description: str = body["error_description"]
    assert description
    return description


# --- GET /token ----------------------------------------------------------------------------


def test_get_grants_several_scopes_cut_down_to_what_the_user_may_do(
    service: TokenService,
) -> None:
    response = service.get(
        "repository:alice/app:pull,push repository:bob/app:pull,push,delete",
        "registry:catalog:*",
        "repository:bob/other:push",
        auth=ALICE,
        account="alice",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z") and "T" in body["issued_at"]
    assert "refresh_token" not in body
    # Alice pushes in her namespace and pulls in Bob's; a scope she may do nothing in is left
    # out: an empty grant, not an error.
    expected = [
        entry("alice/app", "pull", "push"),
        entry("bob/app", "pull"),
        entry("catalog", "*", kind="registry"),
    ]
    assert access(body["token"]) == expected
    assert (
        body["scope"] == "repository:alice/app:pull,push repository:bob/app:pull registry:catalog:*"
    )


def test_get_never_grants_more_than_asked(service: TokenService) -> None:
    body = service.get("repository:alice/app:pull", auth=ALICE).json()
    assert access(body["token"]) == [entry("alice/app", "pull")]
    body = service.get("repository:bob/app:*", auth=ALICE).json()
    assert access(body["token"]) == [entry("bob/app", "pull")]


def test_tokens_it_grants_work_on_the_registry(service: TokenService, repo: str) -> None:
    own, other = f"alice/{repo}", f"bob/{repo}"
    token = service.get(f"repository:{own}:pull,push", auth=ALICE).json()["token"]
    with httpx.Client(base_url=service.server.url, headers=bearer(token), timeout=30) as client:
        push_image(client, own, make_image(own), "v1")
    token = service.get(f"repository:{other}:pull,push", auth=ALICE).json()["token"]
    response = httpx.post(
        f"{service.server.url}/v2/{other}/blobs/uploads/", headers=bearer(token), timeout=30
    )
    assert response.status_code == 401
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_anonymous_get_is_an_empty_grant_without_a_refresh_token(service: TokenService) -> None:
    response = service.get("repository:alice/app:pull", offline_token="true")
    assert response.status_code == 200
    assert access(response.json()["token"]) == []
    assert "refresh_token" not in response.json()


def test_offline_token_gives_a_refresh_token_like_docker_login(service: TokenService) -> None:
    # What `docker login` sends: no scope, offline_token=true, client_id=docker.
    response = service.get(auth=ALICE, account="alice", offline_token="true", client_id="docker")
    assert response.status_code == 200, response.text
    refresh = response.json()["refresh_token"]
    # ... and what `docker push` does with it afterwards.
    response = service.post(
        grant_type="refresh_token",
        refresh_token=refresh,
        client_id="docker",
        scope="repository:alice/app:pull,push",
    )
    assert response.status_code == 200, response.text
    assert access(response.json()["access_token"]) == [entry("alice/app", "pull", "push")]


def test_get_refuses_an_account_other_than_the_credentials(service: TokenService) -> None:
    response = service.get("repository:bob/app:push", auth=ALICE, account="bob")
    assert "account" in assert_error(response, 400, "INVALID_REQUEST")["message"]


def test_get_refuses_a_repository_name_longer_than_any_clearly(service: TokenService) -> None:
    response = service.get("repository:" + "a" * 256 + ":pull", auth=ALICE)
    assert "longer than 255" in assert_error(response, 400, "INVALID_REQUEST")["message"]


def test_get_refuses_another_service_clearly(service: TokenService) -> None:
    response = httpx.get(service.url, params={"service": "elsewhere", "scope": "repository:a:pull"})
    message = assert_error(response, 400, "INVALID_REQUEST")["message"]
    assert "elsewhere" in message and SERVICE in message


# --- POST /token -----------------------------------------------------------------------------


def test_password_grant_with_offline_access_then_refresh(service: TokenService) -> None:
    response = service.post(
        grant_type="password",
        username="alice",
        password="wonderland",
        access_type="offline",
        scope="repository:alice/app:pull repository:bob/app:push",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] == body["token"]
    assert body["scope"] == "repository:alice/app:pull"
    assert body["expires_in"] == 300 and body["issued_at"].endswith("Z")
    refresh = body["refresh_token"]
    again = service.post(
        grant_type="refresh_token",
        refresh_token=refresh,
        access_type="offline",
        scope="registry:catalog:*",
    )
    assert again.status_code == 200, again.text
    assert access(again.json()["access_token"]) == [entry("catalog", "*", kind="registry")]
    assert again.json()["refresh_token"] == refresh  # the same one back (oauth.md)
    claims = jwt.decode(again.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "alice"


def test_password_grant_without_offline_access_gives_no_refresh_token(
    service: TokenService,
) -> None:
    response = service.post(grant_type="password", username="bob", password="builder")
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    assert access(response.json()["access_token"]) == []


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"grant_type": "authorization_code", "code": "x"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "password", "username": "alice"}, 400, "invalid_request"),
        ({"grant_type": "password", "password": "wonderland"}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "invalid_request"),
        ({"grant_type": "password", "username": "alice", "password": "no"}, 401, "invalid_grant"),
        ({"grant_type": "password", "username": "nobody", "password": "x"}, 401, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "a.b.c"}, 401, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "garbage"}, 401, "invalid_grant"),
    ],
    ids=[
        "authorization-code",
        "client-credentials",
        "no-grant-type",
        "no-password",
        "no-username",
        "no-refresh-token",
        "wrong-password",
        "unknown-user",
        "bad-refresh-token",
        "garbage-refresh-token",
    ],
)
def test_post_errors_are_oauth2_errors(
    service: TokenService, fields: dict[str, str], status: int, error: str
) -> None:
    response = service.post(**fields)
    assert_oauth_error(response, status, error)
    assert "access_token" not in response.json()


def test_post_needs_service_and_client_id(service: TokenService) -> None:
    form = {"grant_type": "password", "username": "alice", "password": "wonderland"}
    for missing in ("service", "client_id"):
        fields = {"service": SERVICE, "client_id": "tests", **form}
        del fields[missing]
        response = httpx.post(service.url, data=fields)
        assert missing in assert_oauth_error(response, 400, "invalid_request")
    response = service.post(service="elsewhere", **form)
    assert "elsewhere" in assert_oauth_error(response, 400, "invalid_request")


def test_a_refresh_token_is_no_registry_token(service: TokenService) -> None:
    refresh = service.get(auth=ALICE, offline_token="true").json()["refresh_token"]
    response = httpx.get(f"{service.server.url}/v2/", headers=bearer(refresh))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # Nor is an access token a refresh token.
    token = service.get(auth=ALICE).json()["token"]
    response = service.post(grant_type="refresh_token", refresh_token=token)
    assert_oauth_error(response, 401, "invalid_grant")


def test_expired_refresh_token_is_refused(service: TokenService) -> None:
    old = service.refresh_tokens(lifetime=300).issue("alice", "docker", now=int(time.time()) - 900)
    response = service.post(grant_type="refresh_token", refresh_token=old)
    assert "expired" in assert_oauth_error(response, 401, "invalid_grant")
    fresh = service.refresh_tokens().issue("alice", "docker")
    assert service.post(grant_type="refresh_token", refresh_token=fresh).status_code == 200


def test_refresh_token_ends_when_the_user_is_removed(service: TokenService) -> None:
    htpasswd(service.users, "carol", "singing")
    refresh = service.get(auth=("carol", "singing"), offline_token="true").json()["refresh_token"]
    assert service.post(grant_type="refresh_token", refresh_token=refresh).status_code == 200
    lines = service.users.read_text().splitlines()
    service.users.write_text(
        "".join(f"{line}\n" for line in lines if not line.startswith("carol:"))
    )
    response = service.post(grant_type="refresh_token", refresh_token=refresh)
    assert "no longer" in assert_oauth_error(response, 401, "invalid_grant")


# --- throttling --------------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account(tmp_path: Path) -> None:
    with token_service(tmp_path, max_failures=3, window_seconds=60) as service:
        for _ in range(3):
            assert service.get(auth=("alice", "wrong")).status_code == 401
        # Tripped: even the right password is not checked now, on GET or POST.
        response = service.get(auth=ALICE)
        error = assert_error(response, 429, "TOOMANYREQUESTS")
        assert "retry" in error["message"]
        assert 0 < int(response.headers["retry-after"]) <= 60
        response = service.post(grant_type="password", username="alice", password="wonderland")
        assert_oauth_error(response, 429, "too_many_requests")
        assert "retry-after" in response.headers
        # Another account from the same address is not affected.
        assert service.get(auth=BOB).status_code == 200
        log = service.server.log.read_text()
        assert (
            "login failed: account='alice' address=127.0.0.1 reason=invalid username or password"
            in log
        )
        assert "wrong" not in log.replace("'alice'", "")
        assert "wonderland" not in log


def test_failed_logins_count_once_whichever_worker_answers(tmp_path: Path) -> None:
    """Counted in the database, not in each worker: two workers do not double the limit."""
    with token_service(tmp_path, workers=2, max_failures=3, window_seconds=60) as service:
        for _ in range(3):
            assert service.get(auth=("alice", "wrong")).status_code == 401
        answers = [service.get(auth=ALICE).status_code for _ in range(12)]
        assert answers == [429] * 12


def test_a_successful_login_clears_the_accounts_failures(tmp_path: Path) -> None:
    with token_service(tmp_path, max_failures=3, window_seconds=60) as service:
        for _ in range(3):
            assert service.get(auth=("alice", "wrong")).status_code == 401
            assert service.get(auth=("alice", "wrong")).status_code == 401
            assert service.get(auth=ALICE).status_code == 200


def test_failed_logins_are_throttled_per_address(tmp_path: Path) -> None:
    with token_service(tmp_path, max_failures=3, max_failures_per_address=4) as service:
        for user in ("u1", "u2", "u3", "u4"):
            assert service.get(auth=(user, "wrong")).status_code == 401
        assert_error(service.get(auth=BOB), 429, "TOOMANYREQUESTS")
        # Anonymous requests check no password: still served.
        assert service.get("repository:alice/app:pull").status_code == 200
        bad = service.post(grant_type="refresh_token", refresh_token="garbage")
        assert_oauth_error(bad, 429, "too_many_requests")


@pytest.mark.parametrize("outage", ["killed", "frozen"])
def test_failed_logins_are_counted_in_the_database_while_redis_is_away(
    tmp_path: Path, outage: str
) -> None:
    # Every login was a 500 while the Redis that counts failed logins did not answer.
    reason = missing_redis_server()
    if reason is not None:
        pytest.skip(reason)
    with (
        redis_server() as redis,
        token_service(tmp_path, redis_url=redis.url, max_failures=3) as service,
    ):
        assert service.get(auth=("alice", "wrong")).status_code == 401  # counted in Redis
        leave, come_back = (
            (redis.stop, redis.start) if outage == "killed" else (redis.pause, redis.resume)
        )
        leave()
        try:
            assert service.get(auth=BOB).status_code == 200
            for _ in range(3):
                assert service.get(auth=("alice", "wrong")).status_code == 401
            assert_error(service.get(auth=ALICE), 429, "TOOMANYREQUESTS")
        finally:
            come_back()
        # Counted in Redis again once it answers, where alice is under the limit.
        eventually(lambda: service.get(auth=ALICE).status_code == 200, what="redis used again")
    assert "failed logins counted in the database" in service.server.log.read_text()


# --- bad input: a clear 4xx, never a 500 -------------------------------------------------------


def _huge_form() -> dict[str, Any]:
    form = "grant_type=password&username=alice&password=" + "x" * 100_000
    return {"content": form, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


BAD_REQUESTS: dict[str, tuple[str, dict[str, Any], int, str]] = {
    "scope-without-actions": ("GET", {"params": {"scope": "repository:app"}}, 400, "ACTIONS"),
    "scope-without-name": ("GET", {"params": {"scope": "repository::pull"}}, 400, "NAME"),
    "scope-bad-type": ("GET", {"params": {"scope": "Repo!:app:pull"}}, 400, "TYPE"),
    "scope-bad-action": ("GET", {"params": {"scope": "repository:app:PULL"}}, 400, "ACTIONS"),
    "scope-too-long": (
        "GET",
        {"params": {"scope": "repository:" + "a" * 2000 + ":pull"}},
        400,
        "LONGER",
    ),
    "too-many-scopes": (
        "GET",
        {"params": {"scope": " ".join(f"repository:r{i}:pull" for i in range(100))}},
        400,
        "AT MOST",
    ),
    "bad-base64": ("GET", {"headers": {"Authorization": "Basic %%%"}}, 401, "BASE64"),
    "base64-without-colon": (
        "GET",
        {"headers": {"Authorization": "Basic YWxpY2U="}},
        401,
        "USER:PASSWORD",
    ),
    "not-utf8": ("GET", {"headers": {"Authorization": "Basic /w=="}}, 401, "UTF-8"),
    "bearer-at-token": ("GET", {"headers": {"Authorization": "Bearer abc"}}, 401, "BASIC"),
    "unknown-scheme": ("GET", {"headers": {"Authorization": "Digest x"}}, 401, "SCHEME"),
    "huge-authorization": (
        "GET",
        {"headers": {"Authorization": "Basic " + "QUFB" * 8000}},
        401,
        "TOO LARGE",
    ),
    "unknown-grant-type": ("POST", {"data": {"grant_type": "magic"}}, 400, "GRANT_TYPE"),
    "json-body": ("POST", {"json": {"grant_type": "password"}}, 400, "X-WWW-FORM-URLENCODED"),
    "huge-body": ("POST", _huge_form(), 400, "LARGER"),
    "binary-body": (
        "POST",
        {"content": b"\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        400,
        "UTF-8",
    ),
    "post-malformed-scope": (
        "POST",
        {"data": {"grant_type": "password", "username": "a", "password": "b", "scope": "x:"}},
        400,
        "SCOPE",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_gets_a_clear_4xx_never_a_500(service: TokenService, case: str) -> None:
    method, options, status, words = BAD_REQUESTS[case]
    if method == "GET":
        options = {**options, "params": {"service": SERVICE, **options.get("params", {})}}
    elif "data" in options:
        options = {**options, "data": {"service": SERVICE, "client_id": "t", **options["data"]}}
    response = httpx.request(method, service.url, timeout=30, **options)
    assert response.status_code == status, response.text
    body = response.json()
    message = body["error_description"] if method == "POST" else body["errors"][0]["message"]
    assert words in message.upper(), message
