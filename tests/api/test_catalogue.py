"""The catalogue: what the index knows of each repository and tag, learnt only from the
registry's events (in-process here): a repository appears on its first push, with each tag's
digest, size and platforms, who pushed it and when; pulls are counted; deletes remove what
they delete; a token asked for a name that is never pushed leaves nothing behind."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import (
    OCI_INDEX,
    descriptor,
    make_image,
    push_blobs,
    push_image,
    push_manifest,
    sha256,
)
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_on_backend, index_server
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def index(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    with index_on_backend(database_backend, request, tmp_path_factory, "catalogue") as index:
        yield index


def tags_of(index: IndexServer, name: str, **params: Any) -> dict[str, Any] | None:
    """The catalogue's tags of `name` as the admin sees them; None while it does not know it."""
    with index.api(ADMIN) as api:
        response = api.get(f"/api/repositories/{name}/tags", params=params)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def tagged(index: IndexServer, name: str) -> dict[str, Any]:
    """The catalogue's tags of `name` once it holds one: the repository appears with its
    first event (a blob's push), a moment before the tag's."""
    return eventually(
        lambda: (found := tags_of(index, name)) and found["results"] and found,
        what=f"a tag of {name} in the catalogue",
    )


def repository(index: IndexServer, name: str, credentials: Any = ADMIN) -> dict[str, Any] | None:
    with index.api(credentials) as api:
        response = api.get(f"/api/repositories/{name}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def tag_names(index: IndexServer, name: str) -> list[str] | None:
    found = tags_of(index, name)
    return None if found is None else [tag["name"] for tag in found["results"]]


def platform_image(
    seed: str, architecture: str, variant: str | None = None, shared: bytes = b""
) -> Any:
    image = make_image(seed)
    config: dict[str, Any] = {"architecture": architecture, "os": "linux", "seed": seed}
    if variant:
        config["variant"] = variant
    image.config = json.dumps(config).encode()
    if shared:
        image.layers.append(shared)
    return image


def test_a_push_shows_its_tag_with_digest_size_platform_and_pusher(index: IndexServer) -> None:
    name = "admin/catalogue-single"
    image = make_image(name)
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        digest = push_image(registry, name, image, "1.0")

    found = tagged(index, name)
    assert found["total"] == 1
    (tag,) = found["results"]
    size = len(image.config) + sum(len(layer) for layer in image.layers)
    assert tag["name"] == "1.0"
    assert tag["digest"] == digest
    assert tag["media_type"] == image.media_type
    assert tag["size"] == size
    assert tag["platforms"] == [
        {"os": "linux", "architecture": "amd64", "variant": None, "digest": digest, "size": size}
    ]
    assert tag["pushed_by"] == "admin"
    assert tag["pushed_at"]
    shown = repository(index, name)
    assert shown is not None
    assert shown["tag_count"] == 1
    assert shown["last_push_at"] is not None
    assert shown["pull_count"] == 0


def test_an_index_shows_each_platform_and_counts_shared_blobs_once(index: IndexServer) -> None:
    name = "admin/catalogue-multi"
    shared = b"a layer both platforms hold" * 50
    amd64 = platform_image(name + "-amd64", "amd64", shared=shared)
    arm64 = platform_image(name + "-arm64", "arm64", "v8", shared=shared)
    children = [
        descriptor(
            amd64.media_type, amd64.manifest, platform={"os": "linux", "architecture": "amd64"}
        ),
        descriptor(
            arm64.media_type,
            arm64.manifest,
            platform={"os": "linux", "architecture": "arm64", "variant": "v8"},
        ),
    ]
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        push_blobs(registry, name, amd64, arm64)
        for child in (amd64, arm64):
            push_manifest(registry, name, child.digest, child.manifest, child.media_type)
        push_manifest(registry, name, "multi", body, OCI_INDEX)

    found = tagged(index, name)
    (tag,) = found["results"]
    assert tag["digest"] == sha256(body)
    assert tag["media_type"] == OCI_INDEX

    def image_size(image: Any) -> int:
        return len(image.config) + sum(len(layer) for layer in image.layers)

    assert tag["platforms"] == [
        {
            "os": "linux",
            "architecture": "amd64",
            "variant": None,
            "digest": amd64.digest,
            "size": image_size(amd64),
        },
        {
            "os": "linux",
            "architecture": "arm64",
            "variant": "v8",
            "digest": arm64.digest,
            "size": image_size(arm64),
        },
    ]
    assert tag["size"] == image_size(amd64) + image_size(arm64) - len(shared)


def test_sizes_a_manifest_declares_past_a_bigint_in_all_are_shown_capped(
    index: IndexServer,
) -> None:
    # Each an int64, as the spec allows; added up, more than the size column holds. The
    # catalogue's delivery failed on it, and retried it, holding every later event back.
    name, later = "admin/catalogue-huge", "admin/catalogue-after-huge"
    image = make_image(name)
    document = json.loads(image.manifest)
    for layer in document["layers"]:
        layer["size"] = 2**63 - 1
    body = json.dumps(document).encode()
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        push_blobs(registry, name, image)
        push_manifest(registry, name, "huge", body, image.media_type)
    with index.registry(ADMIN, f"repository:{later}:pull,push") as registry:
        push_image(registry, later, make_image(later), "next")
    assert tagged(index, later)["results"][0]["name"] == "next"
    (tag,) = tagged(index, name)["results"]
    assert tag["size"] == 2**63 - 1


def test_a_token_for_a_name_never_pushed_leaves_nothing_behind(index: IndexServer) -> None:
    name = "admin/catalogue-never-pushed"
    index.token(ADMIN, f"repository:{name}:pull,push")
    pushed = "admin/catalogue-pushed-after"
    with index.registry(ADMIN, f"repository:{pushed}:pull,push") as registry:
        push_image(registry, pushed, make_image(pushed))
    # Events are applied in order: once the later push shows, the token would have too.
    eventually(lambda: repository(index, pushed), what="the pushed repository")
    assert repository(index, name) is None
    with index.api(ADMIN) as api:
        found = api.get("/api/search", params={"q": "catalogue-never"}).json()
    assert found["total"] == 0


def test_pulls_are_counted_and_sort_the_search(index: IndexServer) -> None:
    popular, quiet = "admin/catalogue-popular", "admin/catalogue-quiet"
    scope = f"repository:{popular}:pull,push"
    with index.registry(ADMIN, scope, f"repository:{quiet}:pull,push") as registry:
        push_image(registry, popular, make_image(popular))
        push_image(registry, quiet, make_image(quiet))
        for _ in range(3):
            assert registry.get(f"/v2/{popular}/manifests/latest").status_code == 200
        assert registry.head(f"/v2/{popular}/manifests/latest").status_code == 200  # no pull
        assert registry.get(f"/v2/{quiet}/manifests/latest").status_code == 200

    def counted() -> dict[str, Any] | None:
        shown = repository(index, popular)
        return shown if shown and shown["pull_count"] >= 3 else None

    shown = eventually(counted, what="three pulls counted")
    assert shown["pull_count"] == 3
    assert shown["last_pull_at"] is not None
    eventually(lambda: (repository(index, quiet) or {}).get("pull_count") == 1)
    with index.api() as anonymous:
        found = anonymous.get("/api/search", params={"q": "catalogue-", "sort": "pulls"}).json()
        v1 = anonymous.get("/v1/search", params={"q": "catalogue-popular"}).json()
    names = [hit["name"] for hit in found["results"]]
    assert names.index(popular) < names.index(quiet)
    with index.api() as anonymous:
        newest = anonymous.get("/api/search", params={"q": "catalogue-", "sort": "last_push"})
    pushed_order = [hit["name"] for hit in newest.json()["results"]]
    assert pushed_order.index(quiet) < pushed_order.index(popular)  # quiet was pushed last
    assert found["results"][0]["pull_count"] == 3
    assert v1["results"][0]["pull_count"] == 3


def test_deletes_remove_what_they_delete(index: IndexServer) -> None:
    name = "admin/catalogue-deletes"
    scope = f"repository:{name}:pull,push,delete"
    with index.registry(ADMIN, scope) as registry:
        first = push_image(registry, name, make_image(name), "a")
        push_image(registry, name, make_image(name), "b")
        push_image(registry, name, make_image(name + "-other"), "c")
        eventually(lambda: tag_names(index, name) == ["a", "b", "c"])

        assert registry.delete(f"/v2/{name}/manifests/c").status_code == 202
        eventually(lambda: tag_names(index, name) == ["a", "b"], what="tag c gone")
        assert registry.delete(f"/v2/{name}/manifests/{first}").status_code == 202
        eventually(lambda: tag_names(index, name) == [], what="tags of the manifest gone")
    shown = repository(index, name)
    assert shown is not None and shown["tag_count"] == 0  # the repository itself stays


def test_moving_a_tag_updates_it(index: IndexServer) -> None:
    name = "admin/catalogue-moves"
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image(name), "stable")
        eventually(lambda: tag_names(index, name) == ["stable"])
        moved = push_image(registry, name, make_image(name + "-2"), "stable")

    def moved_there() -> bool:
        found = tags_of(index, name)
        return found is not None and found["results"][0]["digest"] == moved

    eventually(moved_there, what="the tag moved")


