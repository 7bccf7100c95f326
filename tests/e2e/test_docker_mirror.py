"""The Docker engine's `registry-mirrors` (issue 14): dockerd with Dockyard as its mirror pulls a
`library/...` image through it from a local Distribution, and again from the cache once
Distribution stopped; behind htpasswd, with the credentials the CLI holds for Docker Hub; in
`auth.mode: index`, anonymously, through a public mirror rule. The image's name is new each run
and Docker Hub is unreachable here: only the mirror can serve it."""

from __future__ import annotations

import asyncio
import io
import json
import platform
import subprocess
import tarfile
import uuid
from base64 import b64encode
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.client import RegistryClient
from tests.support.access_log import Access, read_access_log, wait_for_entries
from tests.support.auth import htpasswd
from tests.support.clients import missing
from tests.support.distribution import distribution_server
from tests.support.docker_engine import DockerEngine, docker_available, docker_engine
from tests.support.images import DOCKER_MANIFEST, Image, sha256
from tests.support.index import index_server
from tests.support.mirrors import mirror_env, upstream
from tests.support.oci_layout import tar_layer
from tests.support.servers import dockyard_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(docker_available() is not None, reason=str(docker_available())),
    pytest.mark.skipif(missing("docker-registry") is not None, reason="no docker-registry"),
]

ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}


def docker_image(nonce: str) -> tuple[Image, dict[str, bytes]]:
    """A Docker schema 2 image of two real (uncompressed) tar layers for this machine's
    architecture, as dockerd unpacks it; and the files it holds."""
    files = {"hello.txt": f"pulled through dockyard {nonce}\n".encode(), "etc/motd": b"motd\n"}
    layers = [tar_layer({"hello.txt": files["hello.txt"]}), tar_layer({"etc/motd": b"motd\n"})]
    config = {
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "config": {"Cmd": ["/hello"], "Labels": {"nonce": nonce}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in layers]},
        "history": [{"created_by": "layer 0"}, {"created_by": "layer 1"}],
    }
    image = Image(json.dumps(config).encode(), layers, media_type=DOCKER_MANIFEST)
    return image, files


def push_to_distribution(host: str, name: str, image: Image) -> None:
    async def main() -> None:
        async with RegistryClient() as client:
            repository = client.registry(host).repository(name)
            for blob in blobs_of(image):
                await repository.push_blob(blob)
            await repository.put_manifest(image.manifest, image.media_type, "latest")

    asyncio.run(main())


def blobs_of(image: Image) -> list[bytes]:
    return [image.config, *image.layers]


def pull_requests(name: str, image: Image) -> set[Access]:
    """What dockerd asks a registry mirror for when it pulls `name:latest` (besides `GET /v2/`):
    HEAD of the tag, the manifest by digest, the config and each layer."""
    return {
        Access("HEAD", f"/v2/{name}/manifests/latest", 200),
        Access("GET", f"/v2/{name}/manifests/{image.digest}", 200),
        *(Access("GET", f"/v2/{name}/blobs/{sha256(blob)}", 200) for blob in blobs_of(image)),
    }


