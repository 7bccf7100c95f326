"""Reading manifests on the client side: descriptors, platforms, an image's config and layers,
an index's children. Lenient where the specs allow (umoci omits `mediaType`), strict about what
a pull relies on (digests and sizes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.errors import NOT_JSON, RegistryError
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest, InvalidDigest


class InvalidContent(RegistryError):
    """A manifest or descriptor the client cannot read."""


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`os/arch[/variant]`, as `--platform` spells it."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, other: Platform) -> bool:
        """Same os and architecture, and the same variant when this one names one."""
        same = (self.os, self.architecture) == (other.os, other.architecture)
        return same and (self.variant is None or self.variant == other.variant)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] | None = None
    artifact_type: str | None = None
    platform: Platform | None = None

    @classmethod
    def from_json(cls, value: object, where: str = "descriptor") -> Descriptor:
        if not isinstance(value, dict):
            raise InvalidContent(f"{where} is not an object")
        media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
        if not isinstance(media_type, str) or not isinstance(digest, str):
            raise InvalidContent(f"{where} lacks mediaType or digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidContent(f"{where} has no valid size")
        try:
            parsed = Digest.parse(digest)
        except InvalidDigest as exc:
            raise InvalidContent(f"{where}: {exc}") from None
        annotations = value.get("annotations")
        artifact_type = value.get("artifactType")
        return cls(
            media_type,
            parsed,
            size,
            annotations if isinstance(annotations, dict) else None,
            artifact_type if isinstance(artifact_type, str) else None,
            _platform(value.get("platform")),
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            document["artifactType"] = self.artifact_type
        if self.annotations:
            document["annotations"] = self.annotations
        if self.platform is not None:
            platform = {"os": self.platform.os, "architecture": self.platform.architecture}
            if self.platform.variant:
                platform["variant"] = self.platform.variant
            document["platform"] = platform
        return document


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest as fetched: its bytes (which the digest covers), media type and digest."""

    media_type: str
    digest: Digest
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)

    @property
    def is_index(self) -> bool:
        return self.media_type in mediatypes.INDEXES

    def document(self) -> dict[str, Any]:
        return json_object(self.body, f"manifest {self.digest}")

    def image(self) -> Image:
        return Image.parse(self.document(), self.media_type)

    def index(self) -> Index:
        return Index.parse(self.document(), self.media_type)


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """`body` read as a JSON object; InvalidContent when it is not one."""
    try:
        value = json.loads(body)
    except NOT_JSON:
        raise InvalidContent(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidContent(f"{what} is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class Image:
    """An image manifest (OCI or Docker schema 2): a config and layers."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, document: dict[str, Any], media_type: str) -> Image:
        layers = document.get("layers")
        if not isinstance(layers, list) or "config" not in document:
            raise InvalidContent("an image manifest needs config and layers")
        subject = document.get("subject")
        return cls(
            media_type,
            Descriptor.from_json(document["config"], "config"),
            tuple(Descriptor.from_json(item, f"layers[{i}]") for i, item in enumerate(layers)),
            Descriptor.from_json(subject, "subject") if subject is not None else None,
            _optional_str(document.get("artifactType")),
            _strings(document.get("annotations")),
        )

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """What a copy must move: the config and the layers the registry holds (not foreign
        layers, which live at their `urls`)."""
        held = [layer for layer in self.layers if not mediatypes.is_foreign_layer(layer.media_type)]
        return (self.config, *held)


@dataclass(frozen=True, slots=True)
class Index:
    """An OCI index or a Docker manifest list: child manifests, usually one per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, document: dict[str, Any], media_type: str) -> Index:
        items = document.get("manifests")
        if not isinstance(items, list):
            raise InvalidContent("an index needs a manifests list")
        subject = document.get("subject")
        return cls(
            media_type,
            tuple(Descriptor.from_json(item, f"manifests[{i}]") for i, item in enumerate(items)),
            Descriptor.from_json(subject, "subject") if subject is not None else None,
            _optional_str(document.get("artifactType")),
            _strings(document.get("annotations")),
        )

    def platforms(self) -> list[Platform]:
        return [m.platform for m in self.manifests if m.platform is not None]

    def select(self, platform: Platform) -> Descriptor | None:
        """The first child for `platform`, as docker picks one."""
        for child in self.manifests:
            if child.platform is not None and platform.matches(child.platform):
                return child
        return None


def media_type_of(body: bytes, content_type: str | None) -> str:
    """The manifest's media type: the server's Content-Type, else the body's own `mediaType`,
    else its shape (OCI makes `mediaType` optional)."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    if bare and bare not in ("application/json", "application/octet-stream", "text/plain"):
        return bare
    try:
        document = json.loads(body)
    except NOT_JSON:
        return bare or "application/octet-stream"
    if isinstance(document, dict):
        declared = document.get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
        return mediatypes.OCI_INDEX if "manifests" in document else mediatypes.OCI_MANIFEST
    return bare or "application/octet-stream"


def _platform(value: object) -> Platform | None:
    if not isinstance(value, dict):
        return None
    os_name, architecture = value.get("os"), value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(architecture, str):
        return None
    variant = value.get("variant")
    return Platform(os_name, architecture, variant if isinstance(variant, str) else None)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
