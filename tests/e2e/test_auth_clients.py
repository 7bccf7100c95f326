"""Real clients with credentials: skopeo against Dockyard in htpasswd and token modes, and against
the reference registry (Distribution 2.8.2) trusting Dockyard as its token server."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dockyard.auth.keys import SigningKey, generated_key_paths, load_signing_key
from dockyard.auth.scopes import Scope
from dockyard.auth.tokens import TokenIssuer
from tests.support.auth import bearer, htpasswd
from tests.support.clients import ClientError, Podman, Skopeo
from tests.support.distribution import (
    Distribution,
    distribution_trusting_dockyard,
)
from tests.support.docker_engine import DockerEngine
from tests.support.oci_layout import Layout
from tests.support.servers import DockyardServer, dockyard_server

pytestmark = pytest.mark.e2e

SERVICE = "interop-registry"
ISSUER = "dockyard-interop"
GOOD = "alice:wonderland"
BAD = "alice:looking-glass"


@dataclass
class TokenSetup:
    dockyard: DockyardServer  # in token mode: its own registry and the token server
    distribution: Distribution  # trusting Dockyard's generated certificate

    @property
    def signing_key(self) -> SigningKey:
        return load_signing_key(generated_key_paths(self.dockyard.data / "auth")[0])


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "htpasswd"
    htpasswd(path, "alice", "wonderland")
    return path


@pytest.fixture(scope="module")
def token_setup(users: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenSetup]:
    base = tmp_path_factory.mktemp("interop")
    with distribution_trusting_dockyard(base, users, SERVICE, ISSUER) as (dockyard, distribution):
        yield TokenSetup(dockyard, distribution)


@pytest.fixture(scope="module")
def basic_dockyard(
    users: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DockyardServer]:
    env = {"DOCKYARD_AUTH__MODE": "htpasswd", "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
    with dockyard_server(tmp_path_factory.mktemp("basic") / "data", env=env) as server:
        yield server


def fresh_layout(path: Path) -> Layout:
    """A one-layer image unique to this run (skopeo's blob cache outlives the servers)."""
    layout = Layout(path)
    nonce = uuid.uuid4().hex
    layout.tag("v1", layout.add_image([{"app/nonce": nonce.encode() * 64}]))
    return layout


def round_trip(skopeo: Skopeo, tmp_path: Path, host: str, repo: str) -> None:
    """Push with good credentials, pull back, and see the same manifest digest both ways."""
    layout = fresh_layout(tmp_path / "source")
    remote = f"docker://{host}/{repo}:v1"
    pushed = skopeo.copy(f"oci:{layout.path}:v1", remote, "--dest-creds", GOOD)
    pulled = skopeo.copy(remote, f"oci:{tmp_path / 'pulled'}:v1", "--src-creds", GOOD)
    assert pushed == pulled
    tags = skopeo.run("list-tags", "--tls-verify=false", "--creds", GOOD, f"docker://{host}/{repo}")
    assert '"v1"' in tags.stdout


def refused(skopeo: Skopeo, tmp_path: Path, host: str, repo: str) -> str:
    layout = fresh_layout(tmp_path / "refused")
    with pytest.raises(ClientError) as error:
        skopeo.copy(f"oci:{layout.path}:v1", f"docker://{host}/{repo}:v1", "--dest-creds", BAD)
    return str(error.value)


# --- Distribution with Dockyard as its token server ----------------------------------------


def test_skopeo_pushes_and_pulls_through_distribution_with_dockyard_tokens(
    token_setup: TokenSetup, skopeo: Skopeo, tmp_path: Path
) -> None:
    round_trip(skopeo, tmp_path, token_setup.distribution.host, "alice/app")


def test_distribution_refuses_wrong_credentials_at_dockyards_token_server(
    token_setup: TokenSetup, skopeo: Skopeo, tmp_path: Path
) -> None:
    message = refused(skopeo, tmp_path, token_setup.distribution.host, "alice/refused")
    assert "invalid username or password" in message


def distribution_get(setup: TokenSetup, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{setup.distribution.url}{path}", headers=bearer(token), timeout=30)


def test_distribution_accepts_a_token_naming_its_key_by_kid_alone(
    token_setup: TokenSetup,
) -> None:
    kid_only = SigningKey(token_setup.signing_key.private_key, certificate=None)
    issuer = TokenIssuer(kid_only, ISSUER, 300)
    scope = Scope.parse("repository:kid/only:pull")
    token = issuer.issue("alice", SERVICE, [scope]).token
    # 404, not 401: authorised, and the repository simply does not exist there.
    response = distribution_get(token_setup, "/v2/kid/only/tags/list", token)
    assert response.status_code == 404, response.text


def test_distribution_refuses_a_token_without_the_scope(token_setup: TokenSetup) -> None:
    issuer = TokenIssuer(token_setup.signing_key, ISSUER, 300)
    token = issuer.issue("alice", SERVICE, [Scope.parse("repository:other:pull")]).token
    response = distribution_get(token_setup, "/v2/kid/only/tags/list", token)
    assert response.status_code == 401
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_distribution_refuses_a_token_for_another_audience(token_setup: TokenSetup) -> None:
    issuer = TokenIssuer(token_setup.signing_key, ISSUER, 300)
    token = issuer.issue("alice", "elsewhere", [Scope.parse("repository:x:pull")]).token
    response = distribution_get(token_setup, "/v2/x/tags/list", token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# --- Dockyard itself -----------------------------------------------------------------------


def test_skopeo_with_credentials_against_dockyard_in_token_mode(
    token_setup: TokenSetup, skopeo: Skopeo, tmp_path: Path
) -> None:
    round_trip(skopeo, tmp_path, token_setup.dockyard.host, "alice/app")
    # Copy on within Dockyard: skopeo asks for pull on the source too, and the blobs mount.
    source = f"docker://{token_setup.dockyard.host}/alice/app:v1"
    target = f"docker://{token_setup.dockyard.host}/alice/copy:v1"
    skopeo.copy(source, target, "--src-creds", GOOD, "--dest-creds", GOOD)
    assert "POST /v2/alice/copy/blobs/uploads/ 201" in token_setup.dockyard.log.read_text()
    assert "invalid username or password" in refused(
        skopeo, tmp_path, token_setup.dockyard.host, "alice/refused"
    )


def test_skopeo_with_credentials_against_dockyard_in_htpasswd_mode(
    basic_dockyard: DockyardServer, skopeo: Skopeo, tmp_path: Path
) -> None:
    round_trip(skopeo, tmp_path, basic_dockyard.host, "alice/app")
    assert "unauthorized" in refused(skopeo, tmp_path, basic_dockyard.host, "alice/refused").lower()


def test_skopeo_without_credentials_is_refused_by_dockyard(
    basic_dockyard: DockyardServer, skopeo: Skopeo
) -> None:
    with pytest.raises(ClientError):
        skopeo.run("list-tags", "--tls-verify=false", f"docker://{basic_dockyard.host}/alice/app")


def test_docker_logs_in_pushes_and_pulls_with_dockyard_tokens(
    token_setup: TokenSetup, docker: DockerEngine, tmp_path: Path
) -> None:
    host = token_setup.dockyard.host
    login = docker.run(
        "login", "-u", "alice", "--password-stdin", host, stdin="looking-glass\n", check=False
    )
    assert login.returncode != 0
    assert "unauthorized" in login.stderr.lower(), login.stderr
    docker.run("login", "-u", "alice", "--password-stdin", host, stdin="wonderland\n")
    # docker asked for a refresh token (offline_token=true) and keeps it instead of the password.
    stored = json.loads((docker.config / "config.json").read_text())["auths"][host]
    assert stored.get("identitytoken"), stored
    assert base64.b64decode(stored.get("auth", "")).decode() in ("", "alice:"), stored

    context = tmp_path / "context"
    context.mkdir()
    (context / "nonce").write_text(uuid.uuid4().hex)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY nonce /nonce\n")
    image = f"{host}/alice/docker:v1"
    docker.run("build", "-t", image, str(context), cwd=context, env={"DOCKER_BUILDKIT": "0"})
    docker.run("push", image)
    docker.run("image", "rm", "--force", image)
    docker.run("pull", image)
    # Push and pull fetched their tokens with the refresh token: the OAuth2 POST.
    assert "POST /token 200" in token_setup.dockyard.log.read_text()

    # The stand-in policy: alice may pull in bob's namespace, not push there.
    denied = f"{host}/bob/docker:v1"
    docker.run("tag", image, denied)
    push = docker.run("push", denied, check=False)
    assert push.returncode != 0
    assert any(word in push.stderr.lower() for word in ("denied", "unauthorized")), push.stderr
    docker.run("image", "rm", "--force", denied)

    docker.run("logout", host)
    assert host not in json.loads((docker.config / "config.json").read_text()).get("auths", {})
    docker.run("image", "rm", "--force", image)
    anonymous = docker.run("pull", image, check=False)
    assert anonymous.returncode != 0


def test_podman_logs_in_pushes_and_pulls_with_dockyard_tokens(
    token_setup: TokenSetup, podman: Podman, tmp_path: Path
) -> None:
    host = token_setup.dockyard.host
    wrong = podman.podman(
        "login", "--tls-verify=false", "-u", "alice", "--password-stdin", host,
        stdin="looking-glass\n", check=False,
    )  # fmt: skip
    assert wrong.returncode != 0
    podman.podman(
        "login", "--tls-verify=false", "-u", "alice", "--password-stdin", host, stdin="wonderland\n"
    )
    (tmp_path / "nonce").write_text(uuid.uuid4().hex)
    container = podman.buildah("from", "scratch").stdout.strip()
    podman.buildah("copy", container, str(tmp_path / "nonce"), "/nonce")
    podman.buildah("commit", "-q", container, "localhost/auth-e2e:v1")
    podman.buildah("rm", container)
    image = f"{host}/alice/podman:v1"
    podman.podman("push", "--tls-verify=false", "localhost/auth-e2e:v1", image)
    podman.podman("rmi", "--force", "localhost/auth-e2e:v1")
    podman.podman("pull", "--tls-verify=false", image)
    denied = podman.podman(
        "push", "--tls-verify=false", image, f"{host}/bob/podman:v1", check=False
    )
    assert denied.returncode != 0
    podman.podman("logout", host)
    assert podman.podman("pull", "--tls-verify=false", image, check=False).returncode != 0


def test_skopeo_login_then_copies_without_creds(
    token_setup: TokenSetup, skopeo: Skopeo, tmp_path: Path
) -> None:
    host = token_setup.dockyard.host
    wrong = skopeo.run(
        "login", "--tls-verify=false", "-u", "alice", "--password-stdin", host,
        stdin="looking-glass\n", check=False,
    )  # fmt: skip
    assert wrong.returncode != 0
    skopeo.run(
        "login", "--tls-verify=false", "-u", "alice", "--password-stdin", host, stdin="wonderland\n"
    )
    layout = fresh_layout(tmp_path / "source")
    skopeo.copy(f"oci:{layout.path}:v1", f"docker://{host}/alice/skopeo:v1")
    assert skopeo.list_tags(f"docker://{host}/alice/skopeo") == ["v1"]
    with pytest.raises(ClientError):
        skopeo.copy(f"oci:{layout.path}:v1", f"docker://{host}/bob/skopeo:v1")
    skopeo.run("logout", host)
    with pytest.raises(ClientError):
        skopeo.list_tags(f"docker://{host}/alice/skopeo")
