"""A server killed at any moment of the final PUT of a chunked upload loses nothing that was
acknowledged: after a restart the session still holds what its PATCHes committed (and the
client's resent PUT finishes it), or the blob is there. Never neither."""

from __future__ import annotations

import functools
import random
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error, patch_chunk, start_upload, upload_id
from tests.support.images import sha256
from tests.support.seaweedfs import S3Bucket
from tests.support.servers import DockyardServer, dockyard_server

MIB = 1024 * 1024
# Two PATCHes this large make the final PUT's compose take a while: a copy of the pieces into
# a new file (filesystem), or part copies inside the store (S3).
CHUNK = 16 * MIB
# How long after the PUT was sent the server is killed, in seconds.
DELAYS = (0.0, 0.05, 0.15, 0.4)


@functools.cache
def base_data() -> bytes:
    return random.Random(8).randbytes(2 * CHUNK)


@dataclass
class Store:
    name: str
    env: dict[str, str]
    # Waits until the server has begun joining the upload's pieces into the blob's key (or
    # until a few seconds have passed): one more moment to kill at, besides the delays.
    compose_begun: Callable[[str], None]


@dataclass
class Interrupted:
    moment: str
    repo: str
    location: str
    data: bytes = field(repr=False)
    answer: int | None  # the status the client saw for its PUT, None when the kill cut it


def wait_for(found: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not found() and time.monotonic() < deadline:
        time.sleep(0.001)


def blob_prefix(digest: str) -> str:
    return f"blobs/sha256/{digest.removeprefix('sha256:')[:2]}"


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, data_dir: Path) -> Store:
    if request.param == "filesystem":

        def partial_file(digest: str) -> None:
            """The pieces are joined into a `.partial` file beside the blob's path."""
            directory = data_dir / "storage" / blob_prefix(digest)
            pattern = f".{digest.removeprefix('sha256:')}.*.partial"
            wait_for(lambda: directory.is_dir() and any(directory.glob(pattern)))

        return Store("filesystem", {}, partial_file)

    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    prefix = f"final-put-kill/{uuid.uuid4().hex}"

    def multipart_upload(digest: str) -> None:
        """The pieces are joined by a multipart upload of part copies to the blob's key."""
        wait_for(lambda: bool(bucket.multipart_uploads(f"{prefix}/{blob_prefix(digest)}/")))

    return Store("s3", bucket.environment(prefix, part_size=str(5 * MIB)), multipart_upload)


def after(delay: float) -> Callable[[str], None]:
    return lambda _: time.sleep(delay)


def kill_during_final_put(
    server: DockyardServer, client: httpx.Client, moment: str, wait: Callable[[str], None]
) -> Interrupted:
    repo = f"kill/final-put-{uuid.uuid4().hex[:8]}"
    data = repo.encode().ljust(64, b".") + base_data()[64:]  # a blob of its own each time
    digest = sha256(data)
    location = start_upload(client, repo)
    for start in (0, CHUNK):
        response = patch_chunk(client, location, data[start : start + CHUNK], start)
        assert response.status_code == 202, response.text
    answers: list[int] = []

    def finish() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                answers.append(own.put(location, params={"digest": digest}).status_code)
        except httpx.TransportError:
            pass  # the server died under the request

    putting = threading.Thread(target=finish)
    putting.start()
    wait(digest)
    server.stop(signal.SIGKILL)
    putting.join(timeout=60)
    assert not putting.is_alive()
    return Interrupted(moment, repo, location, data, answers[0] if answers else None)


def recover(client: httpx.Client, store: Store, data_dir: Path, upload: Interrupted) -> str:
    """What the restarted server kept of the upload: "blob" (served, session ended),
    "session" (it held every committed byte and the resent PUT finished it), or "lost"."""
    digest = sha256(upload.data)
    blob_url = f"/v2/{upload.repo}/blobs/{digest}"
    head = client.head(blob_url)
    status = client.get(upload.location)
    if head.status_code == 200:
        assert int(head.headers["content-length"]) == len(upload.data)
        # Recorded in the transaction that ended the session.
        assert_error(status, 404, "BLOB_UPLOAD_UNKNOWN")
        outcome = "blob"
    else:
        assert head.status_code == 404, head.status_code
        assert upload.answer != 201, f"{upload.moment}: acknowledged with 201, then not served"
        if status.status_code == 404:
            return "lost"
        assert status.status_code == 204, status.text
        assert status.headers["range"] == f"0-{len(upload.data) - 1}"
        finished = client.put(upload.location, params={"digest": digest})
        assert finished.status_code == 201, (upload.moment, finished.text)
        assert finished.headers["docker-content-digest"] == digest
        assert_error(client.get(upload.location), 404, "BLOB_UPLOAD_UNKNOWN")
        if store.name == "filesystem":  # a normal finish leaves no pieces behind
            assert not (data_dir / "storage" / "uploads" / upload_id(upload.location)).exists()
        outcome = "session"
    served = client.get(blob_url, follow_redirects=True)  # S3: to a presigned URL
    assert served.status_code == 200
    assert served.content == upload.data
    return outcome


