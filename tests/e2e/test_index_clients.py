"""Real clients against Dockyard's default `auth.mode: index`: users, personal access tokens,
a read-only robot and repository visibility, through docker login/push/pull and skopeo."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.clients import ClientError, Skopeo
from tests.support.docker_engine import DockerEngine
from tests.support.index import IndexServer, index_server
from tests.support.oci_layout import Layout

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob-pw-1")


@dataclass
class Hub:
    index: IndexServer
    pat: str  # alice's personal access token, read and write
    robot: tuple[str, str]  # a robot of alice's, read only: (login, secret)

    @property
    def host(self) -> str:
        return self.index.server.host

    def make_private(self, repository: str) -> None:
        with self.index.api(ALICE) as api:
            changed = api.patch(f"/api/repositories/{repository}", json={"visibility": "private"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["visibility"] == "private"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with index_server(tmp_path_factory.mktemp("index-clients") / "data") as index:
        index.sign_up(ALICE, BOB)
        with index.api(ALICE) as api:
            pat = api.post("/api/tokens", json={"name": "laptop", "scopes": ["read", "write"]})
            assert pat.status_code == 201, pat.text
            assert pat.json()["login"] == "alice"
            robot = api.post(
                "/api/tokens", json={"name": "reader", "scopes": ["read"], "robot": True}
            )
            assert robot.status_code == 201, robot.text
        yield Hub(index, pat.json()["token"], (robot.json()["login"], robot.json()["token"]))


def login(docker: DockerEngine, host: str, credentials: tuple[str, str]) -> None:
    user, secret = credentials
    docker.run("login", "-u", user, "--password-stdin", host, stdin=f"{secret}\n")


def logout(docker: DockerEngine, host: str) -> None:
    docker.run("logout", host)
    assert host not in json.loads((docker.config / "config.json").read_text()).get("auths", {})


@pytest.fixture
def signed_out(docker: DockerEngine, hub: Hub) -> Iterator[DockerEngine]:
    """The session's engine, signed out of the hub before and after the test."""
    docker.run("logout", hub.host)
    yield docker
    docker.run("logout", hub.host)


def build(docker: DockerEngine, context: Path, tag: str) -> None:
    """A one-layer FROM scratch image of fresh content, with the legacy builder."""
    context.mkdir(parents=True)
    (context / "nonce").write_text(uuid.uuid4().hex)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY nonce /nonce\n")
    docker.run("build", "-t", tag, str(context), cwd=context, env={"DOCKER_BUILDKIT": "0"})


def refused(docker: DockerEngine, *args: str) -> str:
    """Run a docker command that the registry must refuse; its error output."""
    result = docker.run(*args, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr.lower()


def denied(output: str) -> bool:
    return any(word in output for word in ("denied", "unauthorized", "not found"))


def test_docker_login_with_password_pushes_to_own_namespace_only(
    hub: Hub, signed_out: DockerEngine, tmp_path: Path
) -> None:
    docker = signed_out
    wrong = docker.run(
        "login", "-u", "alice", "--password-stdin", hub.host, stdin="wrong\n", check=False
    )
    assert wrong.returncode != 0 and "unauthorized" in wrong.stderr.lower(), wrong.stderr
    login(docker, hub.host, ALICE)
    image = f"{hub.host}/alice/app:1"
    build(docker, tmp_path / "context", image)
    docker.run("push", image)
    bobs = f"{hub.host}/bob/app:1"
    docker.run("tag", image, bobs)
    assert denied(refused(docker, "push", bobs))
    logout(docker, hub.host)
    # What alice pushed is public: anyone pulls it back.
    docker.run("image", "rm", "--force", image, bobs)
    docker.run("pull", image)


def test_personal_token_pushes_and_read_only_robot_only_pulls(
    hub: Hub, signed_out: DockerEngine, tmp_path: Path
) -> None:
    docker = signed_out
    login(docker, hub.host, ("alice", hub.pat))
    image = f"{hub.host}/alice/by-token:1"
    build(docker, tmp_path / "context", image)
    docker.run("push", image)
    logout(docker, hub.host)

    # Private, so that the robot's pull proves its credentials rather than public access.
    hub.make_private("alice/by-token")
    docker.run("image", "rm", "--force", image)
    assert denied(refused(docker, "pull", image))
    login(docker, hub.host, hub.robot)
    docker.run("pull", image)
    again = f"{hub.host}/alice/by-token:2"
    docker.run("tag", image, again)
    assert denied(refused(docker, "push", again))
    logout(docker, hub.host)


def test_private_repository_is_pulled_by_its_owner_only(
    hub: Hub, signed_out: DockerEngine, tmp_path: Path
) -> None:
    docker = signed_out
    image = f"{hub.host}/alice/secret:1"
    login(docker, hub.host, ALICE)
    build(docker, tmp_path / "context", image)
    docker.run("push", image)
    logout(docker, hub.host)
    docker.run("image", "rm", "--force", image)
    docker.run("pull", image)  # public: anonymous pull works

    hub.make_private("alice/secret")
    docker.run("image", "rm", "--force", image)
    assert denied(refused(docker, "pull", image))
    login(docker, hub.host, BOB)
    assert denied(refused(docker, "pull", image))
    logout(docker, hub.host)
    login(docker, hub.host, ALICE)
    docker.run("pull", image)
    logout(docker, hub.host)


def test_skopeo_with_a_personal_token_and_anonymously(
    hub: Hub, skopeo: Skopeo, tmp_path: Path
) -> None:
    creds = f"alice:{hub.pat}"
    layout = Layout(tmp_path / "source")
    layout.tag("v1", layout.add_image([{"app/nonce": uuid.uuid4().hex.encode() * 64}]))
    remote = f"docker://{hub.host}/alice/skopeo:v1"
    pushed = skopeo.copy(f"oci:{layout.path}:v1", remote, "--dest-creds", creds)
    hub.make_private("alice/skopeo")

    listed = skopeo.run(
        "list-tags", "--tls-verify=false", "--creds", creds, f"docker://{hub.host}/alice/skopeo"
    )
    assert json.loads(listed.stdout)["Tags"] == ["v1"]
    copied = f"docker://{hub.host}/alice/skopeo-copy:v1"
    assert skopeo.copy(remote, copied, "--src-creds", creds, "--dest-creds", creds) == pushed
    pulled = skopeo.copy(remote, f"oci:{tmp_path / 'pulled'}:v1", "--src-creds", creds)
    assert pulled == pushed

    with pytest.raises(ClientError) as anonymous:
        skopeo.run("inspect", "--tls-verify=false", remote)
    assert denied(str(anonymous.value).lower()), anonymous.value
    with pytest.raises(ClientError):
        skopeo.run("inspect", "--tls-verify=false", "--creds", ":".join(BOB), remote)
