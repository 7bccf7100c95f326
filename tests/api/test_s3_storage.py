"""`dockyard serve` on the S3 driver against a real SeaweedFS: pushes and pulls, blob GETs
redirected to presigned URLs or streamed by the registry itself."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.api import patch_chunk, start_upload
from tests.support.images import OCI_MANIFEST, make_image, push_blob, push_image, sha256
from tests.support.seaweedfs import S3Bucket
from tests.support.servers import dockyard_server

MIB = 1024 * 1024
# Spans several S3 parts of the smallest size, so publishing stitches chunk objects.
LARGE = random.Random(1).randbytes(13 * MIB + 17)
SMALL = bytes(range(256)) * 40


@dataclass
class S3Registry:
    client: httpx.Client
    bucket: S3Bucket
    prefix: str


def s3_registry(
    bucket: S3Bucket, tmp_path_factory: pytest.TempPathFactory, **extra: str
) -> Iterator[S3Registry]:
    prefix = f"api/{uuid.uuid4().hex}"
    environment = bucket.environment(prefix, part_size=str(5 * MIB), **extra)
    # Two workers: the chunks of one upload reach different processes.
    environment["DOCKYARD_HTTP__WORKERS"] = "2"
    data = tmp_path_factory.mktemp("s3-registry") / "data"
    with (
        dockyard_server(data, env=environment) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        yield S3Registry(client, bucket, prefix)


@pytest.fixture(scope="module")
def redirecting(
    s3_bucket: S3Bucket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Registry]:
    yield from s3_registry(s3_bucket, tmp_path_factory)


@pytest.fixture(scope="module")
def streaming(
    s3_bucket: S3Bucket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Registry]:
    yield from s3_registry(s3_bucket, tmp_path_factory, redirect="false")


def chunked_upload(client: httpx.Client, repo: str, data: bytes, chunk: int) -> str:
    location = start_upload(client, repo)
    for start in range(0, len(data), chunk):
        response = patch_chunk(client, location, data[start : start + chunk], start)
        assert response.status_code == 202, response.text
        location = response.headers["location"]
    digest = sha256(data)
    finished = client.put(location, params={"digest": digest})
    assert finished.status_code == 201, finished.text
    return digest


def test_chunked_upload_is_published_as_one_object_in_the_bucket(
    redirecting: S3Registry, repo: str
) -> None:
    digest = chunked_upload(redirecting.client, repo, LARGE, 3 * MIB)
    hex_digest = digest.removeprefix("sha256:")
    objects = redirecting.bucket.objects(f"{redirecting.prefix}/")
    assert objects[f"{redirecting.prefix}/blobs/sha256/{hex_digest[:2]}/{hex_digest}"] == len(LARGE)
    # No chunk object of the finished upload is left behind.
    assert not [name for name in objects if "/uploads/" in name]


def test_blob_get_redirects_to_a_presigned_url_with_the_bytes(
    redirecting: S3Registry, repo: str
) -> None:
    digest = chunked_upload(redirecting.client, repo, LARGE, 4 * MIB)
    response = redirecting.client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 307
    location = response.headers["location"]
    assert location.startswith("http://127.0.0.1:") and "X-Amz-Signature" in location
    fetched = httpx.get(location, timeout=60)
    assert fetched.status_code == 200
    assert sha256(fetched.content) == digest


def test_ranged_get_through_the_redirect(redirecting: S3Registry, repo: str) -> None:
    digest = push_blob(redirecting.client, repo, SMALL)
    response = redirecting.client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=0-"})
    assert response.status_code == 307
    ranged = httpx.get(response.headers["location"], headers={"Range": "bytes=100-199"})
    assert (ranged.status_code, ranged.content) == (206, SMALL[100:200])


def test_head_is_answered_by_the_registry(redirecting: S3Registry, repo: str) -> None:
    digest = push_blob(redirecting.client, repo, SMALL)
    response = redirecting.client.head(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(SMALL))
    assert response.headers["docker-content-digest"] == digest
    assert "location" not in response.headers


def test_unknown_blob_is_not_redirected(redirecting: S3Registry, repo: str) -> None:
    push_blob(redirecting.client, repo, b"something")
    response = redirecting.client.get(f"/v2/{repo}/blobs/{sha256(b'never pushed')}")
    assert response.status_code == 404


def test_without_redirect_the_registry_streams_the_blob(streaming: S3Registry, repo: str) -> None:
    digest = chunked_upload(streaming.client, repo, LARGE, 5 * MIB + 3)
    response = streaming.client.get(f"/v2/{repo}/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(LARGE))
    assert sha256(response.content) == digest


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=5242870-5242889", 5242870, 5242889), ("bytes=-24", None, None)],
)
def test_ranged_get_streamed_by_the_registry(
    streaming: S3Registry, repo: str, header: str, start: int | None, end: int | None
) -> None:
    digest = chunked_upload(streaming.client, repo, LARGE, 6 * MIB)
    if start is None or end is None:
        start, end = len(LARGE) - 24, len(LARGE) - 1
    response = streaming.client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(LARGE)}"
    assert response.content == LARGE[start : end + 1]


def test_image_pushed_monolithically_pulls_back(streaming: S3Registry, repo: str) -> None:
    image = make_image(repo, layers=3)
    digest = push_image(streaming.client, repo, image, tag="v1")
    manifest = streaming.client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert manifest.status_code == 200
    assert manifest.headers["docker-content-digest"] == digest
    for layer in json.loads(manifest.content)["layers"]:
        blob = streaming.client.get(f"/v2/{repo}/blobs/{layer['digest']}")
        assert sha256(blob.content) == layer["digest"]


def test_cross_repository_mount_serves_the_same_object(redirecting: S3Registry, repo: str) -> None:
    digest = push_blob(redirecting.client, f"{repo}/source", SMALL)
    mounted = redirecting.client.post(
        f"/v2/{repo}/target/blobs/uploads/", params={"mount": digest, "from": f"{repo}/source"}
    )
    assert mounted.status_code == 201, mounted.text
    response = redirecting.client.get(f"/v2/{repo}/target/blobs/{digest}")
    assert response.status_code == 307
    assert httpx.get(response.headers["location"]).content == SMALL
