"""Parse and check a manifest body: what it is and what it points at."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest, InvalidDigest

# The longest artifactType (or config media type standing for it) stored: the manifests
# table's column, and RFC 6838's bound (type and subtype of 127 characters each).
MAX_MEDIA_TYPE = 255
# A descriptor's size is an int64 (OCI image spec), as the databases' BIGINT columns.
MAX_SIZE = 2**63 - 1


class InvalidManifest(ValueError):
    """The body is not a manifest this registry accepts."""


class UnsupportedManifest(InvalidManifest):
    """A known format the registry refuses on purpose (Docker schema 1)."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    artifact_type: str | None
    subject: Digest | None
    # Blobs the repository must already hold (config and layers), and child manifests.
    blobs: tuple[Digest, ...] = field(default=())
    children: tuple[Digest, ...] = field(default=())
    annotations: dict[str, str] | None = None


def parse_manifest(body: bytes, content_type: str | None) -> Manifest:
    """Check the body against its declared media type and list what it references."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidManifest(f"manifest is not valid JSON: {exc}") from None
    except RecursionError:
        # json recurses per nesting level: a few KiB of "[[[[" would otherwise be a 500.
        raise InvalidManifest("manifest JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidManifest("manifest must be a JSON object")
    media_type = _media_type(document, _bare(content_type))
    if media_type in mediatypes.INDEXES:
        return _parse_index(document, media_type)
    return _parse_image(document, media_type)


def _bare(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    bare = content_type.split(";", 1)[0].strip().lower()
    return bare or None


def _media_type(document: dict[str, Any], content_type: str | None) -> str:
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise InvalidManifest("mediaType must be a string")
    if document.get("schemaVersion") == 1 or {declared, content_type} & mediatypes.SCHEMA1:
        raise UnsupportedManifest(
            "Docker image manifest schema 1 is not supported: push schema 2 or OCI"
        )
    if document.get("schemaVersion") != 2:
        raise InvalidManifest("schemaVersion must be 2")
    if content_type in (None, "application/json"):
        # The client did not say: trust the body, as Distribution does.
        content_type = declared or _guess(document)
    if content_type not in mediatypes.MANIFESTS:
        raise InvalidManifest(f"unsupported manifest media type {content_type!r}")
    if declared is not None and declared != content_type:
        raise InvalidManifest(
            f"mediaType {declared!r} in the body differs from Content-Type {content_type!r}"
        )
    return content_type


def _guess(document: dict[str, Any]) -> str:
    # OCI makes mediaType optional (umoci omits it): tell index from manifest by shape.
    return mediatypes.OCI_INDEX if "manifests" in document else mediatypes.OCI_MANIFEST


def _parse_image(document: dict[str, Any], media_type: str) -> Manifest:
    config = _descriptor(document.get("config"), "config")
    layers = document.get("layers")
    if not isinstance(layers, list):
        raise InvalidManifest("layers must be a list")
    blobs = [config.digest]
    for position, item in enumerate(layers):
        layer = _descriptor(item, f"layers[{position}]")
        if not mediatypes.is_foreign_layer(layer.media_type):
            blobs.append(layer.digest)
    artifact_type = _optional_str(document, "artifactType")
    empty_config = config.media_type == mediatypes.OCI_EMPTY
    if media_type == mediatypes.OCI_MANIFEST and empty_config and artifact_type is None:
        # image-spec: artifactType MUST be set when config is the empty descriptor.
        raise InvalidManifest("artifactType is required when config is the empty descriptor")
    return Manifest(
        media_type=media_type,
        artifact_type=_indexable(
            artifact_type or _artifact_type_of_config(media_type, config.media_type),
            "artifactType" if artifact_type else "config.mediaType",
        ),
        subject=_subject(document),
        blobs=tuple(dict.fromkeys(blobs)),
        annotations=_annotations(document),
    )


def _artifact_type_of_config(media_type: str, config_type: str) -> str | None:
    # Referrers report config.mediaType when artifactType is absent (distribution-spec).
    return config_type if media_type == mediatypes.OCI_MANIFEST else None


def _parse_index(document: dict[str, Any], media_type: str) -> Manifest:
    items = document.get("manifests")
    if not isinstance(items, list):
        raise InvalidManifest("manifests must be a list")
    children = [_descriptor(item, f"manifests[{i}]").digest for i, item in enumerate(items)]
    return Manifest(
        media_type=media_type,
        artifact_type=_indexable(_optional_str(document, "artifactType"), "artifactType"),
        subject=_subject(document),
        children=tuple(dict.fromkeys(children)),
        annotations=_annotations(document),
    )


def _indexable(value: str | None, where: str) -> str | None:
    """A media type the registry indexes (and so stores as text, apart from the body's bytes)
    must be valid Unicode without NUL (JSON can spell a lone surrogate ("\\ud800") or a NUL,
    which database columns refuse), and no longer than RFC 6838 lets one be (PostgreSQL
    refuses more in the column; SQLite would have taken it).
    Elsewhere (annotations, descriptors' fields) it is only part of the bytes the digest covers."""
    if value is None:
        return None
    if len(value) > MAX_MEDIA_TYPE:
        raise InvalidManifest(
            f"{where} is longer than a media type may be ({MAX_MEDIA_TYPE} characters:"
            " RFC 6838 allows 127 each for type and subtype)"
        )
    if "\0" in value:
        raise InvalidManifest(f"{where} holds a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidManifest(f"{where} is not valid Unicode text") from None
    return value


def _descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise InvalidManifest(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InvalidManifest(f"{where}.mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise InvalidManifest(f"{where}.digest must be a string")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
        raise InvalidManifest(f"{where}.size must be an integer from 0 to {MAX_SIZE}")
    try:
        parsed = Digest.parse(digest)
    except InvalidDigest as exc:
        raise InvalidManifest(f"{where}.digest: {exc}") from None
    return Descriptor(media_type, parsed, size, _optional_str(value, "artifactType"))


def _subject(document: dict[str, Any]) -> Digest | None:
    if "subject" not in document:
        return None
    return _descriptor(document["subject"], "subject").digest


def _optional_str(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidManifest(f"{key} must be a string")
    return value


def _annotations(document: dict[str, Any]) -> dict[str, str] | None:
    value = document.get("annotations")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidManifest("annotations must map strings to strings")
    return value
