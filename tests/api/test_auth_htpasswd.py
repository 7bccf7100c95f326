"""`auth.mode: htpasswd`: Basic auth against a file made by `htpasswd -B`, as in Distribution."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.auth import basic, htpasswd
from tests.support.images import make_image, push_image, sha256
from tests.support.servers import DockyardServer, dockyard_server

REALM = "Dockyard test realm"


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("htpasswd") / "htpasswd"
    htpasswd(path, "alice", "wonderland")
    return path


@pytest.fixture(scope="module")
def basic_server(users: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    env = {
        "DOCKYARD_AUTH__MODE": "htpasswd",
        "DOCKYARD_AUTH__HTPASSWD__PATH": str(users),
        "DOCKYARD_AUTH__HTPASSWD__REALM": REALM,
    }
    with dockyard_server(tmp_path_factory.mktemp("basic") / "data", env=env) as server:
        yield server


@pytest.fixture
def anonymous(basic_server: DockyardServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=basic_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def alice(basic_server: DockyardServer) -> Iterator[httpx.Client]:
    headers = basic("alice", "wonderland")
    with httpx.Client(base_url=basic_server.url, timeout=30, headers=headers) as client:
        yield client


def assert_basic_challenge(response: httpx.Response) -> None:
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == f'Basic realm="{REALM}"'


def test_version_check_needs_credentials_as_docker_login_probes_it(
    anonymous: httpx.Client, alice: httpx.Client
) -> None:
    assert_basic_challenge(anonymous.get("/v2/"))
    assert alice.get("/v2/").status_code == 200


def test_user_of_the_file_may_push_pull_delete_and_list(alice: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    digest = push_image(alice, repo, image, "v1")
    assert alice.get(f"/v2/{repo}/manifests/v1").status_code == 200
    assert alice.get(f"/v2/{repo}/blobs/{sha256(image.layers[0])}").content == image.layers[0]
    assert repo in alice.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]
    assert alice.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202


def test_every_route_refuses_anonymous_callers(
    anonymous: httpx.Client, alice: httpx.Client, repo: str
) -> None:
    push_image(alice, repo, make_image(repo), "v1")
    for method, path in [
        ("GET", f"/v2/{repo}/manifests/v1"),
        ("GET", f"/v2/{repo}/tags/list"),
        ("POST", f"/v2/{repo}/blobs/uploads/"),
        ("DELETE", f"/v2/{repo}/manifests/v1"),
        ("GET", "/v2/_catalog"),
    ]:
        assert_basic_challenge(anonymous.request(method, path))
    head = anonymous.head(f"/v2/{repo}/manifests/v1")
    assert head.status_code == 401
    assert head.headers["www-authenticate"] == f'Basic realm="{REALM}"'


@pytest.mark.parametrize(
    "headers",
    [
        basic("alice", "Wonderland"),
        basic("alice", ""),
        basic("mallory", "wonderland"),
    ],
    ids=["wrong-password", "empty-password", "unknown-user"],
)
def test_wrong_credentials_are_refused(
    basic_server: DockyardServer, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{basic_server.url}/v2/", headers=headers)
    assert_basic_challenge(response)
    assert "invalid username or password" in response.text


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Basic !!!not-base64!!!", "base64"),
        ("Basic " + base64.b64encode(b"no-colon-here").decode(), "user:password"),
        ("Basic " + base64.b64encode(b"\xc3\x28:x").decode(), "UTF-8"),
        ("Bearer abc.def.ghi", "Basic credentials required"),
        ("Negotiate abc", "Basic or Bearer"),
        ("Basic " + "QUFB" * 5000, "too large"),
    ],
    ids=["bad-base64", "no-colon", "bad-utf8", "bearer", "other-scheme", "huge"],
)
def test_bad_authorization_headers_get_a_clear_401_never_a_500(
    basic_server: DockyardServer, authorization: str, message: str
) -> None:
    response = httpx.get(f"{basic_server.url}/v2/", headers={"Authorization": authorization})
    assert_basic_challenge(response)
    assert message in response.json()["errors"][0]["message"]


def test_rewritten_file_takes_effect_without_a_restart(
    users: Path, basic_server: DockyardServer
) -> None:
    url = f"{basic_server.url}/v2/"
    assert httpx.get(url, headers=basic("bob", "builder")).status_code == 401
    htpasswd(users, "bob", "builder")
    _touch_later(users)
    assert httpx.get(url, headers=basic("bob", "builder")).status_code == 200
    assert httpx.get(url, headers=basic("alice", "wonderland")).status_code == 200

    htpasswd(users, "bob", "rebuilt")
    _touch_later(users)
    assert httpx.get(url, headers=basic("bob", "builder")).status_code == 401
    assert httpx.get(url, headers=basic("bob", "rebuilt")).status_code == 200


def _touch_later(path: Path) -> None:
    # htpasswd rewrites within the same second; make the change visible on coarse mtimes too.
    later = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(later, later))


def test_enormous_header_is_refused_by_the_server_not_a_500(basic_server: DockyardServer) -> None:
    headers = {"Authorization": "Basic " + "A" * 1_000_000}
    response = httpx.get(f"{basic_server.url}/v2/", headers=headers)
    assert response.status_code in (400, 401, 431)


def test_missing_htpasswd_file_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DOCKYARD_AUTH__MODE": "htpasswd",
        "DOCKYARD_AUTH__HTPASSWD__PATH": str(tmp_path / "absent"),
    }
    command = [sys.executable, "-m", "dockyard.cli", "serve", "--addr", "127.0.0.1:1"]
    result = subprocess.run(
        [*command, "--data", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("dockyard: auth.htpasswd.path:")
