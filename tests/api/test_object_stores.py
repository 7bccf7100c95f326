"""The registry on Azure Blob Storage, Google Cloud Storage and OpenStack Swift (through
opendal), each against a server that runs here: Azurite, fake-gcs-server, a Swift all-in-one.
The driver suite proves the drivers; this proves the registry works on them end to end."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dockyard.config import StorageSettings
from tests.support.api import patch_chunk, start_upload
from tests.support.clients import Skopeo, missing
from tests.support.images import sha256
from tests.support.oci_layout import Layout
from tests.support.servers import DockyardServer, dockyard_server
from tests.support.stores import StoreServer, delete_stored, environment, stored_keys

MIB = 1024 * 1024
SERVER_FIXTURES = {"azure": "azurite", "gcs": "fake_gcs", "swift": "swift"}


@dataclass
class Registry:
    server: DockyardServer
    storage: StorageSettings


@pytest.fixture(scope="module", params=list(SERVER_FIXTURES))
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    store: StoreServer = request.getfixturevalue(SERVER_FIXTURES[request.param])
    storage = store.storage(f"registry/{uuid.uuid4().hex}", chunk_size=8 * MIB)
    data = tmp_path_factory.mktemp(request.param)
    with dockyard_server(data, env=environment(storage)) as server:
        yield Registry(server, storage)


def test_skopeo_pushes_and_pulls_an_image(registry: Registry, tmp_path: Path) -> None:
    if (reason := missing("skopeo")) is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    skopeo = Skopeo(tmp_path / "skopeo")
    nonce = uuid.uuid4().hex  # skopeo's blob cache outlives the servers: new bytes each run
    layout = Layout(tmp_path / "layout")
    layers = [
        {"etc/release": f"object store {nonce}\n".encode()},
        {"app/blob.bin": random.Random(nonce).randbytes(9 * MIB)},  # more than a block
    ]
    layout.tag("v1", layout.add_image(layers))
    host, repo = registry.server.host, f"stores/skopeo-{nonce[:8]}"

    pushed = skopeo.copy(f"oci:{layout.path}:v1", f"docker://{host}/{repo}:v1")
    pulled = skopeo.copy(f"docker://{host}/{repo}:v1", f"oci:{tmp_path / 'out'}:v1")

    assert pulled == pushed
    manifest = json.loads(skopeo.inspect_raw(f"docker://{host}/{repo}@{pushed}"))
    out = Layout(tmp_path / "out")
    for blob in [manifest["config"], *manifest["layers"]]:
        assert sha256(out.read_blob(blob["digest"])) == blob["digest"]


def test_a_chunked_upload_is_joined_and_leaves_nothing_behind(
    registry: Registry, repo: str, tmp_path: Path
) -> None:
    data = random.Random(5).randbytes(11 * MIB + 7)
    chunks = [data[: 3 * MIB], data[3 * MIB : 9 * MIB + 1], data[9 * MIB + 1 :]]
    with httpx.Client(base_url=registry.server.url, timeout=60) as client:
        location, offset = start_upload(client, repo), 0
        for chunk in chunks:
            response = patch_chunk(client, location, chunk, offset)
            assert response.status_code == 202, response.text
            offset += len(chunk)
            location = response.headers["location"]
        digest = sha256(data)
        finished = client.put(location, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        assert client.get(f"/v2/{repo}/blobs/{digest}").content == data
        ranged = client.get(f"/v2/{repo}/blobs/{digest}", headers={"Range": "bytes=5-14"})
        assert (ranged.status_code, ranged.content) == (206, data[5:15])
    assert stored_keys(registry.storage, "uploads", tmp_path) == []


def test_a_blob_the_store_lost_is_unknown_before_its_answer_starts(
    registry: Registry, repo: str, tmp_path: Path
) -> None:
    # The object removed behind the registry's back: its GET started a 200 and then failed.
    data = f"lost {uuid.uuid4()}".encode()
    digest = sha256(data)
    with httpx.Client(base_url=registry.server.url, timeout=60) as client:
        pushed = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
        assert pushed.status_code == 201, pushed.text
        delete_stored(registry.storage, f"blobs/sha256/{digest[7:9]}/{digest[7:]}", tmp_path)
        lost = client.get(f"/v2/{repo}/blobs/{digest}")
    assert lost.status_code == 404, lost.text
    assert lost.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
