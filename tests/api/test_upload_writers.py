"""Two requests writing one upload session at once, through two nodes (or two workers): whatever
they do, the registry never publishes bytes that do not match the digest it verified.

The digest is checked against the SHA-256 state that the request which recorded its bytes
computed; each request writes its own pieces and only recorded pieces make the blob, so a second
writer that started at the same offset and stalled cannot change what the digest covers
(docs/decisions/0006-upload-pieces.md)."""

from __future__ import annotations

import random
import select
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.api import patch_chunk, start_upload, upload_id
from tests.support.images import sha256
from tests.support.nodes import Cluster, registry_cluster
from tests.support.postgres import PostgresServer
from tests.support.seaweedfs import S3Bucket

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
PART = 5 * MIB


@dataclass
class Nodes:
    cluster: Cluster
    bucket: S3Bucket
    prefix: str


@pytest.fixture(scope="module")
def nodes(
    s3_bucket: S3Bucket, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nodes]:
    prefix = f"writers/{uuid.uuid4().hex}"
    env = {
        **s3_bucket.environment(prefix, part_size=str(PART), redirect="false"),
        "DOCKYARD_AUTH__MODE": "none",
    }
    base = tmp_path_factory.mktemp("writers")
    with registry_cluster(base, postgres, count=2, env=env) as cluster:
        yield Nodes(cluster, s3_bucket, prefix)


def _answered(sock: socket.socket, wait: float) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def _pieces_stored(nodes: Nodes, upload: str) -> int:
    return sum(nodes.bucket.objects(f"{nodes.prefix}/uploads/{upload}/").values())


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    return sock.recv(65536)


def test_a_stalled_second_writer_cannot_change_what_the_digest_covers(
    nodes: Nodes, repo: str
) -> None:
    good = random.Random(7).randbytes(3 * MIB)
    # More than a part: the registry stores a part once it holds one, and a bit more.
    bad = b"E" * (PART + 2 * MIB)
    first, second = nodes.cluster.nodes
    port = int(second.host.rsplit(":", 1)[1])
    with httpx.Client(base_url=first.url, timeout=60) as client:
        for _attempt in range(5):
            location = start_upload(client, repo)
            # The second writer claims the same range as the first, and sends all but one byte.
            with socket.create_connection(("127.0.0.1", port)) as stalled:
                stalled.sendall(
                    f"PATCH {location} HTTP/1.1\r\nHost: {second.host}\r\n"
                    "Content-Type: application/octet-stream\r\n"
                    f"Content-Range: 0-{len(bad)}\r\n"
                    f"Content-Length: {len(bad) + 1}\r\n\r\n".encode()
                )
                time.sleep(0.3)  # its handler reads the session's size: 0
                committed = patch_chunk(client, location, good, 0)
                assert committed.status_code == 202, committed.text
                if _answered(stalled, 0.1):
                    continue  # it read the size after the commit and refused the range: again
                stalled.sendall(bad)
                deadline = time.monotonic() + 20
                while _pieces_stored(nodes, upload_id(location)) < len(good) + PART:
                    assert time.monotonic() < deadline, "the stalled writer stored nothing"
                    time.sleep(0.05)
                stalled.sendall(b"E")  # its last byte: it tries to record what it wrote
                refused = _answer(stalled)
                assert refused.startswith(b"HTTP/1.1 416"), refused[:200]
            break
        else:
            pytest.fail("the second writer never started before the first one committed")
        digest = sha256(good)
        finished = client.put(location, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        served = client.get(f"/v2/{repo}/blobs/{digest}")
        assert sha256(served.content) == digest, "a blob whose bytes are not its digest"
    assert nodes.bucket.objects(f"{nodes.prefix}/uploads/{upload_id(location)}/") == {}


def test_a_retried_chunk_that_loses_leaves_the_session_to_the_winner(
    nodes: Nodes, repo: str
) -> None:
    # The session holds a part and a small last piece, which the next chunk on S3 reads back and
    # replaces. A client retries that next chunk on another node while the first attempt is
    # still running: the attempt that records second finds the small piece gone, and loses.
    head = random.Random(8).randbytes(PART + MIB)
    chunk = random.Random(9).randbytes(2 * MIB)
    first, second = nodes.cluster.nodes
    port = int(second.host.rsplit(":", 1)[1])
    with httpx.Client(base_url=first.url, timeout=60) as client:
        for _attempt in range(5):
            location = start_upload(client, repo)
            assert patch_chunk(client, location, head, 0).status_code == 202
            with socket.create_connection(("127.0.0.1", port)) as retry:
                retry.sendall(
                    f"PATCH {location} HTTP/1.1\r\nHost: {second.host}\r\n"
                    "Content-Type: application/octet-stream\r\n"
                    f"Content-Range: {len(head)}-{len(head) + len(chunk) - 1}\r\n"
                    f"Content-Length: {len(chunk)}\r\n\r\n".encode()
                )
                time.sleep(0.3)  # its handler reads the session: the part and the small piece
                committed = patch_chunk(client, location, chunk, len(head))
                assert committed.status_code == 202, committed.text
                if _answered(retry, 0.1):
                    continue  # it read the session after the commit and refused the range: again
                retry.sendall(chunk)
                refused = _answer(retry)
                assert refused.startswith(b"HTTP/1.1 416"), refused[:200]
            break
        else:
            pytest.fail("the retry never started before the first attempt committed")
        data = head + chunk
        status = client.get(location)
        assert status.headers["range"] == f"0-{len(data) - 1}", status.headers
        digest = sha256(data)
        finished = client.put(location, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        assert client.get(f"/v2/{repo}/blobs/{digest}").content == data
