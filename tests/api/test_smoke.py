"""The shortest round trip: push an image and read it back."""

from __future__ import annotations

import httpx

from tests.support.images import make_image, push_image, sha256


def test_pushed_image_reads_back(client: httpx.Client, repo: str) -> None:
    image = make_image("smoke")
    digest = push_image(client, repo, image)
    response = client.get(f"/v2/{repo}/manifests/latest")
    assert response.status_code == 200
    assert response.content == image.manifest
    assert response.headers["docker-content-digest"] == digest
    blob = client.get(f"/v2/{repo}/blobs/{sha256(image.layers[0])}")
    assert blob.content == image.layers[0]
