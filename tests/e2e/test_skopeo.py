"""skopeo copies OCI layouts to Dockyard and back: single images, multi-architecture indexes,
in OCI and Docker schema 2 form; lists tags and deletes manifests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.clients import Skopeo
from tests.support.images import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, sha256
from tests.support.oci_layout import Layout
from tests.support.servers import DockyardServer

pytestmark = pytest.mark.e2e

ALL_MANIFESTS = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])


def image_layers(architecture: str, nonce: str) -> list[dict[str, bytes]]:
    """Three layers of files unique to this run (skopeo's blob cache outlives the server)."""
    return [
        {"etc/os-release": f"NAME=dockyard-e2e\nARCH={architecture}\n{nonce}\n".encode()},
        {"app/data.bin": (architecture + nonce).encode() * 2048},
        {"app/README": f"layer three {nonce}\n".encode(), "app/bin/tool": b"#!/bin/true\n"},
    ]


def single_image_layout(path: Path, tag: str) -> Layout:
    layout = Layout(path)
    layout.tag(tag, layout.add_image(image_layers("amd64", uuid.uuid4().hex)))
    return layout


def multi_arch_layout(path: Path, tag: str) -> Layout:
    layout = Layout(path)
    nonce = uuid.uuid4().hex
    manifests = [
        layout.add_image(image_layers(architecture, nonce), architecture=architecture)
        for architecture in ("amd64", "arm64")
    ]
    layout.tag(tag, layout.add_index(manifests))
    return layout


def registry_manifest(client: httpx.Client, repo: str, reference: str) -> httpx.Response:
    response = client.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": ALL_MANIFESTS})
    assert response.status_code == 200, response.text
    return response


def assert_blobs_served(client: httpx.Client, repo: str, manifest: dict[str, Any]) -> None:
    for blob in [manifest["config"], *manifest["layers"]]:
        response = client.get(f"/v2/{repo}/blobs/{blob['digest']}")
        assert response.status_code == 200, blob
        assert sha256(response.content) == blob["digest"]
        assert len(response.content) == blob["size"]


@pytest.mark.parametrize(
    ("form", "media_type"), [("oci", OCI_MANIFEST), ("v2s2", DOCKER_MANIFEST)], ids=["oci", "v2s2"]
)
def test_copy_image_round_trip(
    skopeo: Skopeo,
    server: DockyardServer,
    client: httpx.Client,
    repo: str,
    tmp_path: Path,
    form: str,
    media_type: str,
) -> None:
    source = single_image_layout(tmp_path / "source", "v1")
    remote = f"docker://{server.host}/{repo}:v1"

    pushed = skopeo.copy(f"oci:{source.path}:v1", remote, "--format", form)

    raw = skopeo.inspect_raw(remote)
    assert sha256(raw) == pushed
    response = registry_manifest(client, repo, "v1")
    assert response.headers["docker-content-digest"] == pushed
    assert response.headers["content-type"] == media_type
    manifest = response.json()
    assert manifest["mediaType"] == media_type
    assert len(manifest["layers"]) == 3
    assert_blobs_served(client, repo, manifest)

    # Out again, byte for byte: an OCI layout keeps an OCI manifest as it is; a Docker schema 2
    # manifest would be converted on the way into one, so it goes to a `dir:` copy instead.
    if form == "oci":
        pulled = Layout(tmp_path / "pulled")
        assert skopeo.copy(remote, f"oci:{pulled.path}:v1") == pushed
        descriptor = pulled.tagged("v1")
        assert descriptor["digest"] == pushed
        assert pulled.read_blob(pushed) == raw
    else:
        out = tmp_path / "pulled-dir"
        assert skopeo.copy(remote, f"dir:{out}") == pushed
        assert (out / "manifest.json").read_bytes() == raw
    for blob in [manifest["config"], *manifest["layers"]]:
        hex_digest = blob["digest"].removeprefix("sha256:")
        stored = (
            pulled.read_blob(blob["digest"]) if form == "oci" else (out / hex_digest).read_bytes()
        )
        assert sha256(stored) == blob["digest"]

    # And by digest: the same bytes.
    assert skopeo.inspect_raw(f"docker://{server.host}/{repo}@{pushed}") == raw


@pytest.mark.parametrize(
    ("form", "list_type", "child_type"),
    [("oci", OCI_INDEX, OCI_MANIFEST), ("v2s2", DOCKER_LIST, DOCKER_MANIFEST)],
    ids=["oci-index", "docker-manifest-list"],
)
def test_copy_multi_arch_round_trip(
    skopeo: Skopeo,
    server: DockyardServer,
    client: httpx.Client,
    repo: str,
    tmp_path: Path,
    form: str,
    list_type: str,
    child_type: str,
) -> None:
    source = multi_arch_layout(tmp_path / "source", "v1")
    remote = f"docker://{server.host}/{repo}:v1"

    flags = ["--all"] if form == "oci" else ["--all", "--format", "v2s2"]
    pushed = skopeo.copy(f"oci:{source.path}:v1", remote, *flags)

    raw = skopeo.inspect_raw(remote)
    assert sha256(raw) == pushed
    response = registry_manifest(client, repo, "v1")
    assert response.headers["docker-content-digest"] == pushed
    assert response.headers["content-type"] == list_type
    index = response.json()
    assert index["mediaType"] == list_type
    platforms = sorted(child["platform"]["architecture"] for child in index["manifests"])
    assert platforms == ["amd64", "arm64"]
    for child in index["manifests"]:
        assert child["mediaType"] == child_type
        child_response = registry_manifest(client, repo, child["digest"])
        assert child_response.headers["content-type"] == child_type
        assert sha256(child_response.content) == child["digest"]
        assert_blobs_served(client, repo, child_response.json())

    # Back out with --all: the list and both platform manifests, the same digests.
    if form == "oci":
        pulled = Layout(tmp_path / "pulled")
        assert skopeo.copy(remote, f"oci:{pulled.path}:v1", "--all") == pushed
        assert pulled.tagged("v1")["digest"] == pushed
        assert pulled.read_blob(pushed) == raw
        for child in index["manifests"]:
            assert sha256(pulled.read_blob(child["digest"])) == child["digest"]
    else:
        out = tmp_path / "pulled-dir"
        assert skopeo.copy(remote, f"dir:{out}", "--all") == pushed
        assert (out / "manifest.json").read_bytes() == raw
        for child in index["manifests"]:
            hex_digest = child["digest"].removeprefix("sha256:")
            stored = (out / f"{hex_digest}.manifest.json").read_bytes()
            assert sha256(stored) == child["digest"]


def test_list_tags_and_delete(
    skopeo: Skopeo, server: DockyardServer, client: httpx.Client, repo: str, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "source")
    nonce = uuid.uuid4().hex
    first = layout.add_image(image_layers("amd64", nonce + "-a"))
    second = layout.add_image(image_layers("amd64", nonce + "-b"))
    layout.tag("v1", first)
    layout.tag("v2", second)
    base = f"docker://{server.host}/{repo}"
    digests = {
        tag: skopeo.copy(f"oci:{layout.path}:{tag}", f"{base}:{tag}") for tag in ("v1", "v2")
    }
    skopeo.run(
        "copy", "--src-tls-verify=false", "--dest-tls-verify=false", f"{base}:v1", f"{base}:latest"
    )

    assert sorted(skopeo.list_tags(base)) == ["latest", "v1", "v2"]

    # skopeo deletes by digest: v2's manifest goes, and with it the tag that pointed at it.
    skopeo.delete(f"{base}:v2")
    gone = client.get(f"/v2/{repo}/manifests/{digests['v2']}", headers={"Accept": ALL_MANIFESTS})
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    tag = client.get(f"/v2/{repo}/manifests/v2", headers={"Accept": ALL_MANIFESTS})
    assert tag.status_code == 404
    assert skopeo.run("inspect", "--tls-verify=false", f"{base}:v2", check=False).returncode != 0
    assert sorted(skopeo.list_tags(base)) == ["latest", "v1"]

    # The other manifest is untouched.
    assert sha256(skopeo.inspect_raw(f"{base}:v1")) == digests["v1"]
    assert client.get(f"/v2/{repo}/tags/list").json()["tags"] == ["latest", "v1"]
