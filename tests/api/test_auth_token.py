"""`auth.mode: token`: the registry obeys the access a verified token carries, and nothing else;
`GET /token` is the standalone token server in front of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from dockyard.auth.keys import generated_key_paths, load_or_generate_signing_key
from tests.support.api import assert_error
from tests.support.auth import Minter, basic, bearer, htpasswd
from tests.support.images import make_image, push_blob, push_image
from tests.support.servers import DockyardServer, dockyard_server

ISSUER = "test-issuer"
SERVICE = "test-registry"


@dataclass
class TokenServer:
    server: DockyardServer
    minter: Minter  # the server's own signing key
    rotated: Minter  # a second key, trusted through auth.token.rootcertbundle
    untrusted: Minter

    def client(self, *scopes: str) -> httpx.Client:
        headers = self.minter.headers(*scopes) if scopes else {}
        return httpx.Client(base_url=self.server.url, timeout=30, headers=headers)


def _key_file(directory: Path) -> Path:
    load_or_generate_signing_key(directory, ISSUER)
    return generated_key_paths(directory)[0]


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    base = tmp_path_factory.mktemp("token")
    own, rotated, untrusted = (_key_file(base / name) for name in ("own", "rotated", "other"))
    users = base / "htpasswd"
    htpasswd(users, "alice", "wonderland")
    env = {
        "DOCKYARD_AUTH__MODE": "token",
        "DOCKYARD_AUTH__TOKEN__SERVICE": SERVICE,
        "DOCKYARD_AUTH__TOKEN__ISSUER": ISSUER,
        "DOCKYARD_AUTH__TOKEN__SIGNING_KEY": str(own),
        "DOCKYARD_AUTH__TOKEN__ROOTCERTBUNDLE": str(generated_key_paths(base / "rotated")[1]),
        "DOCKYARD_AUTH__HTPASSWD__PATH": str(users),
    }
    with dockyard_server(base / "data", env=env) as server:
        yield TokenServer(
            server,
            Minter(own, ISSUER, SERVICE),
            Minter(rotated, ISSUER, SERVICE),
            Minter(untrusted, ISSUER, SERVICE),
        )


@pytest.fixture
def pushed(token_server: TokenServer, repo: str) -> str:
    """`repo` holding an image tagged v1; returns the manifest's digest."""
    with token_server.client(f"repository:{repo}:pull,push") as client:
        return push_image(client, repo, make_image(repo), "v1")


def challenge(token_server: TokenServer, **parts: str) -> str:
    realm = f"{token_server.server.url}/token"
    fields = {"realm": realm, "service": SERVICE, **parts}
    return "Bearer " + ",".join(f'{key}="{value}"' for key, value in fields.items())


def assert_challenged(response: httpx.Response, expected: str) -> dict[str, object]:
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == expected
    return error


# --- the version check and the challenge ---------------------------------------------------


def test_version_check_challenges_without_a_scope(token_server: TokenServer) -> None:
    with token_server.client() as anonymous:
        assert_challenged(anonymous.get("/v2/"), challenge(token_server))
    with token_server.client("repository:unrelated:pull") as client:
        assert client.get("/v2/").status_code == 200
    empty = token_server.minter.token()
    assert httpx.get(f"{token_server.server.url}/v2/", headers=bearer(empty)).status_code == 200


def test_anonymous_pull_is_challenged_with_the_scope_it_needs(
    token_server: TokenServer, pushed: str, repo: str
) -> None:
    with token_server.client() as anonymous:
        response = anonymous.get(f"/v2/{repo}/manifests/v1")
    error = assert_challenged(response, challenge(token_server, scope=f"repository:{repo}:pull"))
    assert error["detail"] == [{"Type": "repository", "Name": repo, "Action": "pull"}]


# --- what a token allows -------------------------------------------------------------------


def test_pull_token_reads_its_repository_only(
    token_server: TokenServer, pushed: str, repo: str
) -> None:
    with token_server.client(f"repository:{repo}:pull") as client:
        assert client.get(f"/v2/{repo}/manifests/v1").status_code == 200
        assert client.head(f"/v2/{repo}/manifests/{pushed}").status_code == 200
        assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["v1"]
        other = f"{repo}-other"
        response = client.get(f"/v2/{other}/manifests/v1")
        assert_challenged(
            response,
            challenge(token_server, scope=f"repository:{other}:pull", error="insufficient_scope"),
        )
        # A name that only starts like the granted one is another repository.
        assert client.get(f"/v2/{repo}/sub/manifests/v1").status_code == 401


