"""`/v2/<name>/manifests/<reference>`: PUT, GET, HEAD, DELETE of every manifest kind."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error, assert_head_error
from tests.support.images import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    descriptor,
    make_image,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
PLATFORM = {"architecture": "amd64", "os": "linux"}


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def put(
    client: httpx.Client, repo: str, reference: str, body: bytes, media_type: str | None
) -> httpx.Response:
    headers = {"Content-Type": media_type} if media_type else {}
    return client.put(f"/v2/{repo}/manifests/{reference}", content=body, headers=headers)


def assert_manifest(
    response: httpx.Response, body: bytes, media_type: str, *, head: bool = False
) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["docker-content-digest"] == sha256(body)
    assert response.headers["content-length"] == str(len(body))
    assert response.content == (b"" if head else body)


def index_of(client: httpx.Client, repo: str, media_type: str) -> tuple[bytes, list[str]]:
    """An index (or Docker list) over two images pushed by digest; returns it and their digests."""
    child_type = DOCKER_MANIFEST if media_type == DOCKER_LIST else OCI_MANIFEST
    children = []
    for arch in ("amd64", "arm64"):
        image = make_image(f"{repo}-{arch}", media_type=child_type)
        push_image(client, repo, image, tag=image.digest)
        children.append(
            descriptor(child_type, image.manifest, platform={**PLATFORM, "architecture": arch})
        )
    body = encode({"schemaVersion": 2, "mediaType": media_type, "manifests": children})
    return body, [child["digest"] for child in children]


def artifact(
    client: httpx.Client,
    repo: str,
    *,
    artifact_type: str | None,
    config_type: str = OCI_EMPTY,
    config: bytes = EMPTY_CONFIG,
    **extra: Any,
) -> bytes:
    """An OCI artifact manifest whose blobs are already in the repository."""
    layer = f"payload of {artifact_type} {config_type}".encode()
    push_blob(client, repo, config)
    push_blob(client, repo, layer)
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config_type, config),
        "layers": [descriptor("application/vnd.example.payload", layer)],
        **extra,
    }
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    return encode(document)


# Images: every kind, by tag and by digest


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_image_manifest_pushed_by_tag_reads_back_by_tag_and_digest(
    client: httpx.Client, repo: str, media_type: str
) -> None:
    image = make_image(repo, media_type=media_type)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    response = put(client, repo, "v1", image.manifest, media_type)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/{repo}/manifests/{image.digest}"
    assert response.headers["docker-content-digest"] == image.digest
    assert "oci-subject" not in response.headers
    for reference in ("v1", image.digest):
        url = f"/v2/{repo}/manifests/{reference}"
        assert_manifest(client.get(url), image.manifest, media_type)
        assert_manifest(client.head(url), image.manifest, media_type, head=True)


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_image_manifest_pushed_by_digest_has_no_tag(
    client: httpx.Client, repo: str, media_type: str
) -> None:
    image = make_image(repo, media_type=media_type)
    push_image(client, repo, image, tag=image.digest)
    assert_manifest(client.get(f"/v2/{repo}/manifests/{image.digest}"), image.manifest, media_type)
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == []


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_index_over_pushed_images_reads_back_by_tag_and_digest(
    client: httpx.Client, repo: str, media_type: str
) -> None:
    body, children = index_of(client, repo, media_type)
    response = put(client, repo, "multi", body, media_type)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == sha256(body)
    for reference in ("multi", sha256(body)):
        url = f"/v2/{repo}/manifests/{reference}"
        assert_manifest(client.get(url), body, media_type)
        assert_manifest(client.head(url), body, media_type, head=True)
    for child in children:
        assert client.get(f"/v2/{repo}/manifests/{child}").status_code == 200


def test_manifest_pushed_by_sha512_digest_reads_back(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    digest = "sha512:" + hashlib.sha512(image.manifest).hexdigest()
    response = put(client, repo, digest, image.manifest, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    got = client.get(f"/v2/{repo}/manifests/{digest}")
    assert got.status_code == 200
    assert got.content == image.manifest


def test_manifest_body_is_served_byte_for_byte(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    # Odd spacing and key order: the digest is of these exact bytes, so they must come back.
    body = json.dumps(json.loads(image.manifest), indent=3, sort_keys=True).encode() + b"\n"
    assert put(client, repo, "pretty", body, OCI_MANIFEST).status_code == 201
    assert_manifest(client.get(f"/v2/{repo}/manifests/pretty"), body, OCI_MANIFEST)


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_manifest_without_a_specific_content_type_is_typed_by_its_body(
    client: httpx.Client, repo: str, content_type: str | None
) -> None:
    image = make_image(repo, media_type=DOCKER_MANIFEST)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    assert put(client, repo, "v1", image.manifest, content_type).status_code == 201
    assert_manifest(client.get(f"/v2/{repo}/manifests/v1"), image.manifest, DOCKER_MANIFEST)


def test_content_type_with_parameters_is_accepted(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    response = put(client, repo, "v1", image.manifest, f"{OCI_MANIFEST}; charset=utf-8")
    assert response.status_code == 201, response.text


def test_pushing_a_tag_again_moves_it(client: httpx.Client, repo: str) -> None:
    first, second = make_image(f"{repo}-1"), make_image(f"{repo}-2")
    push_image(client, repo, first, tag="moving")
    push_image(client, repo, second, tag="moving")
    assert client.get(f"/v2/{repo}/manifests/moving").content == second.manifest
    # The manifest the tag left is still there by digest.
    assert client.get(f"/v2/{repo}/manifests/{first.digest}").content == first.manifest


def test_pushing_the_same_manifest_twice_is_idempotent(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image, tag="a")
    again = push_manifest(client, repo, "a", image.manifest, image.media_type)
    assert again.headers["docker-content-digest"] == image.digest
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["a"]


def test_foreign_layers_need_not_be_in_the_registry(client: httpx.Client, repo: str) -> None:
    config = b'{"os": "windows"}'
    push_blob(client, repo, config)
    foreign = descriptor(
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        b"windows base layer, not pushed",
        urls=["https://example.invalid/layer"],
    )
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor("application/vnd.docker.container.image.v1+json", config),
            "layers": [foreign],
        }
    )
    assert put(client, repo, "windows", body, DOCKER_MANIFEST).status_code == 201


# Artifacts and subjects


def test_artifact_with_artifact_type_and_empty_config_is_accepted(
    client: httpx.Client, repo: str
) -> None:
    body = artifact(client, repo, artifact_type="application/vnd.example.sbom")
    assert put(client, repo, "sbom", body, OCI_MANIFEST).status_code == 201
    assert_manifest(client.get(f"/v2/{repo}/manifests/sbom"), body, OCI_MANIFEST)


def test_artifact_without_layers_is_accepted(client: httpx.Client, repo: str) -> None:
    push_blob(client, repo, EMPTY_CONFIG)
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.marker",
            "config": descriptor(OCI_EMPTY, EMPTY_CONFIG),
            "layers": [],
        }
    )
    assert put(client, repo, "marker", body, OCI_MANIFEST).status_code == 201
    assert client.get(f"/v2/{repo}/manifests/marker").content == body


@pytest.mark.parametrize(
    "config_type",
    [
        "application/vnd.example.config.v1+json",
        "application/vnd.cncf.helm.config.v1+json",
        "text/plain",
    ],
)
def test_artifact_with_any_config_media_type_is_accepted(
    client: httpx.Client, repo: str, config_type: str
) -> None:
    body = artifact(client, repo, artifact_type=None, config_type=config_type, config=b"cfg")
    assert put(client, repo, "art", body, OCI_MANIFEST).status_code == 201
    assert client.get(f"/v2/{repo}/manifests/art").content == body


def test_empty_config_without_artifact_type_is_manifest_invalid(
    client: httpx.Client, repo: str
) -> None:
    body = artifact(client, repo, artifact_type=None)
    assert_error(put(client, repo, "art", body, OCI_MANIFEST), 400, "MANIFEST_INVALID")


def test_an_artifact_type_past_rfc_6838s_length_is_manifest_invalid(
    client: httpx.Client, repo: str
) -> None:
    """The longest is stored, one more is refused (PostgreSQL's column holds 255: it was a 500
    there, found by `make fuzz FUZZ_BACKEND=postgresql`)."""
    longest = "application/" + "x" * 243
    body = artifact(client, repo, artifact_type=longest)
    assert put(client, repo, "long", body, OCI_MANIFEST).status_code == 201
    body = artifact(client, repo, artifact_type=longest + "x")
    assert_error(put(client, repo, "longer", body, OCI_MANIFEST), 400, "MANIFEST_INVALID")
    body = artifact(client, repo, artifact_type=None, config_type=longest + "x", config=b"c")
    assert_error(put(client, repo, "longer", body, OCI_MANIFEST), 400, "MANIFEST_INVALID")


def test_manifest_with_subject_answers_oci_subject_header(client: httpx.Client, repo: str) -> None:
    subject = make_image(repo)
    push_image(client, repo, subject)
    body = artifact(
        client,
        repo,
        artifact_type="application/vnd.example.signature",
        subject=descriptor(OCI_MANIFEST, subject.manifest),
    )
    response = put(client, repo, sha256(body), body, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == subject.digest


def test_manifest_whose_subject_does_not_exist_is_accepted(client: httpx.Client, repo: str) -> None:
    absent = encode({"not": "pushed"})
    body = artifact(
        client,
        repo,
        artifact_type="application/vnd.example.signature",
        subject=descriptor(OCI_MANIFEST, absent),
    )
    response = put(client, repo, sha256(body), body, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == sha256(absent)


def test_index_with_subject_answers_oci_subject_header(client: httpx.Client, repo: str) -> None:
    subject = make_image(repo)
    push_image(client, repo, subject)
    body, _ = index_of(client, repo, OCI_INDEX)
    document = json.loads(body)
    document["subject"] = descriptor(OCI_MANIFEST, subject.manifest)
    document["artifactType"] = "application/vnd.example.bundle"
    response = put(client, repo, "bundle", encode(document), OCI_INDEX)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == subject.digest


# Refusals


def test_manifest_referencing_a_missing_blob_is_refused_and_nothing_is_stored(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    push_blob(client, repo, image.config)  # the layers are never pushed
    response = put(client, repo, "broken", image.manifest, OCI_MANIFEST)
    error = assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert set(error["detail"]["missing"]) == {sha256(layer) for layer in image.layers}
    assert_error(client.get(f"/v2/{repo}/manifests/broken"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == []


def test_manifest_in_a_fresh_repository_with_missing_blobs_leaves_no_repository(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    assert_error(
        put(client, repo, "v1", image.manifest, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert_error(client.get(f"/v2/{repo}/tags/list"), 404, "NAME_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/v1"), 404, "NAME_UNKNOWN")


def test_manifest_referencing_a_blob_of_another_repository_is_refused(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, f"{repo}/other", blob)
    push_blob(client, repo, b"so the repository exists")
    response = put(client, repo, "v1", image.manifest, OCI_MANIFEST)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_index_referencing_a_missing_child_is_refused_and_no_tag_is_made(
    client: httpx.Client, repo: str, media_type: str
) -> None:
    body, children = index_of(client, repo, media_type)
    assert client.delete(f"/v2/{repo}/manifests/{children[1]}").status_code == 202
    error = assert_error(put(client, repo, "multi", body, media_type), 400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"]["missing"] == [children[1]]
    assert_error(client.get(f"/v2/{repo}/manifests/multi"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/{sha256(body)}"), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == []


def test_index_child_must_be_a_manifest_not_just_a_blob(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_blob(client, repo, image.manifest)  # uploaded as a blob, never PUT as a manifest
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(OCI_MANIFEST, image.manifest)],
        }
    )
    assert_error(put(client, repo, "multi", body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json at all",
        b"\x89PNG\r\n",
        b"[]",
        b"null",
        b"42",
        encode({"mediaType": OCI_MANIFEST}),
        encode({"schemaVersion": 3, "mediaType": OCI_MANIFEST}),
        encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}),
        encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": "x", "layers": []}),
        encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}),
        encode({"schemaVersion": 2, "mediaType": "application/vnd.example.unknown+json"}),
    ],
)
def test_invalid_json_or_wrong_shape_is_400_manifest_invalid(
    client: httpx.Client, repo: str, body: bytes
) -> None:
    media_type = OCI_INDEX if b"manifests" in body else OCI_MANIFEST
    assert_error(put(client, repo, "bad", body, media_type), 400, "MANIFEST_INVALID")
    assert_error(client.get(f"/v2/{repo}/manifests/bad"), 404, "NAME_UNKNOWN")


def test_body_media_type_that_contradicts_content_type_is_manifest_invalid(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)  # an OCI manifest
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    response = put(client, repo, "v1", image.manifest, DOCKER_MANIFEST)
    assert_error(response, 400, "MANIFEST_INVALID")


def test_layer_descriptor_with_bad_digest_is_manifest_invalid(
    client: httpx.Client, repo: str
) -> None:
    config = push_blob(client, repo, b"config")
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config,
                "size": 6,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:nope",
                    "size": 1,
                }
            ],
        }
    )
    assert_error(put(client, repo, "v1", body, OCI_MANIFEST), 400, "MANIFEST_INVALID")


def test_manifest_over_4_mib_is_refused_with_413(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    document = json.loads(image.manifest)
    document["annotations"] = {"padding": "x" * (4 * 1024 * 1024)}
    response = put(client, repo, "huge", encode(document), OCI_MANIFEST)
    assert_error(response, 413, "SIZE_INVALID")
    assert_error(client.get(f"/v2/{repo}/manifests/huge"), 404, "MANIFEST_UNKNOWN")


def test_manifest_just_under_the_limit_is_accepted(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    document = json.loads(image.manifest)
    document["annotations"] = {"padding": ""}
    room = 4 * 1024 * 1024 - len(encode(document))
    document["annotations"]["padding"] = "x" * room
    body = encode(document)
    assert len(body) == 4 * 1024 * 1024
    assert put(client, repo, "big", body, OCI_MANIFEST).status_code == 201
    assert client.get(f"/v2/{repo}/manifests/big").content == body


def test_digest_in_url_not_matching_the_body_is_400_digest_invalid(
    client: httpx.Client, repo: str
) -> None:
    image = make_image(repo)
    for blob in (image.config, *image.layers):
        push_blob(client, repo, blob)
    wrong = sha256(image.manifest + b" ")
    error = assert_error(
        put(client, repo, wrong, image.manifest, OCI_MANIFEST), 400, "DIGEST_INVALID"
    )
    assert error["detail"] == {"expected": wrong, "actual": image.digest}
    assert_error(client.get(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")


def test_malformed_digest_reference_is_400_digest_invalid(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image)
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/v2/{repo}/manifests/sha256:123")
        assert_error(response, 400, "DIGEST_INVALID")
    assert_error(
        put(client, repo, "sha256:123", image.manifest, OCI_MANIFEST), 400, "DIGEST_INVALID"
    )


SCHEMA1 = encode(
    {
        "schemaVersion": 1,
        "name": "library/hello",
        "tag": "latest",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": "sha256:" + "a" * 64}],
        "history": [{"v1Compatibility": "{}"}],
    }
)


@pytest.mark.parametrize("media_type", [DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, None])
def test_docker_schema1_is_refused_as_unsupported(
    client: httpx.Client, repo: str, media_type: str | None
) -> None:
    response = put(client, repo, "old", SCHEMA1, media_type)
    error = assert_error(response, 415, "UNSUPPORTED")
    assert "schema 1" in error["message"]
    assert_error(client.get(f"/v2/{repo}/manifests/old"), 404, "NAME_UNKNOWN")


# Accept


@pytest.mark.parametrize(
    "accept",
    [
        OCI_MANIFEST,
        f"{DOCKER_MANIFEST}, {OCI_MANIFEST}",
        f"{DOCKER_MANIFEST};q=0.9, {OCI_MANIFEST};q=0.5",
        "*/*",
        "application/json",
        f"{OCI_INDEX}, */*",
    ],
)
def test_accept_that_includes_the_stored_type_gets_the_manifest(
    client: httpx.Client, repo: str, accept: str
) -> None:
    image = make_image(repo)
    push_image(client, repo, image)
    response = client.get(f"/v2/{repo}/manifests/latest", headers={"Accept": accept})
    assert_manifest(response, image.manifest, OCI_MANIFEST)


@pytest.mark.parametrize(
    "accept", [DOCKER_MANIFEST, f"{DOCKER_MANIFEST}, {DOCKER_LIST}", OCI_INDEX]
)
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_accept_without_the_stored_type_is_404_manifest_unknown(
    client: httpx.Client, repo: str, accept: str, by: str
) -> None:
    image = make_image(repo)
    push_image(client, repo, image)
    reference = "latest" if by == "tag" else image.digest
    url = f"/v2/{repo}/manifests/{reference}"
    assert_error(client.get(url, headers={"Accept": accept}), 404, "MANIFEST_UNKNOWN")
    assert_head_error(client.head(url, headers={"Accept": accept}), 404)


def test_accept_sent_as_several_header_lines_is_honoured(client: httpx.Client, repo: str) -> None:
    image = make_image(repo, media_type=DOCKER_MANIFEST)
    push_image(client, repo, image)
    # As docker and containerd send it: one Accept line per media type.
    headers = [("Accept", OCI_MANIFEST), ("Accept", DOCKER_MANIFEST), ("Accept", OCI_INDEX)]
    response = client.get(f"/v2/{repo}/manifests/latest", headers=headers)
    assert_manifest(response, image.manifest, DOCKER_MANIFEST)


# Unknown manifests


def test_manifest_of_unknown_repository_is_404_name_unknown(
    client: httpx.Client, repo: str
) -> None:
    error = assert_error(client.get(f"/v2/{repo}/manifests/latest"), 404, "NAME_UNKNOWN")
    assert error["detail"] == {"name": repo}
    assert_head_error(client.head(f"/v2/{repo}/manifests/latest"), 404)
    digest = sha256(b"nothing")
    assert_error(client.get(f"/v2/{repo}/manifests/{digest}"), 404, "NAME_UNKNOWN")


def test_unknown_tag_is_404_manifest_unknown(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, make_image(repo))
    error = assert_error(client.get(f"/v2/{repo}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert error["detail"] == {"reference": "nope"}
    assert_head_error(client.head(f"/v2/{repo}/manifests/nope"), 404)


def test_unknown_digest_is_404_manifest_unknown(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, make_image(repo))
    digest = sha256(b"never a manifest")
    assert_error(client.get(f"/v2/{repo}/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")


def test_manifest_of_one_repository_is_unknown_in_another(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, f"{repo}/a", image)
    push_blob(client, f"{repo}/b", b"so b exists")
    for reference in ("latest", image.digest):
        assert_error(client.get(f"/v2/{repo}/b/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")


# Delete


def test_delete_by_digest_removes_the_manifest_and_its_tags(
    client: httpx.Client, repo: str
) -> None:
    image, other = make_image(repo), make_image(f"{repo}-other")
    push_image(client, repo, image, tag="one")
    push_manifest(client, repo, "two", image.manifest, image.media_type)
    push_image(client, repo, other, tag="stays")
    response = client.delete(f"/v2/{repo}/manifests/{image.digest}")
    assert response.status_code == 202
    assert response.content == b""
    assert_error(client.get(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/one"), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(f"/v2/{repo}/manifests/two"), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["stays"]
    assert_error(client.delete(f"/v2/{repo}/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag_removes_only_the_tag(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image, tag="one")
    push_manifest(client, repo, "two", image.manifest, image.media_type)
    assert client.delete(f"/v2/{repo}/manifests/one").status_code == 202
    assert_error(client.get(f"/v2/{repo}/manifests/one"), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/{repo}/manifests/two").content == image.manifest
    assert client.get(f"/v2/{repo}/manifests/{image.digest}").content == image.manifest
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["two"]
    assert_error(client.delete(f"/v2/{repo}/manifests/one"), 404, "MANIFEST_UNKNOWN")


def test_deleted_manifest_can_be_pushed_again(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image)
    assert client.delete(f"/v2/{repo}/manifests/{image.digest}").status_code == 202
    push_manifest(client, repo, "latest", image.manifest, image.media_type)
    assert client.get(f"/v2/{repo}/manifests/latest").content == image.manifest


def test_delete_in_unknown_repository_is_404_name_unknown(client: httpx.Client, repo: str) -> None:
    assert_error(client.delete(f"/v2/{repo}/manifests/latest"), 404, "NAME_UNKNOWN")
    digest = sha256(b"x")
    assert_error(client.delete(f"/v2/{repo}/manifests/{digest}"), 404, "NAME_UNKNOWN")