def test_a_kill_during_the_final_put_leaves_the_session_or_the_blob(
    data_dir: Path, store: Store
) -> None:
    moments: list[tuple[str, Callable[[str], None] | None]] = [
        (f"{delay * 1000:g} ms after the PUT", after(delay)) for delay in DELAYS
    ]
    moments.append(("as the compose begins", store.compose_begun))
    outcomes: dict[str, str] = {}
    interrupted: Interrupted | None = None
    # Each server checks the upload its predecessor was killed under, then is killed itself
    # under the next one; the last one only checks.
    for moment, wait in [*moments, ("", None)]:
        with (
            dockyard_server(data_dir, env=store.env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            if interrupted is not None:
                outcomes[interrupted.moment] = recover(client, store, data_dir, interrupted)
            if wait is not None:
                interrupted = kill_during_final_put(server, client, moment, wait)
    print(f"\n{store.name}: {outcomes}")
    assert "lost" not in outcomes.values(), outcomes


def kill_after_the_piece_became_the_blob(data_dir: Path, repo: str, data: bytes) -> str:
    """An upload of one PATCH, its server killed just after the filesystem's compose renamed
    the session's only piece into the blob's path (the database recorded nothing yet); the
    rename is done here, the server stopped before. Returns the session's location."""
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        location = start_upload(client, repo)
        assert patch_chunk(client, location, data, 0).status_code == 202
        server.stop(signal.SIGKILL)
    [piece] = (data_dir / "storage" / "uploads" / upload_id(location)).iterdir()
    blob = data_dir / "storage" / blob_prefix(sha256(data)) / sha256(data).removeprefix("sha256:")
    blob.parent.mkdir(parents=True, exist_ok=True)
    piece.rename(blob)
    return location


def test_a_resent_put_finishes_a_session_whose_piece_already_became_the_blob(
    data_dir: Path,
) -> None:
    repo, data = "kill/renamed", random.Random(1).randbytes(MIB + 3)
    location = kill_after_the_piece_became_the_blob(data_dir, repo, data)
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        assert client.get(location).headers["range"] == f"0-{len(data) - 1}"
        # The digest is checked against the hash state saved with the session, so the object
        # at the blob's path is the session's bytes.
        finished = client.put(location, params={"digest": sha256(data)})
        assert finished.status_code == 201, finished.text
        assert client.get(f"/v2/{repo}/blobs/{sha256(data)}").content == data
        assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not (data_dir / "storage" / "uploads" / upload_id(location)).exists()


def test_a_session_whose_piece_is_gone_and_hash_state_unsaved_is_unknown_not_an_error(
    data_dir: Path,
) -> None:
    repo, data = "kill/unverifiable", random.Random(2).randbytes(MIB + 5)
    location = kill_after_the_piece_became_the_blob(data_dir, repo, data)
    # As where OpenSSL's SHA-256 cannot be resumed: the digest could only be checked by
    # re-reading the pieces, and nothing proves the object at the blob's path is this
    # session's bytes.
    database = sqlite3.connect(data_dir / "registry.db")
    with database:
        database.execute("UPDATE uploads SET hash_state = NULL")
    database.close()
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        refused = client.put(location, params={"digest": sha256(data)})
        assert_error(refused, 404, "BLOB_UPLOAD_UNKNOWN")
        assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")  # ended, not a zombie
        assert client.head(f"/v2/{repo}/blobs/{sha256(data)}").status_code == 404
        # The client starts again, and the blob is stored.
        pushed = client.post(
            f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data
        )
        assert pushed.status_code == 201, pushed.text
        assert client.get(f"/v2/{repo}/blobs/{sha256(data)}").content == data
