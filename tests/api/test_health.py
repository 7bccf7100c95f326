"""`/healthz` and `/readyz`: open in every auth mode, cheap, and failing when the storage or the
database is away, or once a stop has begun."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.auth import htpasswd
from tests.support.postgres import missing_postgres, stoppable_postgres
from tests.support.servers import DockyardServer, dockyard_server


def _auth_env(mode: str, tmp_path: Path) -> dict[str, str]:
    env = {"DOCKYARD_AUTH__MODE": mode, "DOCKYARD_ADMIN_PASSWORD": "a-long-admin-password"}
    if mode in ("htpasswd", "token"):
        users = tmp_path / "htpasswd"
        htpasswd(users, "alice", "secret")
        env["DOCKYARD_AUTH__HTPASSWD__PATH"] = str(users)
    return env


@pytest.mark.parametrize("mode", ["none", "htpasswd", "token", "index"])
def test_probes_need_no_credentials_in_any_auth_mode(mode: str, tmp_path: Path) -> None:
    with (
        dockyard_server(tmp_path / "data", env=_auth_env(mode, tmp_path)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        health = client.get("/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}
        assert ready.headers["cache-control"] == "no-store"
        assert client.head("/readyz").status_code == 200
        for path in ("/healthz", "/readyz"):
            refused = client.post(path)
            assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
            assert refused.json()["errors"][0]["code"] == "UNSUPPORTED"  # the one error shape
        if mode != "none":
            assert client.get("/v2/").status_code == 401  # the rest is still guarded


def test_probes_every_few_milliseconds_are_cheap(server: DockyardServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        started = time.perf_counter()
        for _ in range(200):
            assert client.get("/readyz").status_code == 200
        elapsed = time.perf_counter() - started
    # Readiness is reused for a second: 200 probes are 200 small answers, not 400 checks.
    assert elapsed < 5, elapsed


def test_readyz_fails_while_the_storage_directory_is_gone(tmp_path: Path) -> None:
    with (
        dockyard_server(tmp_path / "data") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        storage = server.data / "storage"
        storage.rename(tmp_path / "away")  # an unmounted volume, as root can still read all
        try:
            answer = _until(client, "/readyz", 503)
            assert answer.json() == {
                "status": "unavailable",
                "checks": {"database": "ok", "storage": "error"},
            }
            assert client.get("/healthz").status_code == 200  # the process itself is fine
        finally:
            (tmp_path / "away").rename(storage)
        assert _until(client, "/readyz", 200).json()["status"] == "ok"
    assert server.log.read_text().count("readiness: storage failed") == 1


@pytest.mark.tracebacks_expected  # the registry's own background rounds meet the outage too
def test_readyz_fails_while_postgresql_is_stopped(tmp_path: Path) -> None:
    reason = missing_postgres()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with stoppable_postgres() as postgres, postgres.database() as url:
        env = {"DOCKYARD_DATABASE__URL": url}
        with (
            dockyard_server(tmp_path / "data", env=env) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            assert client.get("/readyz").status_code == 200
            postgres.stop()
            try:
                answer = _until(client, "/readyz", 503)
                assert answer.json()["checks"] == {"database": "error", "storage": "ok"}
            finally:
                postgres.start()
            assert _until(client, "/readyz", 200).json()["status"] == "ok"


def test_readyz_fails_first_when_a_stop_begins(tmp_path: Path) -> None:
    env = {"DOCKYARD_HTTP__DRAIN_SECONDS": "3", "DOCKYARD_HTTP__WORKERS": "2"}
    with (
        dockyard_server(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        assert client.get("/readyz").status_code == 200
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)  # the supervisor, as a process manager does
        answer = _until(client, "/readyz", 503)
        assert answer.json() == {"status": "draining"}
        # Everything else is still served while load balancers drain.
        assert client.get("/v2/").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert server.process.wait(timeout=20) == 0
        assert time.monotonic() - stopping >= 2.5


def _until(client: httpx.Client, path: str, status: int, within: float = 15) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        answer = client.get(path)
        if answer.status_code == status or time.monotonic() > deadline:
            assert answer.status_code == status, answer.text
            return answer
        time.sleep(0.1)
