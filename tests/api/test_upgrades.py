"""A registry written by an earlier version, upgraded by starting this one on its data: the
database migrates with its rows in it, and everything it held is served as before, to the same
people (tests/data/upgrades/ says what each database holds and how it was made)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.support.images import Image, make_image, push_image, sha256
from tests.support.index import ADMIN_PASSWORD, index_server
from tests.support.postgres import backend_env

UPGRADES = Path(__file__).parents[1] / "data" / "upgrades"
# The migration each database is at, and the commit that wrote it (the images' seeds).
WRITTEN_BY = {"0004": "a15c291", "0020": "8f9ad15"}
IMAGES = (("admin/app", "v1"), ("admin/app", "v2"), ("oscar/tool", "latest"))
ADMIN = ("admin", ADMIN_PASSWORD)
OSCAR = ("oscar", "oscar-password-1")


@pytest.fixture
def backend_database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment of a new, empty database of the session's PostgreSQL."""
    with backend_env("postgresql", request) as env:
        yield env


def _restore(data: Path, revision: str, database_url: str | None) -> dict[tuple[str, str], Image]:
    """The data directory as that version left it: its database (SQLite in the directory, or
    the PostgreSQL database at `database_url`), and the blobs, written again from the images'
    seeds."""
    data.mkdir(parents=True)
    if database_url is None:
        with contextlib.closing(sqlite3.connect(data / "registry.db")) as database:
            database.executescript((UPGRADES / f"{revision}.sql").read_text())
    else:
        libpq = make_url(database_url).set(drivername="postgresql")
        with psycopg.connect(libpq.render_as_string(hide_password=False)) as database:
            database.execute((UPGRADES / f"{revision}.postgresql.sql").read_bytes())
    images = {}
    for repository, tag in IMAGES:
        image = make_image(f"{WRITTEN_BY[revision]}-{repository}-{tag}")
        for blob in (image.config, *image.layers):  # manifests live in the database
            hexadecimal = sha256(blob).removeprefix("sha256:")
            path = data / "storage" / "blobs" / "sha256" / hexadecimal[:2] / hexadecimal
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
        images[(repository, tag)] = image
    return images


def _command(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args, "--data", str(data)],
        env={**os.environ, "DOCKYARD_AUTH__MODE": "index", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _names(client: httpx.Client) -> set[str]:
    return {found["name"] for found in client.get("/api/search").json()["results"]}


@pytest.mark.parametrize(
    ("revision", "backend"), [("0004", "sqlite"), ("0020", "sqlite"), ("0020", "postgresql")]
)
def test_a_registry_written_by_an_earlier_version_serves_what_it_held(
    tmp_path: Path, revision: str, backend: str, request: pytest.FixtureRequest
) -> None:
    data = tmp_path / "data"
    env = request.getfixturevalue("backend_database") if backend == "postgresql" else {}
    images = _restore(data, revision, env.get("DOCKYARD_DATABASE__URL"))
    with index_server(data, env) as index:
        for (repository, tag), image in images.items():
            owner = OSCAR if repository.startswith("oscar/") else ADMIN
            with index.registry(owner, f"repository:{repository}:pull") as registry:
                manifest = registry.get(f"/v2/{repository}/manifests/{tag}")
                assert manifest.content == image.manifest
                for blob in (image.config, *image.layers):
                    assert registry.get(f"/v2/{repository}/blobs/{sha256(blob)}").content == blob
        # Pushed before the catalogue existed, tags are found once it is rebuilt from the
        # registry's metadata (docs/operations.md); a rebuild changes nothing otherwise.
        rebuilt = _command(data, env, "index", "rebuild")
        assert rebuilt.returncode == 0, rebuilt.stderr
        with index.api() as anonymous, index.api(OSCAR) as oscar:
            assert _names(anonymous) == {"admin/app"}  # oscar/tool is still private
            assert anonymous.get("/api/repositories/oscar/tool").status_code == 404
            assert _names(oscar) == {"admin/app", "oscar/tool"}
            tags = oscar.get("/api/repositories/admin/app/tags").json()["results"]
            assert {tag["name"] for tag in tags} == {"v1", "v2"}
            if revision >= "0010":  # stars and comments
                assert oscar.get("/api/repositories/admin/app").json()["star_count"] == 1
                comments = oscar.get("/api/repositories/admin/app/comments").json()["results"]
                assert [comment["body"] for comment in comments] == ["old comment"]
        with index.registry(ADMIN, "repository:admin/app:pull,push") as registry:
            push_image(registry, "admin/app", make_image(f"upgraded-{revision}"), "v3")
        index.tagged("admin/app", "v3")
    checked = _command(data, env, "fsck")
    assert checked.returncode == 0 and " 0 problems" in checked.stdout, checked