def file_in_image(docker: DockerEngine, image: str, path: str) -> bytes:
    """A file of the image as the engine unpacked it: `docker create`, then `docker cp`."""
    container = docker.run("create", image).stdout.strip()
    try:
        copied = subprocess.run(
            ["docker", "cp", f"{container}:{path}", "-"],
            env=docker.env(), capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        archive = copied.stdout
    finally:
        docker.run("rm", container)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(Path(path).name)
        assert member is not None
        return member.read()


def library_rule(origin: str) -> dict[str, Any]:
    """A mirror rule for `library/...` from `origin`, as dockerd asks its registry-mirrors for
    Docker Hub's official images."""
    return {
        "prefix": "library",
        "upstream_prefix": "library",
        "upstreams": [upstream(origin)],
        "revalidate_seconds": 0,  # every tag read asks the upstream (seen failing below)
        "timeout_seconds": 2,
    }


def library_mirror(origin: str, **settings: str) -> dict[str, str]:
    """The environment of a Dockyard with library_rule."""
    return mirror_env(library_rule(origin), **settings)


def assert_pulled(docker: DockerEngine, short: str, image: Image, files: dict[str, bytes]) -> None:
    """The engine holds the image: its id is the config's digest, its files are unpacked."""
    found = docker.run("image", "inspect", "-f", "{{.Id}}", short).stdout.strip()
    assert found == sha256(image.config)
    assert file_in_image(docker, short, "/hello.txt") == files["hello.txt"]


def assert_asked(log: Path, wanted: set[Access], since: int = 0) -> None:
    """Dockyard's access log shows every request in `wanted` after its first `since` lines."""
    entries = wait_for_entries(log, lambda found: wanted <= set(found[since:]))[since:]
    assert wanted <= set(entries), "\n".join(map(str, entries))


def test_dockerd_pulls_library_images_through_dockyard_as_its_registry_mirror(
    tmp_path: Path,
) -> None:
    nonce = uuid.uuid4().hex[:12]
    short = f"dockyard-mirror-{nonce}"  # `docker pull SHORT` is docker.io/library/SHORT:latest
    name = f"library/{short}"
    image, files = docker_image(nonce)

    with ExitStack() as stack:
        with distribution_server(tmp_path / "distribution") as origin:
            push_to_distribution(origin.host, name, image)
            env = library_mirror(origin.url)
            mirror = stack.enter_context(dockyard_server(tmp_path / "mirror", env=env))
            docker = stack.enter_context(docker_engine(settings={"registry-mirrors": [mirror.url]}))

            docker.run("pull", short)
            assert_pulled(docker, short, image, files)
            digests = docker.run("image", "inspect", "-f", "{{json .RepoDigests}}", short).stdout
            assert json.loads(digests) == [f"{short}@{image.digest}"]
            assert_asked(mirror.log, pull_requests(name, image))
            # Dockyard fetched each of them from Distribution.
            upstream_log = (tmp_path / "distribution" / "distribution.log").read_text()
            fetched = ["manifests/latest", *(f"blobs/{sha256(blob)}" for blob in blobs_of(image))]
            for path in fetched:
                assert f'"GET /v2/{name}/{path} HTTP' in upstream_log

        # Distribution has stopped: Dockyard answers from its cache, by tag and by digest.
        for reference in ("latest", image.digest):
            response = httpx.get(
                f"{mirror.url}/v2/{name}/manifests/{reference}",
                headers={"Accept": DOCKER_MANIFEST},
            )
            assert response.status_code == 200, response.text
            assert response.content == image.manifest
            assert response.headers["docker-content-digest"] == image.digest

        # And the engine pulls the image again, from the cache.
        docker.run("image", "rm", short)
        assert docker.run("image", "inspect", short, check=False).returncode != 0
        before = len(read_access_log(mirror.log))
        docker.run("pull", short)
        assert_pulled(docker, short, image, files)
        assert f"serving {name}:latest cached ({image.digest})" in mirror.log.read_text()
        # The manifest by digest may come from the engine's own content store this time.
        by_digest = Access("GET", f"/v2/{name}/manifests/{image.digest}", 200)
        assert_asked(mirror.log, pull_requests(name, image) - {by_digest}, since=before)


def test_dockerd_signs_in_at_the_mirror_with_its_docker_hub_credentials(tmp_path: Path) -> None:
    """dockerd has no credentials of its own for a mirror: it answers the mirror's challenge
    with those the CLI holds for Docker Hub (`https://index.docker.io/v1/` in config.json)."""
    nonce = uuid.uuid4().hex[:12]
    short = f"dockyard-mirror-{nonce}"
    image, files = docker_image(nonce)
    users = tmp_path / "users"
    htpasswd(users, "alice", "wonderland")
    auth = {"DOCKYARD_AUTH__MODE": "htpasswd", "DOCKYARD_AUTH__HTPASSWD__PATH": str(users)}
    with distribution_server(tmp_path / "distribution") as origin:
        push_to_distribution(origin.host, f"library/{short}", image)
        with (
            dockyard_server(tmp_path / "mirror", env=library_mirror(origin.url, **auth)) as mirror,
            docker_engine(settings={"registry-mirrors": [mirror.url]}) as docker,
        ):
            # Anonymous: the mirror refuses; dockerd falls back to Docker Hub, which fails (it
            # is unreachable here, and holds no such name anyway).
            assert docker.run("pull", short, check=False).returncode != 0
            assert_asked(mirror.log, {Access("GET", "/v2/", 401)})

            hub = {"https://index.docker.io/v1/": {"auth": b64encode(b"alice:wonderland").decode()}}
            (docker.config / "config.json").write_text(json.dumps({"auths": hub}))
            docker.run("pull", short)
            assert_pulled(docker, short, image, files)


def test_in_index_mode_an_anonymous_dockerd_pulls_through_a_public_mirror_rule(
    tmp_path: Path,
) -> None:
    """dockerd sends no credentials to a mirror in index mode: it takes an anonymous token, which
    carries pull on `library/NAME` because the rule is public (the index does not know the name
    before the first pull); the cached repository is then catalogued public."""
    nonce = uuid.uuid4().hex[:12]
    short = f"dockyard-mirror-{nonce}"
    name = f"library/{short}"
    image, files = docker_image(nonce)
    # Pushes elsewhere stay private: the rule, not the index's default, opens the mirror.
    private = {"DOCKYARD_INDEX__DEFAULT_VISIBILITY": "private"}
    with distribution_server(tmp_path / "distribution") as origin:
        push_to_distribution(origin.host, name, image)
        env = mirror_env({**library_rule(origin.url), "public": True}, **private)
        with (
            index_server(tmp_path / "mirror", env) as index,
            docker_engine(settings={"registry-mirrors": [index.url]}) as docker,
        ):
            docker.run("pull", short)
            assert_pulled(docker, short, image, files)
            assert_asked(index.server.log, pull_requests(name, image))
            # Anonymous tokens (dockerd holds no credentials here), and nothing refused but
            # `GET /v2/` (the challenge; the test's wait for the server asks it too).
            entries = read_access_log(index.server.log)
            tokens = [entry for entry in entries if entry.path.startswith("/token")]
            assert tokens and all(entry.status == 200 for entry in tokens), entries
            refused = {entry for entry in entries if entry.status >= 400}
            assert refused == {Access("GET", "/v2/", 401)}, entries
            assert index.catalogued(name)["visibility"] == "public"
            with index.api() as anonymous:
                found = anonymous.get("/v1/search", params={"q": short}).json()["results"]
            assert [hit["name"] for hit in found] == [name]
