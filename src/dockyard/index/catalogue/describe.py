"""What a tag's manifest holds, for the catalogue: its total size (config and layers; for an
index, of all its platforms, a blob they share counted once) and its platforms (os,
architecture and variant, from an index's descriptors or an image's config)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.index.catalogue.content import Content
from dockyard.oci import mediatypes
from dockyard.oci.manifest import MAX_SIZE

# An image config larger than this is not read (real ones are a few KiB): no platform then.
MAX_CONFIG_BYTES = 1024 * 1024
# An index's children beyond this many are left out of its platforms and size.
MAX_CHILDREN = 256
IMAGE_CONFIGS = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
# Build attestations (BuildKit) sit in an index as children of platform unknown/unknown.
_ATTESTATION = ("vnd.docker.reference.type", "attestation-manifest")


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None
    digest: str  # the image manifest's
    size: int  # its config and layers

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"os": self.os, "architecture": self.architecture}
        if self.variant:
            found["variant"] = self.variant
        return {**found, "digest": self.digest, "size": self.size}


@dataclass(frozen=True, slots=True)
class Description:
    size: int | None  # None: the manifest could not be read
    platforms: tuple[Platform, ...] = ()


@dataclass(slots=True)
class _Image:
    blobs: dict[str, int] = field(default_factory=dict)  # digest → size
    platform: tuple[str, str, str | None] | None = None


async def describe(content: Content, repository: str, digest: str) -> Description:
    found = await content.manifest(repository, digest)
    if found is None:
        return Description(None)
    media_type, body = found
    document = json_object(body)
    if document is None:
        return Description(None)
    if media_type in mediatypes.INDEXES:
        return await _describe_index(content, repository, document)
    image = await _read_image(content, repository, document)
    platforms: tuple[Platform, ...] = ()
    size = _total(image.blobs)
    if image.platform is not None:
        platforms = (Platform(*image.platform, digest=digest, size=size),)
    return Description(size, platforms)


async def _describe_index(content: Content, repository: str, index: dict[str, Any]) -> Description:
    children = index.get("manifests")
    if not isinstance(children, list):
        return Description(0)
    platforms, blobs = [], {}
    for child in children[:MAX_CHILDREN]:
        if not isinstance(child, dict) or _is_attestation(child):
            continue
        child_digest = child.get("digest")
        if not isinstance(child_digest, str):
            continue
        found = await content.manifest(repository, child_digest)
        document = None if found is None else json_object(found[1])
        if document is None or found is None or found[0] in mediatypes.INDEXES:
            continue
        image = await _read_image(content, repository, document)
        blobs.update(image.blobs)
        described = _platform(child.get("platform")) or image.platform
        if described is not None:
            size = _total(image.blobs)
            platforms.append(Platform(*described, digest=child_digest, size=size))
    return Description(_total(blobs), tuple(platforms))


def _total(blobs: dict[str, int]) -> int:
    """The blobs' sizes added up, at most a BIGINT: each is an int64, as manifests declare
    them (not the stored blobs' sizes), and several may add up to more."""
    return min(sum(blobs.values()), MAX_SIZE)


async def _read_image(content: Content, repository: str, manifest: dict[str, Any]) -> _Image:
    image = _Image()
    config = manifest.get("config")
    for descriptor in [config, *_list(manifest.get("layers"))]:
        if isinstance(descriptor, dict):
            digest, size = descriptor.get("digest"), descriptor.get("size")
            if isinstance(digest, str) and isinstance(size, int) and size >= 0:
                image.blobs[digest] = size
    if isinstance(config, dict) and config.get("mediaType") in IMAGE_CONFIGS:
        config_digest = config.get("digest")
        if isinstance(config_digest, str):
            body = await content.blob(repository, config_digest, MAX_CONFIG_BYTES)
            document = None if body is None else json_object(body)
            image.platform = _platform(document)
    return image


def _platform(value: object) -> tuple[str, str, str | None] | None:
    """(os, architecture, variant) of a descriptor's `platform` or an image config."""
    if not isinstance(value, dict):
        return None
    os_name, architecture, variant = (value.get(k) for k in ("os", "architecture", "variant"))
    if not isinstance(os_name, str) or not isinstance(architecture, str):
        return None
    if (os_name, architecture) == ("unknown", "unknown"):
        return None
    return os_name[:64], architecture[:64], variant[:64] if isinstance(variant, str) else None


def _is_attestation(descriptor: dict[str, Any]) -> bool:
    annotations = descriptor.get("annotations")
    return isinstance(annotations, dict) and annotations.get(_ATTESTATION[0]) == _ATTESTATION[1]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object `body` holds; None for anything else (not JSON, or not an object)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
