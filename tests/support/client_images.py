"""A multi-platform image pushed and pulled with dockyard.client: the round trip every client
test of a registry makes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dockyard.client import Platform, Pushed, Repository
from tests.support.images import OCI_INDEX, Image, make_image

PLATFORMS = ("linux/amd64", "linux/arm64/v8")


@dataclass
class MultiPlatform:
    images: dict[str, Image]  # by platform
    index: bytes

    @property
    def blobs(self) -> list[bytes]:
        return [blob for image in self.images.values() for blob in (image.config, *image.layers)]


def multi_platform(seed: str) -> MultiPlatform:
    images = {platform: make_image(f"{seed}-{platform}") for platform in PLATFORMS}
    manifests = []
    for platform, image in images.items():
        parsed = Platform.parse(platform)
        entry = {"os": parsed.os, "architecture": parsed.architecture}
        if parsed.variant:
            entry["variant"] = parsed.variant
        manifests.append(
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": entry,
            }
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return MultiPlatform(images, json.dumps(index).encode())


async def push(repository: Repository, image: MultiPlatform, tag: str) -> list[Pushed]:
    """Blobs, each platform's manifest by digest, then the index under `tag`; how each blob
    went up."""
    how = []
    for blob in image.blobs:
        how.append((await repository.push_blob(blob)).how)
    for one in image.images.values():
        await repository.put_manifest(one.manifest, one.media_type)
    await repository.put_manifest(image.index, OCI_INDEX, tag)
    return how


async def pull(repository: Repository, tag: str, image: MultiPlatform) -> None:
    """Pull every platform back through the index and check it is what was pushed."""
    top = await repository.manifest(tag)
    assert top.body == image.index and top.is_index
    index = top.index()
    assert [str(p) for p in index.platforms()] == list(PLATFORMS)
    for platform, expected in image.images.items():
        child = index.select(Platform.parse(platform))
        assert child is not None
        manifest = await repository.manifest(child.digest)
        assert manifest.body == expected.manifest
        parsed = manifest.image()
        assert await repository.blob_bytes(parsed.config.digest, parsed.config.size) == (
            expected.config
        )
        layers = [await repository.blob_bytes(layer.digest, layer.size) for layer in parsed.layers]
        assert layers == expected.layers
