"""Go clients (docker, containerd) send one Accept header line per media type they take."""

from __future__ import annotations

import httpx

from tests.support.images import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, make_image, push_image

SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"


def test_every_accept_line_counts(client: httpx.Client, repo: str) -> None:
    image = make_image("accept-lines", media_type=DOCKER_MANIFEST)
    digest = push_image(client, repo, image, "v1")
    lines = [("Accept", kind) for kind in (SCHEMA1, OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST)]
    for reference in ("v1", digest):
        for method in ("GET", "HEAD"):
            response = client.request(method, f"/v2/{repo}/manifests/{reference}", headers=lines)
            assert response.status_code == 200, (method, reference, response.text)
            assert response.headers["docker-content-digest"] == digest
