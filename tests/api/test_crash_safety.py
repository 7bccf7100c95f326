"""A server killed with SIGKILL mid-upload restarts cleanly and never serves half a blob."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.api import assert_error, patch_chunk, upload_id
from tests.support.images import make_image, push_image, sha256
from tests.support.servers import DockyardServer, dockyard_server

MIB = 1024 * 1024
FIRST = 64 * 1024  # committed by a finished PATCH before the crash
# Sent by the in-flight request before it stalls: more than the server buffers, so some of
# it reaches the disk and the crash leaves bytes the database never recorded.
STALLED = 3 * MIB
DATA = bytes(range(251)) * ((FIRST + STALLED + MIB) // 251)


def crash(server: DockyardServer) -> None:
    """SIGKILL the server's whole process group (Granian's workers too), as a crash would."""
    server.stop(signal.SIGKILL)


def staged_size(data: Path, upload: str) -> int:
    path = data / "storage" / "uploads" / upload / "data"
    return path.stat().st_size if path.exists() else 0


class StalledRequest:
    """A request whose body stops after `STALLED` bytes and stays open until released."""

    def __init__(self, server: DockyardServer, method: str, url: str) -> None:
        self.release = threading.Event()
        self.sent = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(server.url, method, url))
        self.thread.start()

    def _body(self) -> Iterator[bytes]:
        for offset in range(FIRST, FIRST + STALLED, 256 * 1024):
            yield DATA[offset : offset + 256 * 1024]
        self.sent.set()
        self.release.wait(timeout=60)
        yield DATA[FIRST + STALLED : FIRST + STALLED + 10]  # never arrives: the server is dead

    def _run(self, base: str, method: str, url: str) -> None:
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                client.request(method, url, content=self._body())
        except httpx.HTTPError as exc:
            self.error = exc

    def finish(self) -> None:
        self.release.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def wait_for_bytes_on_disk(data: Path, upload: str, more_than: int) -> None:
    """Give the server a moment to write what it received; crash either way after that."""
    deadline = time.monotonic() + 10
    while staged_size(data, upload) <= more_than and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_upload_killed_mid_request_is_not_served_and_resumes_after_restart(
    data_dir: Path, method: str
) -> None:
    repo = "crash/mid-upload"
    digest = sha256(DATA)
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        location = client.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
        assert patch_chunk(client, location, DATA[:FIRST], 0).status_code == 202
        url = f"{location}?digest={digest}" if method == "PUT" else location
        stalled = StalledRequest(server, method, url)
        assert stalled.sent.wait(timeout=30)
        wait_for_bytes_on_disk(data_dir, upload_id(location), FIRST)
        crash(server)
        stalled.finish()
        assert stalled.error is not None  # the client saw the connection die

    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/v2/").status_code == 200
        # Nothing half-written is served, under the blob's digest or any other.
        assert_error(client.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
        assert client.head(f"/v2/{repo}/blobs/{digest}").status_code == 404
        # The session survived with what was committed before the crash.
        status = client.get(location)
        assert status.status_code == 204
        assert status.headers["range"] == f"0-{FIRST - 1}"
        assert status.headers["docker-upload-uuid"] == upload_id(location)
        # Resume where it says, finish, and the registry verifies the whole blob.
        resumed = patch_chunk(client, location, DATA[FIRST:], FIRST)
        assert resumed.status_code == 202, resumed.text
        assert resumed.headers["range"] == f"0-{len(DATA) - 1}"
        finished = client.put(location, params={"digest": digest})
        assert finished.status_code == 201, finished.text
        blob = client.get(f"/v2/{repo}/blobs/{digest}")
        assert blob.content == DATA
        assert blob.headers["docker-content-digest"] == digest


def test_upload_killed_mid_request_can_be_restarted_from_scratch(data_dir: Path) -> None:
    repo = "crash/restart"
    digest = sha256(DATA)
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        location = client.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
        stalled = StalledRequest(server, "PATCH", location)
        assert stalled.sent.wait(timeout=30)
        wait_for_bytes_on_disk(data_dir, upload_id(location), 0)
        crash(server)
        stalled.finish()

    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        assert_error(client.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
        # Give up on the old session and push the blob afresh.
        assert client.delete(location).status_code == 204
        assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
        pushed = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=DATA)
        assert pushed.status_code == 201, pushed.text
        assert client.get(f"/v2/{repo}/blobs/{digest}").content == DATA


def test_finished_pushes_survive_a_kill(data_dir: Path) -> None:
    image = make_image("survivor")
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        push_image(client, "crash/survivor", image, tag="v1")
        crash(server)

    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        manifest = client.get("/v2/crash/survivor/manifests/v1")
        assert manifest.content == image.manifest
        for blob in (image.config, *image.layers):
            assert client.get(f"/v2/crash/survivor/blobs/{sha256(blob)}").content == blob
        assert client.get("/v2/crash/survivor/tags/list").json()["tags"] == ["v1"]
        assert client.get("/v2/_catalog").json()["repositories"] == ["crash/survivor"]