def test_push_needs_push_and_says_so(token_server: TokenServer, repo: str) -> None:
    expected = challenge(
        token_server, scope=f"repository:{repo}:pull,push", error="insufficient_scope"
    )
    with token_server.client(f"repository:{repo}:pull") as client:
        assert_challenged(client.post(f"/v2/{repo}/blobs/uploads/"), expected)
        assert_challenged(
            client.put(f"/v2/{repo}/manifests/v1", content=b"{}"),
            expected,
        )
    with token_server.client(f"repository:{repo}:push") as push_only:
        # Distribution's rule: a write needs pull as well as push.
        assert push_only.post(f"/v2/{repo}/blobs/uploads/").status_code == 401


def test_upload_session_is_closed_to_a_pull_only_token(
    token_server: TokenServer, repo: str
) -> None:
    with token_server.client(f"repository:{repo}:pull,push") as pusher:
        location = pusher.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
    with token_server.client(f"repository:{repo}:pull") as puller:
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            assert puller.request(method, location).status_code == 401, method


def test_delete_needs_delete(token_server: TokenServer, pushed: str, repo: str) -> None:
    with token_server.client(f"repository:{repo}:pull,push") as client:
        response = client.delete(f"/v2/{repo}/manifests/{pushed}")
    assert_challenged(
        response,
        challenge(token_server, scope=f"repository:{repo}:delete", error="insufficient_scope"),
    )
    with token_server.client(f"repository:{repo}:delete") as deleter:
        assert deleter.delete(f"/v2/{repo}/manifests/{pushed}").status_code == 202


def test_wildcard_action_allows_everything_on_the_repository(
    token_server: TokenServer, repo: str
) -> None:
    with token_server.client(f"repository:{repo}:*") as client:
        digest = push_image(client, repo, make_image(repo), "v1")
        assert client.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202


def test_catalog_needs_the_registry_catalog_scope(
    token_server: TokenServer, pushed: str, repo: str
) -> None:
    with token_server.client(f"repository:{repo}:pull,push") as client:
        assert_challenged(
            client.get("/v2/_catalog"),
            challenge(token_server, scope="registry:catalog:*", error="insufficient_scope"),
        )
    with token_server.client("registry:catalog:*") as client:
        assert repo in client.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]


def test_mount_from_a_repository_the_token_cannot_pull_falls_back_to_an_upload(
    token_server: TokenServer, repo: str
) -> None:
    secret = f"{repo}-secret"
    data = f"only in {secret}".encode()
    with token_server.client(f"repository:{secret}:pull,push") as owner:
        digest = push_blob(owner, secret, data)
    target = f"{repo}-target"
    params = {"mount": digest, "from": secret}
    with token_server.client(f"repository:{target}:pull,push") as outsider:
        response = outsider.post(f"/v2/{target}/blobs/uploads/", params=params)
        assert response.status_code == 202, response.text  # an upload session, not the blob
        assert outsider.head(f"/v2/{target}/blobs/{digest}").status_code == 404
    scopes = (f"repository:{target}:pull,push", f"repository:{secret}:pull")
    with token_server.client(*scopes) as insider:
        response = insider.post(f"/v2/{target}/blobs/uploads/", params=params)
        assert response.status_code == 201, response.text
        assert insider.get(f"/v2/{target}/blobs/{digest}").content == data


# --- tokens that are refused ---------------------------------------------------------------


def test_token_from_the_rotated_key_in_the_bundle_is_accepted(
    token_server: TokenServer, pushed: str, repo: str
) -> None:
    headers = token_server.rotated.headers(f"repository:{repo}:pull")
    response = httpx.get(f"{token_server.server.url}/v2/{repo}/manifests/v1", headers=headers)
    assert response.status_code == 200


def bad_token(token_server: TokenServer, kind: str, scope: str) -> str:
    minter, now = token_server.minter, int(time.time())
    makers: dict[str, Callable[[], str]] = {
        "untrusted-key": lambda: token_server.untrusted.token(scope),
        "expired": lambda: minter.token(scope, now=now - 3600),
        "not-yet-valid": lambda: minter.token(scope, now=now + 3600),
        "wrong-issuer": lambda: minter.claiming("other-issuer", SERVICE).token(scope),
        "wrong-audience": lambda: minter.claiming(ISSUER, "other-registry").token(scope),
        "garbage": lambda: "garbage",
        "three-garbage-parts": lambda: "a.b.c",
        "base64-of-nothing": lambda: "e30.e30.e30",
    }
    return makers[kind]()


