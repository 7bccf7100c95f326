"""`GET /v2/<name>/referrers/<digest>`: the manifests whose subject is that digest, as an index."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import (
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    descriptor,
    make_image,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

OCI_EMPTY = "application/vnd.oci.empty.v1+json"
SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1+json"


def push_referrer(
    client: httpx.Client,
    repo: str,
    subject: bytes,
    *,
    artifact_type: str | None = None,
    config_type: str = OCI_EMPTY,
    annotations: dict[str, str] | None = None,
    payload: bytes = b"payload",
) -> dict[str, Any]:
    """Push an artifact whose subject is `subject` (by digest); returns its expected descriptor."""
    config = b"{}" if config_type == OCI_EMPTY else b'{"config": true}'
    push_blob(client, repo, config)
    push_blob(client, repo, payload)
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config_type, config),
        "layers": [descriptor("application/vnd.example.payload", payload)],
        "subject": descriptor(OCI_MANIFEST, subject),
    }
    if artifact_type:
        document["artifactType"] = artifact_type
    if annotations:
        document["annotations"] = annotations
    body = json.dumps(document).encode()
    response = push_manifest(client, repo, sha256(body), body, OCI_MANIFEST)
    assert response.headers["oci-subject"] == sha256(subject)
    expected: dict[str, Any] = {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(body),
        "size": len(body),
        "artifactType": artifact_type or config_type,
    }
    if annotations:
        expected["annotations"] = annotations
    return expected


def referrers(client: httpx.Client, repo: str, digest: str, **params: str) -> httpx.Response:
    response = client.get(f"/v2/{repo}/referrers/{digest}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OCI_INDEX
    index = response.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    return response


def by_digest(descriptors: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["digest"]: d for d in descriptors}


@pytest.fixture
def subject(client: httpx.Client, repo: str) -> Image:
    image = make_image(repo)
    push_image(client, repo, image)
    return image


def test_referrers_list_every_manifest_whose_subject_is_the_digest(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    expected = [
        push_referrer(client, repo, subject.manifest, artifact_type=SBOM),
        push_referrer(
            client,
            repo,
            subject.manifest,
            artifact_type=SIGNATURE,
            annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
            payload=b"signature",
        ),
    ]
    response = referrers(client, repo, subject.digest)
    assert "oci-filters-applied" not in response.headers
    manifests = response.json()["manifests"]
    assert by_digest(manifests) == by_digest(expected)


def test_referrer_without_artifact_type_is_typed_by_its_config(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    expected = push_referrer(
        client, repo, subject.manifest, config_type="application/vnd.example.config.v1+json"
    )
    manifests = referrers(client, repo, subject.digest).json()["manifests"]
    assert manifests == [expected]
    assert manifests[0]["artifactType"] == "application/vnd.example.config.v1+json"


def test_artifact_type_filter_keeps_only_that_type_and_says_so(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    sbom = push_referrer(client, repo, subject.manifest, artifact_type=SBOM)
    push_referrer(client, repo, subject.manifest, artifact_type=SIGNATURE, payload=b"sig")
    response = referrers(client, repo, subject.digest, artifactType=SBOM)
    assert response.headers["oci-filters-applied"] == "artifactType"
    assert response.json()["manifests"] == [sbom]


def test_artifact_type_filter_matching_nothing_gives_an_empty_index(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    push_referrer(client, repo, subject.manifest, artifact_type=SBOM)
    response = referrers(client, repo, subject.digest, artifactType="application/vnd.none")
    assert response.headers["oci-filters-applied"] == "artifactType"
    assert response.json()["manifests"] == []


def test_unknown_subject_gives_200_and_an_empty_index(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    response = referrers(client, repo, sha256(b"no such manifest"))
    assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


def test_subject_without_referrers_gives_an_empty_index(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    assert referrers(client, repo, subject.digest).json()["manifests"] == []


def test_referrer_pushed_before_its_subject_is_listed(client: httpx.Client, repo: str) -> None:
    image = make_image(repo)
    expected = push_referrer(client, repo, image.manifest, artifact_type=SBOM)
    assert referrers(client, repo, image.digest).json()["manifests"] == [expected]
    push_image(client, repo, image)
    assert referrers(client, repo, image.digest).json()["manifests"] == [expected]


def test_referrers_in_another_repository_are_not_listed(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    push_referrer(client, f"{repo}/elsewhere", subject.manifest, artifact_type=SBOM)
    assert referrers(client, repo, subject.digest).json()["manifests"] == []


def test_deleted_referrer_leaves_the_list(client: httpx.Client, repo: str, subject: Image) -> None:
    gone = push_referrer(client, repo, subject.manifest, artifact_type=SBOM)
    kept = push_referrer(client, repo, subject.manifest, artifact_type=SIGNATURE, payload=b"s")
    assert client.delete(f"/v2/{repo}/manifests/{gone['digest']}").status_code == 202
    assert referrers(client, repo, subject.digest).json()["manifests"] == [kept]


def test_index_with_subject_is_listed_with_its_artifact_type(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    child = make_image(f"{repo}-child")
    push_image(client, repo, child, tag=child.digest)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": "application/vnd.example.bundle",
            "manifests": [descriptor(OCI_MANIFEST, child.manifest)],
            "subject": descriptor(OCI_MANIFEST, subject.manifest),
            "annotations": {"purpose": "test"},
        }
    ).encode()
    response = push_manifest(client, repo, "bundle", body, OCI_INDEX)
    assert response.headers["oci-subject"] == subject.digest
    assert referrers(client, repo, subject.digest).json()["manifests"] == [
        {
            "mediaType": OCI_INDEX,
            "digest": sha256(body),
            "size": len(body),
            "artifactType": "application/vnd.example.bundle",
            "annotations": {"purpose": "test"},
        }
    ]


def test_referrers_of_a_referrer_form_a_chain(
    client: httpx.Client, repo: str, subject: Image
) -> None:
    signature = push_referrer(client, repo, subject.manifest, artifact_type=SIGNATURE)
    signed = client.get(f"/v2/{repo}/manifests/{signature['digest']}").content
    countersignature = push_referrer(client, repo, signed, artifact_type=SBOM, payload=b"counter")
    assert referrers(client, repo, subject.digest).json()["manifests"] == [signature]
    assert referrers(client, repo, signature["digest"]).json()["manifests"] == [countersignature]


@pytest.mark.parametrize("digest", ["not-a-digest", "sha256:abc", "sha256:" + "Z" * 64])
def test_referrers_of_malformed_digest_is_400_digest_invalid(
    client: httpx.Client, repo: str, subject: Image, digest: str
) -> None:
    assert_error(client.get(f"/v2/{repo}/referrers/{digest}"), 400, "DIGEST_INVALID")
