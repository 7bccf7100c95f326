"""Repository names and tags: the spec's grammar, multi-component names on every endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import assert_error, assert_head_error, patch_chunk, start_upload
from tests.support.images import make_image, push_blob, push_image, sha256

ZERO = "sha256:" + "0" * 64


@pytest.mark.parametrize(
    "suffix",
    [
        "org/team/app",
        "a/b/c/d/e/f",
        "my.org/team_x/app--name",
        "x/blobs/y",  # a component named like a route word must not confuse the router
        "x/manifests/y",
        "x/blobs/uploads",
        "x/tags/list",
        "x/referrers/z",
    ],
)
def test_multi_component_name_works_on_every_endpoint(
    client: httpx.Client, repo: str, suffix: str
) -> None:
    name = f"{repo}/{suffix}"
    image = make_image(name)
    digest = push_image(client, name, image, tag="v1")
    assert client.get(f"/v2/{name}/manifests/v1").content == image.manifest
    assert client.head(f"/v2/{name}/manifests/{digest}").status_code == 200
    layer = image.layers[0]
    assert client.get(f"/v2/{name}/blobs/{sha256(layer)}").content == layer
    assert client.get(f"/v2/{name}/tags/list").json() == {"name": name, "tags": ["v1"]}
    location = start_upload(client, name)
    assert location.startswith(f"/v2/{name}/blobs/uploads/")
    assert patch_chunk(client, location, b"chunk", 0).status_code == 202
    assert client.get(location).status_code == 204
    finished = client.put(location, params={"digest": sha256(b"chunk")})
    assert finished.headers["location"] == f"/v2/{name}/blobs/{sha256(b'chunk')}"
    referrers = client.get(f"/v2/{name}/referrers/{digest}")
    assert referrers.json()["manifests"] == []
    catalog = client.get("/v2/_catalog", params={"last": repo, "n": 10_000})
    assert name in catalog.json()["repositories"]
    assert client.delete(f"/v2/{name}/manifests/v1").status_code == 202
    assert client.delete(f"/v2/{name}/manifests/{digest}").status_code == 202


def test_name_of_exactly_255_characters_is_accepted(client: httpx.Client, repo: str) -> None:
    name = f"{repo}/" + "n" * (255 - len(repo) - 1)
    assert len(name) == 255
    push_blob(client, name, b"long name")
    assert client.get(f"/v2/{name}/blobs/{sha256(b'long name')}").status_code == 200


INVALID_NAMES = [
    "Upper/case",
    "lower/Case",
    "-leading-dash",
    "_leading-underscore",
    ".leading-dot",
    "trailing-dash-",
    "trailing.dot.",
    "a..b",
    "a___b",
    "a/-b",
    "a//b",
    "a/",  # trailing separator
    "/a",  # leading separator
    "a b",
    "a+b",
    "a:b",
    "é",
    "x" * 256,
    "a/" + "b" * 254,
]


def _route(kind: str, name: str) -> tuple[str, str, dict[str, Any]]:
    routes: dict[str, tuple[str, str, dict[str, Any]]] = {
        "tags": ("GET", f"/v2/{name}/tags/list", {}),
        "get-manifest": ("GET", f"/v2/{name}/manifests/latest", {}),
        "put-manifest": ("PUT", f"/v2/{name}/manifests/latest", {"content": b"{}"}),
        "delete-manifest": ("DELETE", f"/v2/{name}/manifests/{ZERO}", {}),
        "get-blob": ("GET", f"/v2/{name}/blobs/{ZERO}", {}),
        "delete-blob": ("DELETE", f"/v2/{name}/blobs/{ZERO}", {}),
        "start-upload": ("POST", f"/v2/{name}/blobs/uploads/", {}),
        "monolithic-upload": (
            "POST",
            f"/v2/{name}/blobs/uploads/",
            {"params": {"digest": sha256(b"x")}, "content": b"x"},
        ),
        "upload-status": ("GET", f"/v2/{name}/blobs/uploads/some-id", {}),
        "referrers": ("GET", f"/v2/{name}/referrers/{ZERO}", {}),
    }
    return routes[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "tags",
        "get-manifest",
        "put-manifest",
        "delete-manifest",
        "get-blob",
        "delete-blob",
        "start-upload",
        "monolithic-upload",
        "upload-status",
        "referrers",
    ],
)
def test_invalid_name_is_400_name_invalid(client: httpx.Client, kind: str) -> None:
    for name in INVALID_NAMES:
        method, path, kwargs = _route(kind, name)
        response = client.request(method, path, **kwargs)
        error = assert_error(response, 400, "NAME_INVALID")
        assert error["detail"] == {"name": name}


def test_invalid_name_never_reaches_the_catalog(client: httpx.Client) -> None:
    client.post("/v2/Bad/Name/blobs/uploads/")
    catalog = client.get("/v2/_catalog").json()["repositories"]
    assert "Bad/Name" not in catalog


@pytest.mark.parametrize(
    "tag",
    ["latest", "v1.0.0", "1", "_private", "UPPER-and.lower_1", "t" * 128],
)
def test_valid_tags_are_accepted(client: httpx.Client, repo: str, tag: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image, tag=tag)
    assert client.get(f"/v2/{repo}/manifests/{tag}").content == image.manifest
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == [tag]


INVALID_TAGS = ["-dash", ".dot", "t" * 129, "a b", "a+b", "ä", "a@b", "a!"]


@pytest.mark.parametrize("tag", INVALID_TAGS, ids=[t[:16] for t in INVALID_TAGS])
@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_invalid_tag_is_400(client: httpx.Client, repo: str, tag: str, method: str) -> None:
    image = make_image(repo)
    push_image(client, repo, image)
    response = client.request(
        method,
        f"/v2/{repo}/manifests/{tag}",
        content=image.manifest if method == "PUT" else None,
        headers={"Content-Type": image.media_type} if method == "PUT" else None,
    )
    assert_error(response, 400, "MANIFEST_INVALID")
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["latest"]


@pytest.mark.parametrize("tag", [*INVALID_TAGS, ".INVALID_MANIFEST_NAME"], ids=lambda t: t[:16])
def test_reading_a_manifest_by_an_invalid_reference_is_404_manifest_unknown(
    client: httpx.Client, repo: str, tag: str
) -> None:
    """As Distribution, whose routes never match such a reference: nothing by that name."""
    push_image(client, repo, make_image(repo))
    assert_error(client.get(f"/v2/{repo}/manifests/{tag}"), 404, "MANIFEST_UNKNOWN")
    assert_head_error(client.head(f"/v2/{repo}/manifests/{tag}"), 404)