def test_a_private_repository_and_its_tags_are_hidden_from_strangers(index: IndexServer) -> None:
    name = "admin/catalogue-private"
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        push_image(registry, name, make_image(name), "secret")
    tagged(index, name)
    with index.api(ADMIN) as api:
        assert api.patch(f"/api/repositories/{name}", json={"visibility": "private"}).is_success
    with index.api() as anonymous:
        assert anonymous.get(f"/api/repositories/{name}/tags").status_code == 404
        assert anonymous.get(f"/api/repositories/{name}").status_code == 404
        assert anonymous.get("/api/search", params={"q": "catalogue-private"}).json()["total"] == 0
    assert tag_names(index, name) == ["secret"]  # its administrators still see them


def test_tag_listing_pages_and_sorts(index: IndexServer) -> None:
    name = "admin/catalogue-pages"
    with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
        for tag in ("t1", "t2", "t3"):
            push_image(registry, name, make_image(name), tag)
    eventually(lambda: tag_names(index, name) == ["t1", "t2", "t3"])
    second = tags_of(index, name, per_page=2, page=2)
    assert second is not None
    assert (second["total"], second["pages"]) == (3, 2)
    assert [tag["name"] for tag in second["results"]] == ["t3"]
    newest = tags_of(index, name, sort="last_push")
    assert newest is not None
    assert [tag["name"] for tag in newest["results"]] == ["t3", "t2", "t1"]
    with index.api(ADMIN) as api:
        bad = api.get(f"/api/repositories/{name}/tags", params={"sort": "nope"})
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["code"] == "INVALID_REQUEST"
        bad = api.get(f"/api/repositories/{name}/tags", params={"per_page": "0"})
        assert bad.status_code == 400


