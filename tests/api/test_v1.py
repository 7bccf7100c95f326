"""The v1 endpoints of the original registry on top of the v2 data: `_ping`, a repository's tags
(the image id of a tag is its manifest digest), deleting a tag or a whole repository; with no
auth, and in index mode with tokens, where the seed's curl commands run as written."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.auth import basic, bearer, htpasswd
from tests.support.images import make_image, push_image, sha256
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_on_backend
from tests.support.receiver import event_receiver, notifications_config
from tests.support.servers import dockyard_server
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)


def assert_v1_answer(response: httpx.Response, body: object) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-docker-registry-version"]
    assert response.json() == body


# Without auth (standalone)


def test_ping_says_standalone_without_an_index(client: httpx.Client) -> None:
    response = client.get("/v1/_ping")
    assert_v1_answer(response, True)
    assert response.headers["x-docker-registry-standalone"] == "true"


def test_tags_map_each_tag_to_its_manifest_digest(client: httpx.Client, repo: str) -> None:
    latest = push_image(client, repo, make_image(repo), "latest")
    older = push_image(client, repo, make_image(repo + "-old"), "0.1.1")
    push_image(client, repo, make_image(repo), "also-latest")
    assert_v1_answer(
        client.get(f"/v1/repositories/{repo}/tags"),
        {"0.1.1": older, "also-latest": latest, "latest": latest},
    )
    assert_v1_answer(client.get(f"/v1/repositories/{repo}/tags/latest"), latest)
    assert_v1_answer(client.get(f"/v1/repositories/{repo}/tags/0.1.1"), older)


def test_unknown_tags_and_repositories_are_404(client: httpx.Client, repo: str) -> None:
    assert_error(client.get(f"/v1/repositories/{repo}/tags"), 404, "NAME_UNKNOWN")
    assert_error(client.get(f"/v1/repositories/{repo}/tags/latest"), 404, "NAME_UNKNOWN")
    assert_error(client.delete(f"/v1/repositories/{repo}/tags/latest"), 404, "NAME_UNKNOWN")
    assert_error(client.delete(f"/v1/repositories/{repo}/"), 404, "NAME_UNKNOWN")
    push_image(client, repo, make_image(repo))
    assert_error(client.get(f"/v1/repositories/{repo}/tags/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v1/repositories/{repo}/tags/.bad"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete(f"/v1/repositories/{repo}/tags/nope"), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("name", ["UPPER/case", "a//b", "-dash/x", "a/b-"])
def test_invalid_repository_names_are_400(client: httpx.Client, name: str) -> None:
    assert_error(client.get(f"/v1/repositories/{name}/tags"), 400, "NAME_INVALID")
    assert_error(client.delete(f"/v1/repositories/{name}/"), 400, "NAME_INVALID")


def test_a_single_component_name_means_library(client: httpx.Client, repo: str) -> None:
    single = repo.replace("/", "-")
    digest = push_image(client, f"library/{single}", make_image(repo))
    assert_v1_answer(client.get(f"/v1/repositories/{single}/tags"), {"latest": digest})
    assert_v1_answer(client.get(f"/v1/repositories/library/{single}/tags/latest"), digest)


def test_library_names_reach_what_v2_clients_pushed_without_the_namespace(
    client: httpx.Client, repo: str
) -> None:
    single = repo.replace("/", "-") + "-bare"
    digest = push_image(client, single, make_image(repo))  # `docker push host/ubuntu`
    assert_v1_answer(client.get(f"/v1/repositories/library/{single}/tags"), {"latest": digest})
    assert_v1_answer(client.delete(f"/v1/repositories/{single}/tags/latest"), True)
    assert client.get(f"/v2/{single}/tags/list").json()["tags"] == []


def test_deleting_a_tag_leaves_the_manifest_and_other_tags(client: httpx.Client, repo: str) -> None:
    digest = push_image(client, repo, make_image(repo), "latest")
    push_image(client, repo, make_image(repo), "stable")
    assert_v1_answer(client.delete(f"/v1/repositories/{repo}/tags/latest"), True)
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["stable"]
    assert client.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
    assert_v1_answer(client.get(f"/v1/repositories/{repo}/tags"), {"stable": digest})
    assert_error(client.delete(f"/v1/repositories/{repo}/tags/latest"), 404, "MANIFEST_UNKNOWN")


def test_deleting_a_repository_removes_its_tags_manifests_and_blob_links(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    digest = push_image(client, repo, image, "latest")
    push_image(client, repo, make_image(repo + "-2"), "other")
    assert_v1_answer(client.delete(f"/v1/repositories/{repo}/"), True)
    assert_error(client.get(f"/v2/{repo}/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/latest"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/blobs/{sha256(image.config)}"), 404, "BLOB_UNKNOWN")
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == []
    assert_error(client.get(f"/v1/repositories/{repo}/tags"), 404, "NAME_UNKNOWN")
    assert_error(client.delete(f"/v1/repositories/{repo}/"), 404, "NAME_UNKNOWN")
    # The name can be pushed again, from nothing.
    assert push_image(client, repo, image) == digest


# Index mode: tokens, and the seed's commands


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    with index_on_backend(database_backend, request, tmp_path_factory, "v1-index") as index:
        yield index


def curl(*args: str) -> tuple[int, dict[str, str], str]:
    """Run curl as a person would: status, headers (lowercase names) and body."""
    done = subprocess.run(
        ["curl", "-sS", "-D", "-", *args], capture_output=True, text=True, timeout=60, check=True
    )
    # text=True reads the CRLFs of the head as plain newlines
    head, _, body = done.stdout.partition("\n\n")
    status_line, *lines = head.split("\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def push_as_admin(index: IndexServer, name: str, *tags: str) -> str:
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        image = make_image(name)
        return [push_image(registry, name, image, tag) for tag in tags][-1]


def test_ping_says_not_standalone_with_an_index(index: IndexServer) -> None:
    status, headers, body = curl(f"{index.url}/v1/_ping")
    assert (status, json.loads(body)) == (200, True)
    assert headers["x-docker-registry-standalone"] == "false"
    assert headers["x-docker-registry-version"]


def test_the_seed_commands_work_against_an_index(index: IndexServer, tmp_path: Path) -> None:
    digest = push_as_admin(index, "library/registry", "latest")
    target = "reynholm/help-system-server"
    push_as_admin(index, target, "latest", "0.1.1")
    index.catalogued("library/registry")
    index.catalogued(target)
    with index.api(ADMIN) as api:
        assert api.patch(f"/api/repositories/{target}", json={"visibility": "private"}).is_success

    # As written: a public repository needs no credentials.
    status, _, body = curl(f"{index.url}/v1/_ping")
    assert (status, json.loads(body)) == (200, True)
    status, _, body = curl(f"{index.url}/v1/search?q=search_term&page=1&n=25")
    assert (status, json.loads(body)["num_results"]) == (200, 0)
    status, _, body = curl(f"{index.url}/v1/repositories/library/registry/tags")
    assert (status, json.loads(body)) == (200, {"latest": digest})

    # A private one does, as a password (curl -u) or a token; deleting needs the delete right.
    tag_url = f"{index.url}/v1/repositories/{target}/tags/latest"
    status, headers, _ = curl("-X", "DELETE", tag_url)
    assert status == 401
    assert headers["www-authenticate"].startswith(f'Bearer realm="{index.url}/token"')
    pusher = index.token(ADMIN, f"repository:{target}:pull,push")
    status, headers, _ = curl("-X", "DELETE", "-H", f"Authorization: Bearer {pusher}", tag_url)
    assert status == 401
    assert 'error="insufficient_scope"' in headers["www-authenticate"]
    status, _, _ = curl("-X", "DELETE", "-u", "admin:wrong-password", tag_url)
    assert status == 401
    password = f"admin:{ADMIN_PASSWORD}"
    status, _, body = curl("-X", "DELETE", "-u", password, tag_url)
    assert (status, json.loads(body)) == (200, True)

    repository_url = f"{index.url}/v1/repositories/{target}/"
    status, _, body = curl("-X", "DELETE", "-u", password, repository_url)
    assert (status, json.loads(body)) == (200, True)
    status, _, body = curl("-X", "DELETE", "-u", password, repository_url)
    assert (status, json.loads(body)["errors"][0]["code"]) == (404, "NAME_UNKNOWN")
    # The index forgets it (from the repository's delete event): a new push starts public again.
    with index.api(ADMIN) as api:
        eventually(lambda: api.get(f"/api/repositories/{target}").status_code == 404)
    push_as_admin(index, target, "again")
    index.catalogued(target)
    with index.api() as anonymous_api:
        shown = anonymous_api.get(f"/api/repositories/{target}")
        assert shown.json()["visibility"] == "public"


def test_a_private_repository_is_401_to_a_stranger_like_one_that_does_not_exist(
    index: IndexServer,
) -> None:
    name = "admin/v1-private"
    push_as_admin(index, name, "latest")
    with index.api(ADMIN) as api:
        assert api.patch(f"/api/repositories/{name}", json={"visibility": "private"}).is_success
    for repository in (name, "admin/v1-never-pushed"):
        token = index.token(None, f"repository:{repository}:pull")
        with httpx.Client(base_url=index.url, headers=bearer(token)) as anonymous:
            response = anonymous.get(f"/v1/repositories/{repository}/tags")
            assert_error(response, 401, "UNAUTHORIZED")


# Other modes without an index, and the events of v1 deletes


@pytest.mark.parametrize("mode", ["htpasswd", "token"])
def test_ping_says_standalone_in_the_other_modes_without_an_index(
    mode: str, tmp_path: Path
) -> None:
    users = tmp_path / "htpasswd"
    htpasswd(users, "alice", "wonderland")
    env = {"DOCKYARD_AUTH__MODE": mode, "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
    with dockyard_server(tmp_path / "data", env=env) as server:
        response = httpx.get(f"{server.url}/v1/_ping", timeout=30)  # no credentials needed
        assert_v1_answer(response, True)
        assert response.headers["x-docker-registry-standalone"] == "true"
        challenged = httpx.get(f"{server.url}/v1/repositories/alice/app/tags", timeout=30)
        assert_error(challenged, 401, "UNAUTHORIZED")
        v2 = httpx.get(f"{server.url}/v2/alice/app/tags/list", timeout=30)
        assert challenged.headers["www-authenticate"] == v2.headers["www-authenticate"]


def test_v1_deletes_record_the_same_events_as_v2_deletes(tmp_path: Path) -> None:
    users = tmp_path / "htpasswd"
    htpasswd(users, "alice", "wonderland")
    with ExitStack() as stack:
        receiver = stack.enter_context(event_receiver())
        config = tmp_path / "config.yml"
        config.write_text(
            notifications_config({"name": "listener", "url": receiver.url, "backoff": "200ms"})
        )
        env = {"DOCKYARD_AUTH__MODE": "htpasswd", "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
        server = stack.enter_context(
            dockyard_server(tmp_path / "data", "--config", str(config), env=env)
        )
        client = stack.enter_context(
            httpx.Client(base_url=server.url, headers=basic("alice", "wonderland"), timeout=30)
        )
        image = make_image("v1-events", layers=1)
        digest = push_image(client, "team/app", image, "latest")
        assert_v1_answer(client.delete("/v1/repositories/team/app/tags/latest"), True)
        assert_v1_answer(client.delete("/v1/repositories/team/app/"), True)
        events = receiver.wait_for(lambda got: sum(e["action"] == "delete" for e in got) >= 5)

    deletes = [
        (e["target"]["repository"], e["target"].get("tag"), e["target"].get("digest"))
        for e in events
        if e["action"] == "delete"
    ]
    blobs = sorted([sha256(image.config), sha256(image.layers[0])])
    assert deletes[0] == ("team/app", "latest", None)  # as Distribution: a tag, no digest
    assert deletes[1] == ("team/app", None, digest)
    assert sorted(d for _, _, d in deletes[2:4]) == blobs
    assert deletes[4] == ("team/app", None, None)  # the repository itself, as Distribution 3
    assert len(deletes) == 5
    assert all(e["actor"]["name"] == "alice" for e in events if e["action"] == "delete")
