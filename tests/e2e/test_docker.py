"""A real Docker engine builds, pushes and pulls through Dockyard; mounts across repositories."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.access_log import Access, wait_for_entries
from tests.support.docker_engine import DockerEngine
from tests.support.servers import DockyardServer

pytestmark = pytest.mark.e2e

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64}) size: \d+")


def build_image(docker: DockerEngine, context: Path, tag: str) -> str:
    """`docker build` with the legacy builder of a three-layer FROM scratch image; its id."""
    context.mkdir(parents=True)
    nonce = uuid.uuid4().hex  # fresh content: no layer is shared with any earlier run
    (context / "hello.txt").write_text(f"hello from dockyard {nonce}\n")
    (context / "data.bin").write_bytes(nonce.encode() * 4096)
    (context / "etc").mkdir()
    (context / "etc" / "motd").write_text(f"motd {nonce}\n")
    (context / "Dockerfile").write_text(
        "FROM scratch\n"
        "COPY hello.txt /hello.txt\n"
        "COPY data.bin /data/data.bin\n"
        "COPY etc /etc/\n"
        'LABEL org.opencontainers.image.title="dockyard-e2e"\n'
    )
    docker.run("build", "-t", tag, str(context), cwd=context, env={"DOCKER_BUILDKIT": "0"})
    return image_id(docker, tag)


def image_id(docker: DockerEngine, reference: str) -> str:
    return docker.run("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()


def repo_digests(docker: DockerEngine, reference: str) -> list[str]:
    output = docker.run("image", "inspect", "--format", "{{json .RepoDigests}}", reference).stdout
    digests: list[str] = json.loads(output)
    return digests


def push(docker: DockerEngine, reference: str) -> str:
    """`docker push`; the manifest digest it reports."""
    output = docker.run("push", reference).stdout
    match = PUSHED_DIGEST.search(output)
    assert match, output
    return match.group(1)


def remove_image(docker: DockerEngine, image: str) -> None:
    docker.run("image", "rm", "--force", image)
    assert docker.run("image", "inspect", image, check=False).returncode != 0


def test_build_push_pull_and_cross_repository_mount(
    docker: DockerEngine, server: DockyardServer, client: httpx.Client, repo: str, tmp_path: Path
) -> None:
    first = f"{server.host}/{repo}"
    second_repo = f"{repo}-copy"
    second = f"{server.host}/{second_repo}"

    built = build_image(docker, tmp_path / "context", f"{first}:v1")
    digest = push(docker, f"{first}:v1")

    # What the registry holds is what docker pushed: schema 2, three layers, the same digest.
    response = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert response.status_code == 200, response.text
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-type"] == DOCKER_MANIFEST
    manifest = response.json()
    layers = [layer["digest"] for layer in manifest["layers"]]
    assert len(layers) == 3
    config = client.get(f"/v2/{repo}/blobs/{manifest['config']['digest']}")
    assert config.status_code == 200
    assert "sha256:" + hashlib.sha256(config.content).hexdigest() == built

    # Gone locally, pulled back: the same image id, and the digest docker reported on push.
    remove_image(docker, built)
    docker.run("pull", f"{first}:v1")
    assert image_id(docker, f"{first}:v1") == built
    assert f"{first}@{digest}" in repo_digests(docker, f"{first}:v1")

    # The same image under a second name: docker mounts the layers from the first repository.
    docker.run("tag", f"{first}:v1", f"{second}:v1")
    assert push(docker, f"{second}:v1") == digest
    uploads = f"/v2/{second_repo}/blobs/uploads/"

    def mounted(entries: list[Access]) -> bool:
        posts = [e for e in entries if e.method == "POST" and e.path == uploads]
        return sum(e.status == 201 for e in posts) >= len(layers)

    entries = wait_for_entries(server.log, mounted)
    to_second = [e for e in entries if e.path.startswith(f"/v2/{second_repo}/")]
    mounts = [e for e in to_second if e.method == "POST" and e.path == uploads and e.status == 201]
    assert len(mounts) >= len(layers), to_second
    # Only the config (a few hundred bytes) may travel again; the layers were never re-sent.
    sent = [e for e in to_second if e.method in {"PATCH", "PUT"} and "/blobs/uploads/" in e.path]
    assert len(sent) <= 2, to_second
    for layer in layers:
        head = client.head(f"/v2/{second_repo}/blobs/{layer}")
        assert head.status_code == 200, layer

    # Pull from the second repository alone, into an engine that has nothing of the image.
    remove_image(docker, built)
    docker.run("pull", f"{second}:v1")
    assert image_id(docker, f"{second}:v1") == built
    assert f"{second}@{digest}" in repo_digests(docker, f"{second}:v1")
    docker.run("image", "rm", "--force", built)