def test_events_pending_at_a_sigkill_reach_the_catalogue_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    name = "admin/catalogue-killed"
    with ExitStack() as stack:
        index = stack.enter_context(index_server(data))
        with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
            digest = push_image(registry, name, make_image(name), "kept")
        index.server.stop(signal.SIGKILL)  # perhaps before the catalogue took the event
    with index_server(data) as index:
        # A kill while the catalogue held the events' lease: they wait for it to run out (20 s).
        found = eventually(
            lambda: tags_of(index, name), seconds=40, what="the push after the restart"
        )
        assert [(t["name"], t["digest"]) for t in found["results"]] == [("kept", digest)]


def test_with_pull_counts_off_nothing_is_counted(tmp_path: Path) -> None:
    name = "admin/catalogue-uncounted"
    with index_server(tmp_path / "data", {"DOCKYARD_INDEX__PULL_COUNTS": "false"}) as index:
        with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
            push_image(registry, name, make_image(name))
            index.catalogued(name)
            for _ in range(3):
                assert registry.get(f"/v2/{name}/manifests/latest").status_code == 200
            later = name + "-later"
            with index.registry(ADMIN, f"repository:{later}:pull,push") as other:
                push_image(other, later, make_image(later))
            # Pull counts are added after each delivery round, the later push applied in one.
            index.catalogued(later)
            time.sleep(1.5)  # a few more rounds: counting would have shown by now
        shown = repository(index, name)
        assert shown is not None
        assert (shown["pull_count"], shown["last_pull_at"]) == (0, None)


@pytest.mark.tracebacks_expected  # the fault's, logged as the event is passed over
def test_an_event_the_catalogue_cannot_apply_holds_no_later_one_back(tmp_path: Path) -> None:
    # A fault in applying one event (here a trigger of the database refusing the tag) made
    # the in-order delivery try it again and again: nothing after it reached the catalogue.
    data = tmp_path / "data"
    poisoned, later = "admin/catalogue-poisoned", "admin/catalogue-after-poison"
    with index_server(data) as index:
        _on_database(data, _refusing_tags("WHEN NEW.tag = 'poison'"))
        with index.registry(ADMIN, f"repository:{poisoned}:pull,push") as registry:
            push_image(registry, poisoned, make_image(poisoned), "poison")
            push_image(registry, poisoned, make_image(poisoned + "-2"), "fine")
        with index.registry(ADMIN, f"repository:{later}:pull,push") as registry:
            push_image(registry, later, make_image(later), "next")
        assert tagged(index, later)["results"][0]["name"] == "next"
        assert eventually(lambda: tag_names(index, poisoned) == ["fine"], what="fine only")
    assert "the catalogue passed over an event" in index.server.log.read_text()


@pytest.mark.tracebacks_expected  # the delivery's failures, while every event fails
def test_when_every_event_fails_they_are_kept_until_the_fault_is_gone(tmp_path: Path) -> None:
    # A fault of the catalogue's own (no tag can be written) passes nothing over.
    data = tmp_path / "data"
    name = "admin/catalogue-kept"
    with index_server(data) as index:
        _on_database(data, _refusing_tags(""))
        with index.registry(ADMIN, f"repository:{name}:pull,push") as registry:
            for tag in ("one", "two"):
                push_image(registry, name, make_image(f"{name}-{tag}"), tag)
        time.sleep(2)  # rounds that fail
        assert not tag_names(index, name)
        _on_database(data, "DROP TRIGGER refuse_tags")
        assert eventually(lambda: tag_names(index, name) == ["one", "two"], seconds=40)


def _refusing_tags(when: str) -> str:
    """A trigger of the index's database that refuses the catalogue's tags (`when`: which)."""
    return (
        f"CREATE TRIGGER refuse_tags BEFORE INSERT ON catalogue_tags {when}"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )


def _on_database(data: Path, statement: str) -> None:
    with sqlite3.connect(data / "registry.db") as database:
        database.execute(statement)