@pytest.mark.parametrize(
    "kind",
    [
        "untrusted-key",
        "expired",
        "not-yet-valid",
        "wrong-issuer",
        "wrong-audience",
        "garbage",
        "three-garbage-parts",
        "base64-of-nothing",
    ],
)
def test_bad_tokens_are_invalid_token(
    token_server: TokenServer, pushed: str, repo: str, kind: str
) -> None:
    token = bad_token(token_server, kind, f"repository:{repo}:pull")
    response = httpx.get(f"{token_server.server.url}/v2/{repo}/manifests/v1", headers=bearer(token))
    assert_challenged(
        response,
        challenge(token_server, scope=f"repository:{repo}:pull", error="invalid_token"),
    )


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Bearer", "Bearer token"),
        ("Bearer not a token", "Bearer token"),
        ("Bearer " + "a" * 20000, "too large"),
        ("Basic !!!", "base64"),
        ("Basic " + "QUFB" * 5000, "too large"),
    ],
    ids=["empty-bearer", "spaces", "huge-bearer", "bad-base64", "huge-basic"],
)
def test_malformed_headers_get_a_clear_401_never_a_500(
    token_server: TokenServer, repo: str, authorization: str, message: str
) -> None:
    response = httpx.get(
        f"{token_server.server.url}/v2/{repo}/tags/list", headers={"Authorization": authorization}
    )
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert message in str(error["message"])
    assert response.headers["www-authenticate"].startswith("Bearer realm=")


def test_basic_credentials_are_for_the_token_service_not_the_registry(
    token_server: TokenServer, repo: str
) -> None:
    response = httpx.get(
        f"{token_server.server.url}/v2/{repo}/tags/list", headers=basic("alice", "wonderland")
    )
    assert_challenged(response, challenge(token_server, scope=f"repository:{repo}:pull"))


# --- GET /token ----------------------------------------------------------------------------


def get_token(
    token_server: TokenServer, *scopes: str, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    query: list[tuple[str, str]] = [("service", SERVICE), *(("scope", s) for s in scopes)]
    query += list(params.items())
    return httpx.get(f"{token_server.server.url}/token?{urlencode(query)}", headers=headers)


def test_token_endpoint_signs_what_the_user_asked_for(token_server: TokenServer, repo: str) -> None:
    repo = f"alice/{repo}"  # the stand-in policy lets users push in their own namespace
    response = get_token(
        token_server,
        f"repository:{repo}:pull,push",
        "registry:catalog:*",
        headers=basic("alice", "wonderland"),
        account="alice",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")
    assert response.headers["cache-control"] == "no-store"
    with httpx.Client(base_url=token_server.server.url, headers=bearer(body["token"])) as client:
        push_image(client, repo, make_image(repo), "v1")
        assert repo in client.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]


def test_anonymous_token_carries_no_access(
    token_server: TokenServer, pushed: str, repo: str
) -> None:
    response = get_token(token_server, f"repository:{repo}:pull")
    assert response.status_code == 200
    token = response.json()["token"]
    url = f"{token_server.server.url}/v2/{repo}/manifests/v1"
    assert httpx.get(url, headers=bearer(token)).status_code == 401
    assert httpx.get(f"{token_server.server.url}/v2/", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [basic("alice", "wrong"), basic("nobody", "wonderland"), {"Authorization": "Basic %%"}],
    ids=["wrong-password", "unknown-user", "malformed"],
)
def test_token_endpoint_refuses_bad_credentials(
    token_server: TokenServer, repo: str, headers: dict[str, str]
) -> None:
    response = get_token(token_server, f"repository:{repo}:pull", headers=headers)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert "token" not in response.json()


@pytest.mark.parametrize(
    ("scope", "service"),
    [("repository:app", SERVICE), ("repository::pull", SERVICE), ("repository:a:pull", "other")],
    ids=["no-actions", "no-name", "other-service"],
)
def test_token_endpoint_refuses_malformed_requests(
    token_server: TokenServer, scope: str, service: str
) -> None:
    response = httpx.get(
        f"{token_server.server.url}/token",
        params={"service": service, "scope": scope},
        headers=basic("alice", "wonderland"),
    )
    assert_error(response, 400, "INVALID_REQUEST")
