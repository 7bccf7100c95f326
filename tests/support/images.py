"""Build blobs, manifests and whole images in memory, and push them over the API."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class Image:
    config: bytes
    layers: list[bytes]
    media_type: str = OCI_MANIFEST
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> bytes:
        docker = self.media_type == DOCKER_MANIFEST
        config_type = "application/vnd.docker.container.image.v1+json" if docker else OCI_CONFIG
        layer_type = "application/vnd.docker.image.rootfs.diff.tar" if docker else OCI_LAYER
        document = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "config": descriptor(config_type, self.config),
            "layers": [descriptor(layer_type, layer) for layer in self.layers],
            **self.extra,
        }
        return json.dumps(document).encode()

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def make_image(seed: str, layers: int = 2, **kwargs: Any) -> Image:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    return Image(config, [f"{seed}-layer-{i}".encode() * 100 for i in range(layers)], **kwargs)


def push_blob(client: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha256(data)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert response.status_code == 201, response.text
    return digest


def push_manifest(
    client: httpx.Client, repo: str, reference: str, body: bytes, media_type: str
) -> httpx.Response:
    response = client.put(
        f"/v2/{repo}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
    )
    assert response.status_code == 201, response.text
    return response


def put_manifest(client: httpx.Client, repo: str, reference: str, image: Image) -> httpx.Response:
    """PUT the image's manifest, whatever the answer."""
    headers = {"Content-Type": image.media_type}
    return client.put(f"/v2/{repo}/manifests/{reference}", content=image.manifest, headers=headers)


def push_blobs(client: httpx.Client, repo: str, *images: Image) -> None:
    """Push the config and layers of each image."""
    for image in images:
        for blob in (image.config, *image.layers):
            push_blob(client, repo, blob)


def push_image(client: httpx.Client, repo: str, image: Image, tag: str = "latest") -> str:
    push_blobs(client, repo, image)
    push_manifest(client, repo, tag, image.manifest, image.media_type)
    return image.digest
