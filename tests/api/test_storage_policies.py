"""Storage accounting, quotas, immutable tags and retention, through real sockets (and skopeo):
usage counts a blob shared by two repositories of a namespace once; a push over a quota is
refused with DENIED saying which quota and by how much, leaving nothing visible; an immutable
tag neither moves nor goes, by any path; retention deletes exactly what its dry run listed, and
on a schedule once across two workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error, assert_status
from tests.support.clients import ClientError, Skopeo, missing
from tests.support.collection import dockyard
from tests.support.images import make_image, push_image, put_manifest, sha256
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.oci_layout import Layout
from tests.support.postgres import backend_env
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)
QUIET = {"DOCKYARD_REGISTRY__RETENTION__ENABLED": "false"}
BOB = ("bob", "bob-password-1")


@dataclass
class Hub:
    index: IndexServer
    env: dict[str, str]  # what `dockyard <command>` needs beside --data

    def cli(self, command: str, *flags: str) -> Any:
        return dockyard(command, self.index.server.data, self.env, *flags)

    def api(self, credentials: Any = ADMIN) -> httpx.Client:
        return self.index.api(credentials)

    def push(self, repo: str, tag: str, seed: str, layers: int = 2) -> str:
        with self.index.registry(ADMIN, f"repository:{repo}:pull,push,delete") as registry:
            return push_image(registry, repo, make_image(seed, layers), tag)

    def registry(self, repo: str) -> httpx.Client:
        return self.index.registry(ADMIN, f"repository:{repo}:pull,push,delete")


@pytest.fixture(scope="module")
def hub(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    with ExitStack() as stack:
        env = {**stack.enter_context(backend_env(database_backend, request)), **QUIET}
        data = tmp_path_factory.mktemp(f"policies-{database_backend}") / "data"
        index = stack.enter_context(index_server(data, env))
        with index.api() as anonymous:
            body = {"username": BOB[0], "email": "bob@example.com", "password": BOB[1]}
            assert anonymous.post("/api/users", json=body).status_code == 201
        yield Hub(index, {**env, "DOCKYARD_AUTH__MODE": "index"})


def stored(image_seed: str, layers: int = 2) -> dict[str, int]:
    """Digest → size of everything an image stores (config, layers, manifest)."""
    image = make_image(image_seed, layers)
    blobs = {sha256(blob): len(blob) for blob in (image.config, *image.layers)}
    return {**blobs, image.digest: len(image.manifest)}


def test_usage_counts_a_blob_shared_by_two_repositories_of_a_namespace_once(hub: Hub) -> None:
    hub.push("usage/a", "v1", "shared")
    hub.push("usage/b", "v1", "shared")  # the very same image: every blob shared
    hub.push("usage/b", "v2", "own", layers=1)
    first, second = stored("shared"), stored("own", layers=1)
    expected_a = sum(first.values())
    expected_b = sum({**first, **second}.values())
    with hub.api() as api:
        answer = api.get("/api/namespaces/usage/usage")
        assert answer.status_code == 200, answer.text
        usage = answer.json()
        shown = api.get("/api/repositories/usage/b").json()
    assert usage["bytes"] == expected_b  # not expected_a + expected_b
    assert usage["repository_count"] == 2
    assert usage["repositories"] == [
        {"name": "usage/a", "bytes": expected_a},
        {"name": "usage/b", "bytes": expected_b},
    ]
    assert shown["stored_bytes"] == expected_b
    cli = hub.cli("usage", "usage")
    assert cli.status == 0, cli.stderr
    assert cli.lines[:2] == [
        f"usage/a\t{expected_a}\t{cli.lines[0].split(chr(9))[2]}",
        f"usage/b\t{expected_b}\t{cli.lines[1].split(chr(9))[2]}",
    ]
    assert cli.lines[-1].startswith(f"usage\t{expected_b}\t")
    with hub.api(BOB) as api:  # not bob's namespace
        assert api.get("/api/namespaces/usage/usage").status_code == 403


def test_only_site_administrators_set_quotas(hub: Hub) -> None:
    with hub.api(BOB) as api:
        assert api.get("/api/namespaces/bob/quota").status_code == 200
        refused = api.put("/api/namespaces/bob/quota", json={"max_bytes": 10**9})
        assert refused.status_code == 403, refused.text
    with hub.api() as api:
        answer = api.put("/api/namespaces/bob/quota", json={"max_repositories": 3})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "namespace": "bob",
            "max_bytes": None,
            "max_repositories": 3,
            "own": {"max_bytes": None, "max_repositories": 3},
        }
        reset = api.delete("/api/namespaces/bob/quota").json()
        assert reset["own"] is None and reset["max_repositories"] is None


def test_the_quota_and_usage_commands_refuse_what_is_not_a_namespace(hub: Hub) -> None:
    for command, flags in (("quota", ("x y", "--max-bytes", "10")), ("usage", ("",)),
                           ("quota", ("bob/app",)), ("usage", ("Bob",))):  # fmt: skip
        refused = hub.cli(command, *flags)
        assert refused.status == 2 and "is not a namespace" in refused.stderr, refused
    shown = hub.cli("quota", "bob")
    assert shown.status == 0 and shown.lines[-1].startswith("bob\t"), shown


def _layout(path: Path, seed: str, size: int) -> Layout:
    layout = Layout(path)
    payload = os.urandom(size // 2).hex().encode()[:size]  # incompressible, `size` bytes
    layout.tag("v1", layout.add_image([{f"/{seed}": payload}]))
    return layout


@pytest.mark.skipif(missing("skopeo") is not None, reason="skopeo is not installed")
def test_a_skopeo_push_over_the_byte_quota_is_refused_and_leaves_nothing(
    hub: Hub, tmp_path: Path
) -> None:
    with hub.api() as api:
        assert api.put("/api/namespaces/quota/quota", json={"max_bytes": 20_000}).status_code == 200
    layout = _layout(tmp_path / "big", "big", 50_000)
    skopeo = Skopeo(tmp_path / "skopeo")
    destination = f"docker://{hub.index.server.host}/quota/app:v1"
    with pytest.raises(ClientError) as refused:
        skopeo.copy(f"oci:{layout.path}:v1", destination, "--dest-creds", "admin:" + ADMIN_PASSWORD)
    message = str(refused.value)
    assert "storage quota exceeded" in message, message
    assert "to namespace quota, whose usage is 0 B" in message, message
    assert "would exceed its limit of 19.5 KiB by" in message, message
    with hub.registry("quota/app") as registry:
        listed = registry.get("/v2/quota/app/tags/list")
        assert listed.status_code == 404 or listed.json()["tags"] == []
        assert registry.get("/v2/quota/app/manifests/v1").status_code == 404
    with hub.api() as api:
        usage = api.get("/api/namespaces/quota/usage").json()
    assert (usage["bytes"], usage["repository_count"]) == (0, 0)
    # Within the quota, the same client pushes.
    small = _layout(tmp_path / "small", "small", 5_000)
    skopeo.copy(f"oci:{small.path}:v1", destination, "--dest-creds", "admin:" + ADMIN_PASSWORD)


def test_a_new_repository_over_the_repository_quota_is_refused_before_any_byte(hub: Hub) -> None:
    with hub.api() as api:
        api.put("/api/namespaces/few/quota", json={"max_repositories": 1}).raise_for_status()
    hub.push("few/one", "v1", "few-one")
    hub.push("few/one", "v2", "few-two")  # the same repository: no new one
    with hub.registry("few/two") as registry:
        refused = registry.post("/v2/few/two/blobs/uploads/")
    assert refused.status_code == 403
    error = refused.json()["errors"][0]
    assert error["code"] == "DENIED"
    assert error["message"] == (
        "repository quota exceeded: a new repository few/two would make 2 in namespace few, "
        "over its limit of 1 by 1"
    )


def test_a_repository_moved_into_a_namespace_is_held_to_its_quotas(hub: Hub) -> None:
    # Transfers bypassed both quotas: a namespace at its limit took any number of repositories
    # and bytes from another namespace its administrators held.
    with hub.api() as api:
        assert_status(api.post("/api/orgs", json={"name": "tight"}), 201)
    hub.push("tight/one", "v1", "tight-one")
    hub.push("admin/mover", "v1", "tight-mover", layers=3)
    moved = stored("tight-mover", layers=3)
    used = sum(stored("tight-one").values())
    transfer = "/api/repositories/admin/mover/transfer"
    with hub.api() as api:
        quota = {"max_repositories": 1}
        api.put("/api/namespaces/tight/quota", json=quota).raise_for_status()
        refused = api.post(transfer, json={"namespace": "tight"})
        assert_error(refused, 409, "CONFLICT")
        assert refused.json()["errors"][0]["message"] == (
            "repository quota exceeded: moving admin/mover in would make 2 repositories in "
            "namespace tight, over its limit of 1 by 1"
        )
        quota = {"max_repositories": 2, "max_bytes": used + 10}
        api.put("/api/namespaces/tight/quota", json=quota).raise_for_status()
        refused = api.post(transfer, json={"namespace": "tight"})
        assert_error(refused, 409, "CONFLICT")
        message = refused.json()["errors"][0]["message"]
        assert message.startswith("storage quota exceeded: moving admin/mover in adds "), message
        assert "to namespace tight, whose usage is" in message, message
        assert_status(api.get("/api/repositories/admin/mover"), 200)  # where it was
        api.delete("/api/namespaces/tight/quota").raise_for_status()
        assert_status(api.post(transfer, json={"namespace": "tight"}), 204)
        usage = api.get("/api/namespaces/tight/usage").json()
    assert (usage["bytes"], usage["repository_count"]) == (used + sum(moved.values()), 2)


def test_an_immutable_tag_never_moves_nor_goes(hub: Hub) -> None:
    with hub.api() as api:
        rule = api.put("/api/repositories/lock/app/immutable-tags", json={"patterns": ["v*"]})
        assert rule.status_code == 200, rule.text
    first = hub.push("lock/app", "v1", "lock-first")
    hub.push("lock/app", "latest", "lock-first")
    other = make_image("lock-second")
    with hub.registry("lock/app") as registry:
        push_image(registry, "lock/app", other, "latest")  # not immutable: moves
        assert put_manifest(registry, "lock/app", "v1", make_image("lock-first")).status_code == 201
        moved = put_manifest(registry, "lock/app", "v1", other)
        assert moved.status_code == 403
        error = moved.json()["errors"][0]
        assert error["code"] == "DENIED"
        assert (
            "'v1' already exists in repository lock/app and cannot be overwritten"
            in (error["message"])
        )
        assert "immutable (it matches 'v*')" in error["message"]
        for path in (
            "/v2/lock/app/manifests/v1",
            f"/v2/lock/app/manifests/{first}",
            "/v1/repositories/lock/app/tags/v1",
            "/v1/repositories/lock/app/",
        ):
            answer = registry.delete(path)
            assert answer.status_code == 403, (path, answer.text)
            assert "is immutable" in answer.json()["errors"][0]["message"]
        assert registry.get("/v2/lock/app/manifests/v1").headers["Docker-Content-Digest"] == first
        assert registry.delete("/v2/lock/app/manifests/latest").status_code == 202


@pytest.mark.skipif(missing("skopeo") is not None, reason="skopeo is not installed")
def test_skopeo_cannot_move_an_immutable_tag(hub: Hub, tmp_path: Path) -> None:
    with hub.api() as api:
        api.put(
            "/api/namespaces/frozen/immutable-tags", json={"patterns": ["*"]}
        ).raise_for_status()
    skopeo = Skopeo(tmp_path / "skopeo")
    destination = f"docker://{hub.index.server.host}/frozen/app:v1"
    creds = ("--dest-creds", "admin:" + ADMIN_PASSWORD)
    skopeo.copy(f"oci:{_layout(tmp_path / 'a', 'a', 1000).path}:v1", destination, *creds)
    with pytest.raises(ClientError) as refused:
        skopeo.copy(f"oci:{_layout(tmp_path / 'b', 'b', 1000).path}:v1", destination, *creds)
    assert "cannot be overwritten: it is immutable (it matches '*')" in str(refused.value)


def test_retention_deletes_exactly_what_its_dry_run_listed(hub: Hub) -> None:
    repo = "keep/app"
    for number in range(1, 6):
        hub.push(repo, f"build-{number}", f"keep-{number}")
    hub.push(repo, "release-1", "keep-release")
    hub.push(repo, "stable", "keep-stable")
    with hub.api() as api:
        policy = {"keep_last": 2, "match": "*", "protect": ["release-*"]}
        assert api.put(f"/api/repositories/{repo}/retention", json=policy).status_code == 200
        api.put("/api/namespaces/keep/immutable-tags", json={"patterns": ["stable"]})
    dry = hub.cli("retention", "--dry-run")
    assert dry.status == 0, dry.stderr
    # release-1 is protected and stable immutable: of the other five, the last two pushed stay.
    expected = {f"tag {repo}:build-{n}" for n in (1, 2, 3)}
    assert dry.deleted() == expected, dry.lines
    assert dry.lines[-1] == "retention: would delete 3 tags in 1 repositories"
    real = hub.cli("retention")
    assert real.status == 0, real.stderr
    assert real.deleted() == dry.deleted()
    with hub.registry(repo) as registry:
        left = registry.get(f"/v2/{repo}/tags/list").json()["tags"]
    assert sorted(left) == ["build-4", "build-5", "release-1", "stable"]

    def catalogue_followed() -> bool | None:
        with hub.api() as api:
            tags = api.get(f"/api/repositories/{repo}/tags").json()["results"]
        return {tag["name"] for tag in tags} == set(left) or None

    eventually(catalogue_followed, what="the catalogue without the deleted tags")
    assert hub.cli("retention", "--dry-run").deleted() == set()


def test_retention_keeps_tags_pulled_recently(hub: Hub) -> None:
    repo = "pulled/app"
    for number in range(1, 4):
        hub.push(repo, f"t{number}", f"pulled-{number}")
    with hub.api() as api:
        policy = {"keep_last": 0, "keep_days": 1}
        assert api.put("/api/namespaces/pulled/retention", json=policy).status_code == 200
    # Everything was pushed just now: kept. Nothing to go yet.
    assert hub.cli("retention", "--dry-run").deleted() == set()


def test_scheduled_retention_runs_once_across_two_workers(tmp_path: Path) -> None:
    env = {
        **QUIET,
        "DOCKYARD_HTTP__WORKERS": "2",
        "DOCKYARD_REGISTRY__RETENTION__ENABLED": "true",
        "DOCKYARD_REGISTRY__RETENTION__INTERVAL_MINUTES": "0.05",  # 3 s
    }
    with index_server(tmp_path / "data", env) as index:
        hub = Hub(index, env)
        repo = "sched/app"
        for number in range(1, 5):
            hub.push(repo, f"t{number}", f"sched-{number}")
        with hub.api() as api:
            api.put(f"/api/repositories/{repo}/retention", json={"keep_last": 1}).raise_for_status()

        def trimmed() -> list[str] | None:
            with hub.registry(repo) as registry:
                tags: list[str] = registry.get(f"/v2/{repo}/tags/list").json()["tags"]
            return tags if tags == ["t4"] else None

        eventually(trimmed, what="retention on its schedule", seconds=30)
        hub.push(repo, "t5", "sched-5")
        eventually(lambda: trimmed_to(hub, repo, ["t5"]) or None, seconds=30)

        def runs_logged() -> list[str] | None:
            # A run logs once all its deletions are done: the tags list shows them first.
            log = index.server.log.read_text().splitlines()
            lines = [line for line in log if "retention: deleted" in line]
            return lines if len(lines) >= 2 else None

        runs = eventually(runs_logged, what="both runs logged", seconds=30)
    assert len(runs) == 2, runs  # one run per change, however many workers looked
    assert "sched/app:t1, sched/app:t2, sched/app:t3" in runs[0]
    assert runs[1].endswith("sched/app:t4")


def trimmed_to(hub: Hub, repo: str, wanted: list[str]) -> bool:
    with hub.registry(repo) as registry:
        return bool(registry.get(f"/v2/{repo}/tags/list").json()["tags"] == wanted)
