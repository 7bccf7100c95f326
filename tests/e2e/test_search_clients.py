"""`docker search` through a real Docker engine and `podman search` through real podman, against
Dockyard's default `auth.mode: index`: what each lists anonymously and signed in, and that a
stranger never sees a private repository."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.clients import Podman
from tests.support.docker_engine import DockerEngine
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server

pytestmark = pytest.mark.e2e

ALICE = ("alice", "alice-pw-1")
BOB = ("bob", "bob-pw-1")
TEXT = "seachable"  # a made-up word no other repository holds
PUBLIC = {f"alice/{TEXT}-tool", f"library/{TEXT}-base"}
PRIVATE = {f"alice/{TEXT}-secret"}


@dataclass
class Hub:
    index: IndexServer

    @property
    def host(self) -> str:
        return self.index.server.host


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with index_server(tmp_path_factory.mktemp("search-clients") / "data") as index:
        index.sign_up(ALICE, BOB)
        settings = {
            f"alice/{TEXT}-tool": (ALICE, "public", "A tool"),
            f"alice/{TEXT}-secret": (ALICE, "private", "Nobody else's"),
            f"library/{TEXT}-base": (("admin", ADMIN_PASSWORD), "public", "The official base"),
        }
        for name, (owner, visibility, description) in settings.items():
            with index.api(owner) as api:
                change = {"visibility": visibility, "description": description}
                changed = api.patch(f"/api/repositories/{name}", json=change)
                assert changed.status_code == 200, changed.text
        yield Hub(index)


@pytest.fixture
def signed_out(docker: DockerEngine, hub: Hub) -> Iterator[DockerEngine]:
    docker.run("logout", hub.host)
    yield docker
    docker.run("logout", hub.host)


def _names(listed: str, host: str) -> set[str]:
    """Names as the client printed them, without the registry's host if it put one first."""
    return {line.strip().removeprefix(f"{host}/") for line in listed.splitlines() if line.strip()}


def docker_search(docker: DockerEngine, hub: Hub, *flags: str) -> set[str]:
    listed = docker.run("search", *flags, "--format", "{{.Name}}", f"{hub.host}/{TEXT}").stdout
    return _names(listed, hub.host)


def docker_login(docker: DockerEngine, hub: Hub, credentials: tuple[str, str]) -> None:
    user, password = credentials
    docker.run("login", "-u", user, "--password-stdin", hub.host, stdin=f"{password}\n")


def test_docker_search_anonymous_lists_the_public_repositories(
    signed_out: DockerEngine, hub: Hub
) -> None:
    assert docker_search(signed_out, hub) == PUBLIC


def test_docker_search_after_login_lists_the_owners_private_repository(
    signed_out: DockerEngine, hub: Hub
) -> None:
    docker_login(signed_out, hub, ALICE)
    config = json.loads((signed_out.config / "config.json").read_text())
    # docker keeps a refresh token, and searches with a Bearer token got with it.
    assert config["auths"][hub.host].get("identitytoken")
    assert docker_search(signed_out, hub) == PUBLIC | PRIVATE


def test_docker_search_after_a_strangers_login_lists_nothing_private(
    signed_out: DockerEngine, hub: Hub
) -> None:
    docker_login(signed_out, hub, BOB)
    assert docker_search(signed_out, hub) == PUBLIC


def test_docker_search_limit_and_official_column(signed_out: DockerEngine, hub: Hub) -> None:
    assert len(docker_search(signed_out, hub, "--limit", "1")) == 1
    listed = signed_out.run(
        "search", "--format", "{{.Name}}|{{.IsOfficial}}|{{.StarCount}}", f"{hub.host}/{TEXT}"
    ).stdout
    rows = {}
    for line in listed.splitlines():
        name, official, stars = line.split("|")
        rows[name.removeprefix(f"{hub.host}/")] = (official, stars)
    assert rows == {
        f"library/{TEXT}-base": ("[OK]", "0"),
        f"alice/{TEXT}-tool": ("", "0"),
    }


def podman_search(podman: Podman, hub: Hub) -> set[str]:
    listed = podman.podman(
        "search", "--tls-verify=false", "--format", "{{.Name}}", f"{hub.host}/{TEXT}"
    ).stdout
    return _names(listed, hub.host)


def test_podman_search_anonymous_lists_the_public_repositories(podman: Podman, hub: Hub) -> None:
    assert podman_search(podman, hub) == PUBLIC


@pytest.mark.parametrize(("credentials", "may_see"), [(ALICE, PRIVATE), (BOB, set())])
def test_podman_search_after_login_lists_nothing_private_of_others(
    podman: Podman, hub: Hub, credentials: tuple[str, str], may_see: set[str]
) -> None:
    user, password = credentials
    podman.podman(
        "login", "--tls-verify=false", "-u", user, "--password-stdin", hub.host,
        stdin=f"{password}\n",
    )  # fmt: skip
    found = podman_search(podman, hub)
    # podman 4 sends no credentials to /v1/search (docs/api.md): it lists what anonymous sees,
    # and never more than the account may pull.
    assert PUBLIC <= found <= PUBLIC | may_see
