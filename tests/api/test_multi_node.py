"""Three `dockyard serve` processes as stateless nodes behind a load balancer: one SeaweedFS
bucket, one PostgreSQL database, one Redis, each node with a data_dir of its own. A push,
an upload or a tag may move between nodes at any request, a node may die mid-request, and
at the end nothing is orphaned: no row points at nothing, no object lacks its row."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.api import patch_chunk, start_upload, upload_id
from tests.support.clients import Skopeo, missing
from tests.support.images import make_image, push_blobs, push_image, put_manifest, sha256
from tests.support.nodes import Cluster, registry_cluster
from tests.support.oci_layout import Layout
from tests.support.parallel import together
from tests.support.postgres import PostgresServer
from tests.support.seaweedfs import S3Bucket
from tests.support.servers import DockyardServer, dockyard_server

# Every test here drives several real servers over real services.
pytestmark = pytest.mark.slow

MIB = 1024 * 1024
PART = 5 * MIB  # the smallest S3 part: uploads of a few MiB already span several pieces
NODES = 3
RACE_ROUNDS = 15


@dataclass
class Deployment:
    cluster: Cluster
    bucket: S3Bucket
    prefix: str  # of this deployment's keys in the bucket
    env: dict[str, str]  # what every node shares, besides the database URL
    stack: ExitStack  # nodes started during the tests stop with the deployment
    base: Path

    @property
    def nodes(self) -> list[DockyardServer]:
        return self.cluster.nodes

    def replace(self, index: int) -> DockyardServer:
        """Start a new process for a dead node, on its data_dir (a new port)."""
        old = self.nodes[index]
        env = {**self.env, "DOCKYARD_DATABASE__URL": self.cluster.sql.url.render_as_string(False)}
        new = self.stack.enter_context(dockyard_server(old.data, env=env))
        self.nodes[index] = new
        return new

    def objects(self) -> dict[str, int]:
        """This deployment's objects, by key relative to its prefix."""
        listed = self.bucket.objects(f"{self.prefix}/")
        return {name.removeprefix(f"{self.prefix}/"): size for name, size in listed.items()}


