"""`GET /v2/`, unknown routes, wrong methods, and the rule that a client error is never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.api import assert_error
from tests.support.images import OCI_MANIFEST, push_blob, sha256

ZERO = "sha256:" + "0" * 64


def test_api_version_check_answers_200_with_registry_2_0_header(client: httpx.Client) -> None:
    response = client.get("/v2/")
    assert response.status_code == 200
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}


def test_api_version_check_answers_head_too(client: httpx.Client) -> None:
    response = client.head("/v2/")
    assert response.status_code == 200
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"


def test_api_version_header_is_on_errors_too(client: httpx.Client) -> None:
    response = client.get("/v2/test/never-pushed/manifests/latest")
    assert response.status_code == 404
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"


def test_api_version_check_without_trailing_slash_redirects_to_it(client: httpx.Client) -> None:
    response = client.get("/v2")
    assert response.is_redirect
    assert response.headers["location"].endswith("/v2/")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v3/",
        "/v2/justaname",
        "/v2/some/repo/unknown-resource",
        "/v2/some/repo/blobs/",
        "/v2/some/repo/manifests/",
        "/v2/some/repo/tags/",
        "/v2/some/repo/referrers/",
        "/v2/_catalog/extra",
        "/favicon.ico",
    ],
)
def test_unknown_route_is_a_json_404(client: httpx.Client, path: str) -> None:
    assert_error(client.get(path), 404, "NAME_UNKNOWN")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v2/"),
        ("POST", "/v2/"),
        ("PUT", "/v2/_catalog"),
        ("POST", "/v2/_catalog"),
        ("PUT", f"/v2/some/repo/blobs/{ZERO}"),
        ("POST", f"/v2/some/repo/blobs/{ZERO}"),
        ("PATCH", f"/v2/some/repo/blobs/{ZERO}"),
        ("GET", "/v2/some/repo/blobs/uploads/"),
        ("PUT", "/v2/some/repo/blobs/uploads/"),
        ("POST", "/v2/some/repo/blobs/uploads/some-id"),
        ("POST", "/v2/some/repo/manifests/latest"),
        ("PATCH", "/v2/some/repo/manifests/latest"),
        ("DELETE", "/v2/some/repo/tags/list"),
        ("PUT", "/v2/some/repo/tags/list"),
        ("DELETE", f"/v2/some/repo/referrers/{ZERO}"),
    ],
)
def test_wrong_method_is_a_json_405_with_allow(
    client: httpx.Client, method: str, path: str
) -> None:
    response = client.request(method, path)
    assert_error(response, 405, "UNSUPPORTED")
    assert response.headers["allow"]
    assert method not in response.headers["allow"].replace(" ", "").split(",")


def _manifest(**fields: object) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, **fields}).encode()


GOOD_DESCRIPTOR = {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": ZERO,
    "size": 1,
}

# (method, path under /v2/<repo>, keyword arguments): each one a client mistake.
MALFORMED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/blobs/not-a-digest", {}),
    ("GET", "/blobs/sha256:abc", {}),
    ("GET", "/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", {}),
    ("GET", "/blobs/sha256:" + "A" * 64, {}),
    ("GET", "/blobs/sha256:" + "0" * 65, {}),
    ("GET", "/blobs/:" + "0" * 64, {}),
    ("GET", "/blobs/sha256:" + "0" * 63 + "%00", {}),
    ("DELETE", "/blobs/sha256:xyz", {}),
    ("GET", "/blobs/{blob}", {"headers": {"Range": "bytes=abc"}}),
    ("GET", "/blobs/{blob}", {"headers": {"Range": "bytes=-"}}),
    ("GET", "/blobs/{blob}", {"headers": {"Range": "chars=0-1"}}),
    ("GET", "/blobs/{blob}", {"headers": {"Range": "bytes=5-2"}}),
    ("GET", "/blobs/{blob}", {"headers": {"Range": "bytes=9999-"}}),
    ("HEAD", "/blobs/{blob}", {"headers": {"Range": "bytes=9999-"}}),
    ("POST", "/blobs/uploads/", {"params": {"digest": "garbage"}, "content": b"x"}),
    ("POST", "/blobs/uploads/", {"params": {"digest": "sha256:short"}, "content": b"x"}),
    ("POST", "/blobs/uploads/", {"params": {"mount": "garbage", "from": "a/b"}}),
    ("POST", "/blobs/uploads/", {"params": {"digest": sha256(b"y")}, "content": b"not y"}),
    ("GET", "/blobs/uploads/not-an-upload", {}),
    ("GET", "/blobs/uploads/..%2F..%2Fregistry.db", {}),
    ("PATCH", "/blobs/uploads/not-an-upload", {"content": b"x"}),
    ("PUT", "/blobs/uploads/not-an-upload", {"params": {"digest": ZERO}}),
    ("DELETE", "/blobs/uploads/not-an-upload", {}),
    ("GET", "/manifests/sha256:nothex", {}),
    ("GET", "/manifests/-starts-with-dash", {}),
    ("GET", "/manifests/" + "t" * 129, {}),
    ("GET", "/manifests/%ff%fe", {}),
    ("HEAD", "/manifests/sha256:nothex", {}),
    ("DELETE", "/manifests/sha256:nothex", {}),
    ("DELETE", "/manifests/latest", {}),
    ("PUT", "/manifests/latest", {"content": b""}),
    ("PUT", "/manifests/latest", {"content": b"\xff\xfe\x00binary"}),
    ("PUT", "/manifests/latest", {"content": b"{not json"}),
    ("PUT", "/manifests/latest", {"content": b"[]"}),
    ("PUT", "/manifests/latest", {"content": b"null"}),
    ("PUT", "/manifests/latest", {"content": b'"a string"'}),
    ("PUT", "/manifests/latest", {"content": b"1e999999"}),
    ("PUT", "/manifests/latest", {"content": b"[" * 100_000 + b"]" * 100_000}),
    ("PUT", "/manifests/latest", {"content": _manifest()}),
    ("PUT", "/manifests/latest", {"content": _manifest(schemaVersion="2")}),
    ("PUT", "/manifests/latest", {"content": _manifest(config=None, layers=[])}),
    ("PUT", "/manifests/latest", {"content": _manifest(config=GOOD_DESCRIPTOR, layers={})}),
    ("PUT", "/manifests/latest", {"content": _manifest(config=GOOD_DESCRIPTOR, layers=[1])}),
    (
        "PUT",
        "/manifests/latest",
        {"content": _manifest(config={**GOOD_DESCRIPTOR, "size": -1}, layers=[])},
    ),
    (
        "PUT",
        "/manifests/latest",
        {"content": _manifest(config={**GOOD_DESCRIPTOR, "size": True}, layers=[])},
    ),
    (
        "PUT",
        "/manifests/latest",
        {"content": _manifest(config={**GOOD_DESCRIPTOR, "digest": 5}, layers=[])},
    ),
    ("PUT", "/manifests/latest", {"content": _manifest(mediaType=5)}),
    (
        "PUT",
        "/manifests/latest",
        {"content": _manifest(config=GOOD_DESCRIPTOR, layers=[], annotations={"a": 1})},
    ),
    (
        "PUT",
        "/manifests/latest",
        {"content": _manifest(config=GOOD_DESCRIPTOR, layers=[], subject="sha256:x")},
    ),
    ("PUT", "/manifests/latest", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}),
    ("PUT", "/manifests/sha256:nothex", {"content": b"{}"}),
    ("PUT", "/manifests/bad tag", {"content": b"{}"}),
    ("GET", "/tags/list", {"params": {"n": "abc"}}),
    ("GET", "/tags/list", {"params": {"n": "-1"}}),
    ("GET", "/tags/list", {"params": {"n": "1.5"}}),
    ("GET", "/referrers/not-a-digest", {}),
    ("GET", "/referrers/sha256:abc", {}),
]


@pytest.mark.parametrize(
    ("method", "suffix", "kwargs"),
    MALFORMED,
    ids=[f"{m} {s[:40]} {sorted(k)}" for m, s, k in MALFORMED],
)
def test_client_mistake_is_a_4xx_json_error_never_a_500(
    client: httpx.Client, repo: str, method: str, suffix: str, kwargs: dict[str, Any]
) -> None:
    # Some cases need a repository that exists, some a blob it holds: give them both.
    blob = push_blob(client, repo, b"a blob so the repository exists")
    path = f"/v2/{repo}{suffix.replace('{blob}', blob)}"
    response = client.request(method, path, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if method != "HEAD":
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert response.json()["errors"][0]["code"].isupper(), response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v2/Upper/tags/list",
        "/v2/" + "a" * 300 + "/tags/list",
        "/v2/_catalog?n=x",
        "/v2/_catalog?n=-5",
        "/v2/%2e%2e/tags/list",
        "/v2/a%00b/tags/list",
    ],
)
def test_malformed_request_outside_a_repository_is_never_a_500(
    client: httpx.Client, path: str
) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["errors"]
