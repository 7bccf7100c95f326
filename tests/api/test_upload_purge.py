"""Stale upload sessions are purged, with their bytes, once, whichever process gets there."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.api import patch_chunk, start_upload, upload_id
from tests.support.servers import DockyardServer, dockyard_server

# Sessions go stale after ~0.4 s; each process looks every ~0.3 s.
QUICK_PURGE = {
    "DOCKYARD_REGISTRY__UPLOAD_PURGE_AFTER_HOURS": "0.0001",
    "DOCKYARD_REGISTRY__UPLOAD_PURGE_INTERVAL_MINUTES": "0.005",
}


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def purged_in_log(server: DockyardServer) -> int:
    found = re.findall(r"purged (\d+) stale upload sessions", server.log.read_text())
    return sum(int(count) for count in found)


def test_stale_sessions_and_their_bytes_are_purged(data_dir: Path) -> None:
    with (
        dockyard_server(data_dir, env=QUICK_PURGE) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        location = start_upload(client, "purge/app")
        assert patch_chunk(client, location, b"x" * 1000, 0).status_code == 202
        staged = data_dir / "storage" / "uploads" / upload_id(location)
        assert staged.exists()
        wait_for(lambda: client.get(location).status_code == 404)
        # The row goes first, then the bytes: a 404 may be answered between the two.
        wait_for(lambda: not staged.exists())


def test_two_processes_on_one_database_purge_each_session_once(data_dir: Path) -> None:
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(6):
            patch_chunk(client, start_upload(client, "purge/many"), b"y" * 100, 0)
    with (
        dockyard_server(data_dir, env=QUICK_PURGE) as one,
        dockyard_server(data_dir, env=QUICK_PURGE) as two,
    ):
        uploads = data_dir / "storage" / "uploads"
        wait_for(lambda: not any(uploads.iterdir()))
        wait_for(lambda: purged_in_log(one) + purged_in_log(two) >= 6)
        assert purged_in_log(one) + purged_in_log(two) == 6
