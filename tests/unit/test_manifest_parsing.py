from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.oci import mediatypes
from dockyard.oci.manifest import InvalidManifest, UnsupportedManifest, parse_manifest

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64


def body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def image(**extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": A, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": B, "size": 3}],
        **extra,
    }


def test_image_manifest_lists_config_and_layers() -> None:
    manifest = parse_manifest(body(image()), mediatypes.OCI_MANIFEST)
    assert [str(d) for d in manifest.blobs] == [A, B]
    assert manifest.children == ()
    assert manifest.artifact_type == "application/vnd.oci.image.config.v1+json"


def test_index_lists_child_manifests() -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_INDEX,
        "manifests": [{"mediaType": mediatypes.OCI_MANIFEST, "digest": C, "size": 10}],
    }
    manifest = parse_manifest(body(index), None)
    assert manifest.media_type == mediatypes.OCI_INDEX
    assert [str(d) for d in manifest.children] == [C]


def test_media_type_is_guessed_when_neither_body_nor_header_says() -> None:
    document = image()
    del document["mediaType"]
    assert parse_manifest(body(document), None).media_type == mediatypes.OCI_MANIFEST


def test_subject_and_artifact_type_are_read() -> None:
    document = image(
        artifactType="application/example",
        subject={"mediaType": mediatypes.OCI_MANIFEST, "digest": C, "size": 5},
    )
    manifest = parse_manifest(body(document), mediatypes.OCI_MANIFEST)
    assert str(manifest.subject) == C
    assert manifest.artifact_type == "application/example"


def test_an_artifact_type_longer_than_rfc_6838_allows_is_refused() -> None:
    longest = "application/" + "x" * 243
    assert parse_manifest(body(image(artifactType=longest)), None).artifact_type == longest
    for document in (
        image(artifactType=longest + "x"),
        image(config={"mediaType": longest + "x", "digest": A, "size": 2}),  # stands for it
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": [],
         "artifactType": longest + "x"},
    ):  # fmt: skip
        with pytest.raises(InvalidManifest, match="longer than a media type may be"):
            parse_manifest(body(document), None)


def test_foreign_layers_are_not_required() -> None:
    document = image()
    document["mediaType"] = mediatypes.DOCKER_MANIFEST
    document["layers"].append(
        {"mediaType": mediatypes.DOCKER_FOREIGN_LAYER, "digest": C, "size": 1, "urls": ["x"]}
    )
    manifest = parse_manifest(body(document), mediatypes.DOCKER_MANIFEST)
    assert C not in [str(d) for d in manifest.blobs]


def test_schema1_is_unsupported() -> None:
    with pytest.raises(UnsupportedManifest):
        parse_manifest(body({"schemaVersion": 1, "name": "x", "tag": "y"}), None)
    with pytest.raises(UnsupportedManifest):
        parse_manifest(body(image()), mediatypes.DOCKER_SCHEMA1_SIGNED)


def test_empty_config_needs_an_artifact_type() -> None:
    document = image()
    document["config"]["mediaType"] = mediatypes.OCI_EMPTY
    with pytest.raises(InvalidManifest, match="artifactType"):
        parse_manifest(body(document), mediatypes.OCI_MANIFEST)


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"not json", mediatypes.OCI_MANIFEST),
        (b"[1, 2]", mediatypes.OCI_MANIFEST),
        (body({"schemaVersion": 3}), mediatypes.OCI_MANIFEST),
        (body(image()), mediatypes.DOCKER_MANIFEST),  # body says OCI
        (body(image()), "text/plain"),
        (body(image(layers="x")), mediatypes.OCI_MANIFEST),
        (body(image(config={"digest": "sha256:zz", "size": 1, "mediaType": "x"})), None),
        (body(image(config={"digest": A, "size": -1, "mediaType": "x"})), None),
        (body(image(config={"digest": A, "size": 2**63, "mediaType": "x"})), None),  # > int64
        (body(image(annotations={"a": 1})), None),
    ],
)
def test_invalid_manifests_are_refused(raw: bytes, content_type: str | None) -> None:
    with pytest.raises(InvalidManifest):
        parse_manifest(raw, content_type)
