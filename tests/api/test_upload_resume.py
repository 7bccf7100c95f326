"""An upload session carries its SHA-256 state: another process finishes it without re-reading."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.support.api import patch_chunk, start_upload, upload_id
from tests.support.images import sha256
from tests.support.servers import dockyard_server


def test_a_restarted_server_resumes_the_hash_from_the_saved_state(data_dir: Path) -> None:
    first, second = b"a" * 3_000_000, b"b" * 1_000_000
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        location = start_upload(client, "resume/app")
        assert patch_chunk(client, location, first, 0).status_code == 202
        server.stop(signal.SIGKILL)
    # Swap the staged bytes for others of the same length: only a server that continues the
    # saved hash state, instead of re-reading storage, still accepts the true digest.
    staged = data_dir / "storage" / "uploads" / upload_id(location) / "data"
    staged.write_bytes(b"z" * len(first))
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        finished = client.put(location, params={"digest": sha256(first + second)}, content=second)
        assert finished.status_code == 201, finished.text
