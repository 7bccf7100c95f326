"""`dockyard index rebuild`: the catalogue written afresh from the registry's metadata, as for
images pushed before the catalogue existed. Images are pushed to an index-mode server, the
catalogue is wiped with the server stopped, and the command (a subprocess with the server's
settings) brings back the repositories, tags, digests, sizes and platforms; run again, it
changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.support.api import assert_status
from tests.support.images import (
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    descriptor,
    make_image,
    push_blobs,
    push_image,
    push_manifest,
    sha256,
)
from tests.support.index import ADMIN_PASSWORD, IndexServer, index_server
from tests.support.postgres import backend_env
from tests.support.servers import TRACEBACK
from tests.support.waiting import eventually

ADMIN = ("admin", ADMIN_PASSWORD)
SHARED_LAYER = b"a layer both platforms hold" * 50
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}


def platform_image(platform: dict[str, str], own_layer: bytes) -> Image:
    config = json.dumps({**platform, "rootfs": {"type": "layers"}}).encode()
    return Image(config, [SHARED_LAYER, own_layer])


def image_size(image: Image) -> int:
    return len(image.config) + sum(len(layer) for layer in image.layers)


@dataclass
class Pushed:
    solo: Image  # pushed as `solo`: `library/solo` to the index
    amd64: Image
    arm64: Image
    index: bytes  # library/multi:v2, of amd64 and arm64
    kept: Image  # library/kept: its catalogue is not wiped


@dataclass
class Site:
    index: IndexServer
    env: dict[str, str]  # the server's settings, given to the command too
    database: Engine

    def rows(self, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
        with self.database.begin() as connection:
            return [tuple(row) for row in connection.execute(text(sql), parameters)]

    def execute(self, sql: str, **parameters: Any) -> None:
        with self.database.begin() as connection:
            connection.execute(text(sql), parameters)

    def rebuild(self, **env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dockyard.cli", "index", "rebuild"]
        return subprocess.run(
            [*command, "--data", str(self.index.server.data)],
            env={**os.environ, **self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def catalogue(self) -> list[tuple[Any, ...]]:
        return self.rows(
            "SELECT r.name, r.visibility, r.description, r.pull_count, r.last_push_at,"
            " r.tag_count, t.tag, t.digest, t.media_type, t.size, t.platforms, t.pushed_at,"
            " t.pushed_by FROM repository_settings r"
            " LEFT JOIN catalogue_tags t ON t.repository_id = r.id ORDER BY r.name, t.tag"
        )

    def tags_of(self, repository: str) -> list[tuple[Any, ...]]:
        return self.rows(
            "SELECT t.* FROM catalogue_tags t JOIN repository_settings r"
            " ON r.id = t.repository_id WHERE r.name = :name ORDER BY t.tag",
            name=repository,
        )

    def tag(self, repository: str, tag: str) -> tuple[Any, ...]:
        found = self.rows(
            "SELECT t.digest, t.media_type, t.size, t.platforms, t.pushed_by"
            " FROM catalogue_tags t JOIN repository_settings r ON r.id = t.repository_id"
            " WHERE r.name = :name AND t.tag = :tag",
            name=repository,
            tag=tag,
        )
        assert len(found) == 1, found
        return found[0]

    def repository(self, name: str) -> tuple[Any, ...]:
        found = self.rows(
            "SELECT visibility, description, pull_count, last_push_at, tag_count"
            " FROM repository_settings WHERE name = :name",
            name=name,
        )
        assert len(found) == 1, found
        return found[0]

    def newest_registry_push(self, name: str) -> Any:
        (found,) = self.rows(
            "SELECT MAX(t.updated_at) FROM tags t JOIN repositories r ON r.id = t.repository_id"
            " WHERE r.name = :name",
            name=name,
        )[0]
        return found


@pytest.fixture
def site(
    database_backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Site, Pushed]]:
    with ExitStack() as stack:
        backend = stack.enter_context(backend_env(database_backend, request))
        env = {"DOCKYARD_AUTH__MODE": "index", **backend}
        data = tmp_path / "data"
        url = env.get("DOCKYARD_DATABASE__URL") or f"sqlite:///{data / 'registry.db'}"
        with index_server(data, env) as index:
            database = create_engine(url)
            stack.callback(database.dispose)
            site = Site(index, env, database)
            pushed = _push(site)
        yield site, pushed


def _push(site: Site) -> Pushed:
    """Push through the registry and wait for the catalogue to hold what the events said."""
    index = site.index
    pushed = Pushed(
        solo=make_image("rebuild-solo"),
        amd64=platform_image(AMD64, b"amd64 only" * 40),
        arm64=platform_image(ARM64, b"arm64 only" * 60),
        index=b"",
        kept=make_image("rebuild-kept"),
    )
    children = [
        descriptor(OCI_MANIFEST, image.manifest, platform=platform)
        for image, platform in ((pushed.amd64, AMD64), (pushed.arm64, ARM64))
    ]
    pushed.index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
    ).encode()
    with index.api(ADMIN) as api:  # set up before any push: settings of its own
        change = {"visibility": "private", "description": "two platforms"}
        assert_status(api.patch("/api/repositories/library/multi", json=change), 200)
        assert_status(api.patch("/api/repositories/library/empty", json=change), 200)
    with index.registry(ADMIN, "repository:solo:pull,push") as client:
        push_image(client, "solo", pushed.solo, "1.0")
        push_manifest(client, "solo", "latest", pushed.solo.manifest, OCI_MANIFEST)
    with index.registry(ADMIN, "repository:library/multi:pull,push") as client:
        push_blobs(client, "library/multi", pushed.amd64, pushed.arm64)
        for image in (pushed.amd64, pushed.arm64):
            push_manifest(client, "library/multi", image.digest, image.manifest, OCI_MANIFEST)
        push_manifest(client, "library/multi", "v2", pushed.index, OCI_INDEX)
    with index.registry(ADMIN, "repository:library/kept:pull,push") as client:
        push_image(client, "library/kept", pushed.kept, "stable")
    eventually(
        lambda: len(site.rows("SELECT tag FROM catalogue_tags")) == 4,
        what="the catalogue holding the four pushed tags",
    )
    return pushed


def _wipe_as_before_this_version(site: Site) -> None:
    """The catalogue as an older version left it: no tags, no activity (library/multi's
    settings kept, with pulls counted; library/solo's row gone), and a tag the registry never
    had on library/empty, set up by an administrator and never pushed to."""
    site.execute(
        "DELETE FROM catalogue_tags WHERE repository_id IN"
        " (SELECT id FROM repository_settings WHERE name <> 'library/kept')"
    )
    site.execute("DELETE FROM repository_settings WHERE name = 'library/solo'")
    site.execute(
        "UPDATE repository_settings SET last_push_at = NULL, tag_count = 0, pull_count = 7"
        " WHERE name = 'library/multi'"
    )
    site.execute(
        "INSERT INTO catalogue_tags (repository_id, tag, digest, media_type, platforms,"
        " pushed_at) SELECT id, 'ghost', :digest, :type, '[]', created_at"
        " FROM repository_settings WHERE name = 'library/empty'",
        digest=sha256(b"ghost"),
        type=OCI_MANIFEST,
    )
    site.execute("UPDATE repository_settings SET tag_count = 1 WHERE name = 'library/empty'")


def test_rebuild_brings_back_what_was_pushed_before_the_catalogue(
    site: tuple[Site, Pushed],
) -> None:
    world, pushed = site
    kept_before = world.tags_of("library/kept")
    world.index.server.stop()
    _wipe_as_before_this_version(world)

    done = world.rebuild()

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "library/empty: 0 tags (0 added, 0 changed, 1 removed)",
        "library/kept: 1 tags, unchanged",
        "library/multi: 1 tags (1 added, 0 changed, 0 removed)",
        "library/solo: 2 tags (2 added, 0 changed, 0 removed)",
    ]
    assert lines[4].startswith("rebuilt the catalogue: 4 repositories, 4 tags, ")
    solo_size = image_size(pushed.solo)
    solo_platforms = [{**AMD64, "digest": pushed.solo.digest, "size": solo_size}]
    for tag in ("1.0", "latest"):
        digest, media_type, size, platforms, pushed_by = world.tag("library/solo", tag)
        assert (digest, media_type, size) == (pushed.solo.digest, OCI_MANIFEST, solo_size)
        assert json.loads(platforms) == solo_platforms
        assert pushed_by is None  # not recorded by the registry
    digest, media_type, size, platforms, _ = world.tag("library/multi", "v2")
    assert (digest, media_type) == (sha256(pushed.index), OCI_INDEX)
    shared = len(pushed.amd64.layers[0])
    assert size == image_size(pushed.amd64) + image_size(pushed.arm64) - shared
    assert json.loads(platforms) == [
        {**AMD64, "digest": pushed.amd64.digest, "size": image_size(pushed.amd64)},
        {**ARM64, "digest": pushed.arm64.digest, "size": image_size(pushed.arm64)},
    ]
    # The administrators' settings and the pull counts are left as they were.
    visibility, description, pulls, last_push, count = world.repository("library/multi")
    assert (visibility, description, pulls, count) == ("private", "two platforms", 7, 1)
    assert last_push == world.newest_registry_push("library/multi")
    visibility, _, pulls, last_push, count = world.repository("library/solo")
    assert (visibility, pulls, count) == ("public", 0, 2)
    assert last_push == world.newest_registry_push("solo")
    assert world.repository("library/empty")[:3] == ("private", "two platforms", 0)
    assert world.repository("library/empty")[4] == 0
    assert world.tags_of("library/kept") == kept_before  # as the events wrote them


def test_rebuild_run_again_changes_nothing(site: tuple[Site, Pushed]) -> None:
    world, _ = site
    world.index.server.stop()
    _wipe_as_before_this_version(world)
    # As when the manifest could not be read as the event came: described again, and still
    # pushed by whom the event said, as the digest is the same.
    world.execute(
        "UPDATE catalogue_tags SET size = NULL WHERE repository_id IN"
        " (SELECT id FROM repository_settings WHERE name = 'library/kept')"
    )
    first = world.rebuild()
    assert first.returncode == 0, first.stderr
    assert "library/kept: 1 tags (0 added, 1 changed, 0 removed)" in first.stdout.splitlines()
    assert world.tag("library/kept", "stable")[2] is not None
    assert world.tag("library/kept", "stable")[4] == "admin"
    before = world.catalogue()

    again = world.rebuild()

    assert again.returncode == 0, again.stderr
    assert world.catalogue() == before
    lines = again.stdout.splitlines()
    assert lines[:-1] == [
        "library/kept: 1 tags, unchanged",
        "library/multi: 1 tags, unchanged",
        "library/solo: 2 tags, unchanged",
    ]  # library/empty has nothing left to clear: no longer listed


def test_rebuild_refuses_outside_index_mode(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dockyard.cli", "index", "rebuild"]
    done = subprocess.run(
        [*command, "--data", str(tmp_path / "data")],
        env={**os.environ, "DOCKYARD_AUTH__MODE": "none"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        "dockyard: index rebuild needs auth.mode index (it is none)"
    ]
    assert TRACEBACK not in done.stderr
    assert done.stdout == ""
