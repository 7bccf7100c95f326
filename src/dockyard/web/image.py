"""What a tag's page shows of its content, read from this process's registry the way the
catalogue reads it (dockyard.index.catalogue.content): the manifest or index, the chosen
platform's image config and layers, and the referrers of the tagged digest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.index.catalogue.content import RegistryContent
from dockyard.index.catalogue.describe import MAX_CHILDREN, MAX_CONFIG_BYTES, json_object
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.registry.errors import RegistryError
from dockyard.registry.state import Registry

MAX_REFERRERS = 100
_ATTESTATION = ("vnd.docker.reference.type", "attestation-manifest")


@dataclass(frozen=True, slots=True)
class Child:
    digest: str
    media_type: str
    size: int
    platform: str  # os/architecture[/variant], or "unknown"
    attestation: bool


@dataclass(frozen=True, slots=True)
class Layer:
    digest: str
    media_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Step:
    created_by: str
    created: str
    empty: bool
    comment: str


@dataclass(slots=True)
class ImageConfig:
    os: str = ""
    architecture: str = ""
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    history: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class Contents:
    digest: str
    media_type: str | None = None  # None: the registry no longer holds it
    children: list[Child] = field(default_factory=list)  # an index's
    image_digest: str | None = None  # the image shown (the index's chosen child)
    config: ImageConfig | None = None
    layers: list[Layer] = field(default_factory=list)
    referrers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The tagged manifest's (or index's) own annotations: text its pusher wrote.
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in mediatypes.INDEXES


async def read(registry: Registry, name: str, digest: str, platform: str | None) -> Contents:
    """The tag's contents; of an index, the child `platform` names (a digest) or the first."""
    content = RegistryContent(registry)
    contents = Contents(digest)
    found = await content.manifest(name, digest)
    document = None if found is None else json_object(found[1])
    if found is None or document is None:
        return contents
    contents.media_type = found[0]
    annotations = document.get("annotations")
    if isinstance(annotations, dict):
        contents.annotations = {str(k): _text(v) for k, v in annotations.items()}
    contents.referrers = await _referrers(registry, name, digest)
    image_digest: str | None = digest
    if contents.is_index:
        contents.children = _children(document)
        images = [c for c in contents.children if not c.attestation]
        chosen = [c for c in contents.children if c.digest == platform] or images[:1]
        image_digest = chosen[0].digest if chosen else None
        child = None if image_digest is None else await content.manifest(name, image_digest)
        document = None if child is None else json_object(child[1])
    if document is None or image_digest is None:
        return contents
    contents.image_digest = image_digest
    contents.layers = [
        Layer(str(d.get("digest")), str(d.get("mediaType", "")), _size(d))
        for d in _list(document.get("layers"))
        if isinstance(d, dict)
    ]
    config = document.get("config")
    if isinstance(config, dict) and isinstance(config.get("digest"), str):
        body = await content.blob(name, config["digest"], MAX_CONFIG_BYTES)
        parsed = None if body is None else json_object(body)
        if parsed is not None:
            contents.config = _config(parsed)
    return contents


def _children(index: dict[str, Any]) -> list[Child]:
    children = []
    for entry in _list(index.get("manifests"))[:MAX_CHILDREN]:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        platform = entry.get("platform")
        described = "unknown"
        if isinstance(platform, dict):
            parts = [platform.get(k) for k in ("os", "architecture", "variant")]
            described = "/".join(str(p) for p in parts if isinstance(p, str) and p)
        annotations = entry.get("annotations")
        attestation = (
            isinstance(annotations, dict) and annotations.get(_ATTESTATION[0]) == _ATTESTATION[1]
        )
        children.append(
            Child(entry["digest"], str(entry.get("mediaType", "")), _size(entry), described,
                  attestation)
        )  # fmt: skip
    return children


def _config(document: dict[str, Any]) -> ImageConfig:
    inner = document.get("config")
    inner = inner if isinstance(inner, dict) else {}
    labels = inner.get("Labels")
    ports = inner.get("ExposedPorts")
    return ImageConfig(
        os=_text(document.get("os")),
        architecture=_text(document.get("architecture")),
        env=_texts(inner.get("Env")),
        entrypoint=_texts(inner.get("Entrypoint")),
        cmd=_texts(inner.get("Cmd")),
        working_dir=_text(inner.get("WorkingDir")),
        user=_text(inner.get("User")),
        labels={str(k): _text(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        exposed_ports=sorted(str(p) for p in ports) if isinstance(ports, dict) else [],
        history=[
            Step(
                _text(step.get("created_by")),
                _text(step.get("created")),
                step.get("empty_layer") is True,
                _text(step.get("comment")),
            )
            for step in _list(document.get("history"))
            if isinstance(step, dict)
        ],
    )


async def _referrers(registry: Registry, name: str, digest: str) -> dict[str, list[dict[str, Any]]]:
    """The manifests whose subject is `digest`, by artifact type."""
    try:
        index, _more = await registry.manifests.referrers(
            name, Digest.parse(digest), None, MAX_REFERRERS, None
        )
    except (InvalidDigest, RegistryError):
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for descriptor in index.get("manifests", []):
        kind = descriptor.get("artifactType") or descriptor.get("mediaType") or "unknown"
        grouped.setdefault(str(kind), []).append(descriptor)
    return grouped


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _size(descriptor: dict[str, Any]) -> int:
    size = descriptor.get("size")
    return size if isinstance(size, int) and size >= 0 else 0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
