"""What one request or client may take (`http.limits`): request heads past their size (431), a
body that trickles below the minimum rate (408, the upload still resumable), more uploads at
once than one client may run (429); and SIGTERM lets an upload in flight finish."""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.support.api import assert_error, start_upload
from tests.support.raw_http import connect, read_response, send_head
from tests.support.servers import dockyard_server

REPOSITORY = "limits/app"


def test_a_request_head_past_the_limit_is_431_and_one_within_is_served(tmp_path: Path) -> None:
    env = {"DOCKYARD_HTTP__LIMITS__MAX_HEADER_BYTES": str(16 * 1024)}
    with dockyard_server(tmp_path / "data", env=env) as server:
        within = httpx.get(f"{server.url}/v2/", headers={"X-Filler": "a" * 8 * 1024})
        assert within.status_code == 200
        past = httpx.get(f"{server.url}/v2/", headers={"X-Filler": "a" * 20 * 1024})
        assert past.status_code == 431


def test_a_trickling_body_is_cut_with_408_and_the_upload_goes_on_afterwards(
    tmp_path: Path,
) -> None:
    env = {
        "DOCKYARD_HTTP__LIMITS__MIN_BODY_BYTES_PER_SECOND": "1000",
        "DOCKYARD_HTTP__LIMITS__BODY_RATE_WINDOW_SECONDS": "1",
    }
    with dockyard_server(tmp_path / "data", env=env) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            location = start_upload(client, REPOSITORY)
        sock = connect(server.url)
        headers = {"Content-Length": "100000", "Content-Type": "application/octet-stream"}
        send_head(sock, "PATCH", location, headers)
        started = time.monotonic()
        stop = threading.Event()

        def trickle() -> None:
            while not stop.is_set():
                try:
                    sock.sendall(b"x" * 10)
                except OSError:
                    return
                time.sleep(0.2)

        threading.Thread(target=trickle, daemon=True).start()
        answer = read_response(sock)
        stop.set()
        sock.close()
        assert answer.status == 408 and time.monotonic() - started < 10
        assert answer.json()["errors"][0]["code"] == "REQUEST_TIMEOUT"
        data = b"a whole layer" * 1000
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get(location).status_code == 204  # the session is still there
            # Nothing of the cut body was kept: the whole blob's digest matches what follows.
            done = client.put(location, params={"digest": digest}, content=data)
            assert done.status_code == 201, done.text
            assert client.get(f"/v2/{REPOSITORY}/blobs/{digest}").content == data
        assert "cut a body slower than the minimum rate" in server.log.read_text()


def test_more_uploads_at_once_than_a_client_may_run_are_429(tmp_path: Path) -> None:
    env = {"DOCKYARD_HTTP__LIMITS__MAX_UPLOADS_PER_CLIENT": "2"}
    with dockyard_server(tmp_path / "data", env=env) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            locations = [start_upload(client, REPOSITORY) for _ in range(3)]
        held = []
        for location in locations[:2]:  # two PATCHes in flight, their bodies not yet sent
            sock = connect(server.url)
            send_head(sock, "PATCH", location, {"Content-Length": "10"})
            held.append(sock)
        time.sleep(0.5)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            third = client.patch(locations[2], content=b"0123456789")
            error = assert_error(third, 429, "TOOMANYREQUESTS")
            assert "at most 2" in error["message"] and third.headers["retry-after"] == "1"
            held[0].sendall(b"0123456789")
            assert read_response(held[0]).status == 202
            held[0].close()
            fourth = client.patch(locations[2], content=b"0123456789")
            assert fourth.status_code == 202
        held[1].close()


def test_sigterm_lets_an_upload_in_flight_finish(tmp_path: Path) -> None:
    with dockyard_server(tmp_path / "data") as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            location = start_upload(client, REPOSITORY)
        sock = connect(server.url)
        size = 2_000_000
        send_head(sock, "PATCH", location, {"Content-Length": str(size)})
        sock.sendall(b"x" * 100_000)
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(b"x" * (size - 100_000))
        answer = read_response(sock)
        sock.close()
        assert answer.status == 202, answer.body
        assert answer.headers["range"] == f"0-{size - 1}"
        server.process.wait(timeout=30)