@pytest.fixture(scope="module")
def deployment(
    s3_bucket: S3Bucket,
    postgres: PostgresServer,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    prefix = f"multi/{uuid.uuid4().hex}"
    env = {
        # Nodes serve the bytes themselves: blob GETs exercise each node's reads from the store.
        **s3_bucket.environment(prefix, part_size=str(PART), redirect="false"),
        "DOCKYARD_CACHE__REDIS_URL": redis_url,
        # Its own keys: DOCKYARD_TEST_REDIS_URL may name a Redis that others use too.
        "DOCKYARD_CACHE__KEY_PREFIX": f"multi-{uuid.uuid4().hex[:8]}",
        "DOCKYARD_LOG__ACCESS": "false",
        # Standalone, without accounts: what is shared here is storage, database and cache.
        "DOCKYARD_AUTH__MODE": "none",
    }
    base = tmp_path_factory.mktemp("multi-node")
    with (
        registry_cluster(base, postgres, count=NODES, env=env) as cluster,
        ExitStack() as stack,
    ):
        yield Deployment(cluster, s3_bucket, prefix, env, stack, base)


def blob_from(node: DockyardServer, repo: str, digest: str) -> bytes:
    response = httpx.get(f"{node.url}/v2/{repo}/blobs/{digest}", timeout=60)
    assert response.status_code == 200, (node.url, response.text)
    return response.content


def test_skopeo_pushes_through_one_node_and_pulls_through_another(
    deployment: Deployment, tmp_path: Path
) -> None:
    if (reason := missing("skopeo")) is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    skopeo = Skopeo(tmp_path / "skopeo")
    nonce = uuid.uuid4().hex  # skopeo's blob cache outlives the servers: new bytes each run
    layout = Layout(tmp_path / "layout")
    layers = [
        {"etc/release": f"multi-node {nonce}\n".encode()},
        # Larger than a part even gzipped: published from several chunk objects.
        {"app/blob.bin": random.Random(nonce).randbytes(7 * MIB)},
        {"app/README": f"three {nonce}\n".encode() * 100},
    ]
    layout.tag("v1", layout.add_image(layers))
    repo = f"multi/skopeo-{nonce[:8]}"
    first, third = deployment.nodes[0], deployment.nodes[2]

    pushed = skopeo.copy(f"oci:{layout.path}:v1", f"docker://{first.host}/{repo}:v1")
    pulled = skopeo.copy(f"docker://{third.host}/{repo}:v1", f"oci:{tmp_path / 'out'}:v1")

    assert pulled == pushed
    manifest = json.loads(skopeo.inspect_raw(f"docker://{third.host}/{repo}@{pushed}"))
    assert sha256(skopeo.inspect_raw(f"docker://{third.host}/{repo}:v1")) == pushed
    out = Layout(tmp_path / "out")
    for blob in [manifest["config"], *manifest["layers"]]:
        assert sha256(out.read_blob(blob["digest"])) == blob["digest"]


def test_a_chunked_upload_moves_from_node_to_node(deployment: Deployment, repo: str) -> None:
    data = random.Random(2).randbytes(13 * MIB + 5)
    # Chunks that fall across part boundaries, so each node rewrites what the previous left.
    pieces = [data[: 6 * MIB], data[6 * MIB : 11 * MIB + 3], data[11 * MIB + 3 : 12 * MIB]]
    last = data[12 * MIB :]
    clients = [httpx.Client(base_url=node.url, timeout=60) for node in deployment.nodes]
    with ExitStack() as stack:
        for client in clients:
            stack.enter_context(client)
        location = start_upload(clients[0], repo)
        offset = 0
        for client, piece in zip(clients, pieces, strict=True):
            response = patch_chunk(client, location, piece, offset)
            assert response.status_code == 202, response.text
            offset += len(piece)
            assert response.headers["range"] == f"0-{offset - 1}"
            location = response.headers["location"]
        digest = sha256(data)
        finished = clients[2].put(location, params={"digest": digest}, content=last)
        assert finished.status_code == 201, finished.text
        assert finished.headers["docker-content-digest"] == digest
    for node in deployment.nodes:
        assert blob_from(node, repo, digest) == data
    assert not [
        key for key in deployment.objects() if key.startswith(f"uploads/{upload_id(location)}")
    ]


def test_two_nodes_moving_one_tag_at_once_leave_it_on_one_of_theirs(
    deployment: Deployment, repo: str
) -> None:
    images = [make_image(f"{repo}-{side}", layers=2) for side in ("a", "b")]
    with httpx.Client(base_url=deployment.nodes[0].url, timeout=60) as client:
        push_blobs(client, repo, *images)
    digests = {image.digest for image in images}

    def tag(client: httpx.Client, i: int) -> int:
        return put_manifest(client, repo, "contested", images[i]).status_code

    for _ in range(RACE_ROUNDS):
        assert together(2, tag, deployment.nodes[0], deployment.nodes[1]) == [201, 201]
        stored = deployment.cluster.count(
            "SELECT count(*) FROM tags t JOIN repositories r ON r.id = t.repository_id"
            " WHERE r.name = :name AND t.name = 'contested'",
            name=repo,
        )
        assert stored == 1
        # Every node (the third one too, through the shared cache) names the same winner.
        seen = {
            httpx.get(f"{node.url}/v2/{repo}/manifests/contested").headers["docker-content-digest"]
            for node in deployment.nodes
        }
        assert len(seen) == 1 and seen <= digests, seen


def _stream_until_killed(
    deployment: Deployment, doomed: DockyardServer, location: str, data: bytes
) -> int:
    """A streamed PATCH (chunked encoding, no Content-Range) of `data` to the doomed node; the
    node is killed once it has stored pieces the database does not record yet. Returns the
    bytes the upload's objects held then."""
    directory = f"uploads/{upload_id(location)}/"

    def stored() -> dict[str, int]:
        return {k: size for k, size in deployment.objects().items() if k.startswith(directory)}

    recorded = set(stored())
    with socket.create_connection(("127.0.0.1", int(doomed.host.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: {doomed.host}\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        for start in range(0, len(data), MIB):
            piece = data[start : start + MIB]
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            written = set(stored()) - recorded
            if len(written) >= 2:  # the carried piece written again, and one wholly new
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the node stored no pieces of the streamed PATCH: {written}")
        doomed.stop(signal.SIGKILL)
    return sum(stored().values())


def test_a_node_killed_mid_patch_leaves_an_upload_another_node_finishes(
    deployment: Deployment, repo: str
) -> None:
    data = random.Random(3).randbytes(20 * MIB + 11)
    committed = 6 * MIB
    doomed_index = 1
    doomed = deployment.nodes[doomed_index]
    with httpx.Client(base_url=doomed.url, timeout=60) as client:
        location = start_upload(client, repo)
        assert patch_chunk(client, location, data[:committed], 0).status_code == 202
    # 12 MiB more, of which 10 MiB reach the store as pieces before the node dies.
    stored = _stream_until_killed(
        deployment, doomed, location, data[committed : committed + 12 * MIB]
    )
    assert stored > committed

    survivor = deployment.nodes[2]
    with httpx.Client(base_url=survivor.url, timeout=60) as client:
        status = client.get(location)
        assert status.status_code == 204, status.text
        # What the database committed, not what the dead node had half-written to the store.
        assert status.headers["range"] == f"0-{committed - 1}"
        resumed = patch_chunk(client, location, data[committed : 15 * MIB], committed)
        assert resumed.status_code == 202, resumed.text
        digest = sha256(data)
        finished = client.put(
            resumed.headers["location"], params={"digest": digest}, content=data[15 * MIB :]
        )
        assert finished.status_code == 201, finished.text
    assert blob_from(deployment.nodes[0], repo, digest) == data
    # The node comes back on its data_dir, and serves like the others.
    assert blob_from(deployment.replace(doomed_index), repo, digest) == data


def test_every_blob_verifies_and_nothing_is_orphaned(deployment: Deployment) -> None:
    # Last: it checks what the tests before it left behind (with pytest-xdist, those that ran
    # in the same worker), and an image of its own, so that it never checks nothing.
    with httpx.Client(base_url=deployment.nodes[1].url, timeout=60) as client:
        push_image(client, f"multi/final-{uuid.uuid4().hex[:8]}", make_image("final", layers=2))
    cluster = deployment.cluster
    assert cluster.tags_on_nothing() == 0
    assert (
        cluster.count(
            "SELECT count(*) FROM repository_blobs l LEFT JOIN blobs b ON b.digest = l.digest"
            " WHERE b.digest IS NULL"
        )
        == 0
    )
    # Every upload of the tests was finished: none is left, on any node.
    assert cluster.count("SELECT count(*) FROM uploads") == 0
    with cluster.sql.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT b.digest, b.size, min(r.name) FROM blobs b"
            " JOIN repository_blobs l ON l.digest = b.digest"
            " JOIN repositories r ON r.id = l.repository_id GROUP BY b.digest, b.size"
        ).all()
        unlinked = connection.exec_driver_sql(
            "SELECT count(*) FROM blobs b WHERE NOT EXISTS"
            " (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest)"
        ).scalar_one()
    assert rows and unlinked == 0
    objects = deployment.objects()
    blob_objects = {key: size for key, size in objects.items() if key.startswith("blobs/")}
    expected = {
        f"blobs/sha256/{d.removeprefix('sha256:')[:2]}/{d.removeprefix('sha256:')}": size
        for d, size, _ in rows
    }
    # Every object has its row (and every row its object), sizes alike.
    assert blob_objects == expected
    # No chunk objects of finished uploads, and nothing but blobs and uploads at all.
    assert [key for key in objects if not key.startswith("blobs/")] == []
    for i, (digest, size, repo) in enumerate(rows):
        node = deployment.nodes[i % NODES]
        data = blob_from(node, repo, digest)
        assert len(data) == size
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
