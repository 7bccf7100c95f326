"""What `inspect` shows of an image: the top manifest, the platforms of an index, and for one
image its config and layers with their sizes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.errors import NOT_JSON, NotFound
from dockyard.client.images import Descriptor, InvalidContent, Manifest, Platform
from dockyard.client.repository import Repository
from dockyard.oci.digest import Digest


@dataclass
class Inspection:
    """`top` is the manifest the reference names; `image` the image manifest shown (top
    itself, or the chosen platform's child of an index, or None for an index shown whole)."""

    name: str
    top: Manifest
    children: tuple[Descriptor, ...] = ()
    image: Manifest | None = None
    config: dict[str, Any] = field(default_factory=dict)
    layers: tuple[Descriptor, ...] = ()
    artifact_type: str | None = None

    @property
    def size(self) -> int:
        """The image's bytes in the registry: manifest, config and layers."""
        if self.image is None:
            return self.top.size
        parsed = self.image.image()
        return self.image.size + parsed.config.size + sum(layer.size for layer in self.layers)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "digest": str(self.top.digest),
            "mediaType": self.top.media_type,
            "size": self.top.size,
        }
        if self.children:
            document["manifests"] = [child.to_json() for child in self.children]
        if self.image is not None:
            document["image"] = {
                "digest": str(self.image.digest),
                "mediaType": self.image.media_type,
                "artifactType": self.artifact_type,
                "config": self.config,
                "layers": [layer.to_json() for layer in self.layers],
                "size": self.size,
            }
        return document


async def inspect(
    repository: Repository, reference: str | Digest, platform: Platform | None = None
) -> Inspection:
    """An index is shown whole unless `platform` picks one of its images."""
    top = await repository.manifest(reference)
    found = Inspection(f"{repository.session.registry}/{repository.name}", top)
    image = top
    if top.is_index:
        found.children = top.index().manifests
        if platform is None:
            return found
        child = top.index().select(platform)
        if child is None:
            raise NotFound(f"{found.name}@{top.digest}: no image for platform {platform}")
        image = await repository.manifest(child.digest)
    parsed = image.image()
    found.image, found.layers = image, parsed.layers
    found.artifact_type = parsed.artifact_type
    if parsed.config.size <= 4 << 20 and parsed.config.media_type.endswith("json"):
        body = await repository.blob_bytes(parsed.config.digest, parsed.config.size)
        try:
            config = json.loads(body)
        except NOT_JSON:
            raise InvalidContent(f"config {parsed.config.digest} is not JSON") from None
        found.config = config if isinstance(config, dict) else {}
    return found
