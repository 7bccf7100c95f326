"""buildah builds, podman pushes and pulls through Dockyard (vfs storage in a temp root)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.clients import Podman
from tests.support.servers import DockyardServer

pytestmark = pytest.mark.e2e

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def build_image(podman: Podman, context: Path, name: str) -> str:
    """A two-layer image from scratch, committed into podman's storage; its image id."""
    context.mkdir(parents=True)
    nonce = uuid.uuid4().hex
    (context / "hello.txt").write_text(f"hello from podman {nonce}\n")
    (context / "data.bin").write_bytes(nonce.encode() * 2048)
    container = podman.buildah("from", "scratch").stdout.strip()
    try:
        podman.buildah("copy", container, str(context / "hello.txt"), "/hello.txt")
        podman.buildah("commit", container, f"{name}-base")
        podman.buildah("rm", container)
        container = podman.buildah("from", "--pull-never", f"{name}-base").stdout.strip()
        podman.buildah("copy", container, str(context / "data.bin"), "/data/data.bin")
        podman.buildah("config", "--arch", "amd64", "--os", "linux", container)
        return podman.buildah("commit", "-q", container, name).stdout.strip()
    finally:
        podman.buildah("rm", container, check=False)


@pytest.mark.parametrize("form", ["oci", "v2s2"])
def test_podman_push_pull(
    podman: Podman,
    server: DockyardServer,
    client: httpx.Client,
    repo: str,
    tmp_path: Path,
    form: str,
) -> None:
    reference = f"{server.host}/{repo}:v1"
    built = build_image(podman, tmp_path / "context", "localhost/dockyard-e2e:v1")

    digestfile = tmp_path / "digest"
    podman.podman(
        "push", "--tls-verify=false", "--format", form, "--digestfile", str(digestfile),
        "localhost/dockyard-e2e:v1", f"docker://{reference}",
    )  # fmt: skip
    pushed = digestfile.read_text().strip()

    media_type = OCI_MANIFEST if form == "oci" else DOCKER_MANIFEST
    response = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert response.headers["docker-content-digest"] == pushed
    assert len(response.json()["layers"]) == 2

    podman.podman("rmi", "--force", "localhost/dockyard-e2e:v1", "localhost/dockyard-e2e:v1-base")
    assert podman.podman("image", "exists", built, check=False).returncode != 0

    podman.podman("pull", "--tls-verify=false", reference)
    pulled = podman.inspect(reference)
    assert pulled["Digest"] == pushed
    assert f"{server.host}/{repo}@{pushed}" in pulled["RepoDigests"]
    assert pulled["Id"] == built
