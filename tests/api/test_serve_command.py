"""`dockyard serve`: flags, environment, the legacy variables, and refusing bad configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.images import sha256
from tests.support.servers import dockyard_server


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dockyard.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_invalid_configuration_stops_start_up_with_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("storage:\n  driver: floppy\n")
    result = run_cli("serve", "--config", str(config), "--addr", "127.0.0.1:1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("dockyard: invalid configuration: storage.driver:")


def test_bad_addr_flag_is_refused(tmp_path: Path) -> None:
    result = run_cli("serve", "--addr", "localhost", "--data", str(tmp_path))
    assert result.returncode == 2
    assert "http.addr" in result.stderr


def test_storage_path_variable_places_the_blobs(tmp_path: Path) -> None:
    blobs = tmp_path / "elsewhere"
    with dockyard_server(tmp_path / "data", env={"STORAGE_PATH": str(blobs)}) as server:
        data = b"placed by STORAGE_PATH"
        digest = sha256(data)
        response = httpx.post(
            f"{server.url}/v2/placed/blobs/uploads/", params={"digest": digest}, content=data
        )
        assert response.status_code == 201
    assert (blobs / "blobs" / "sha256" / digest[7:9] / digest[7:]).read_bytes() == data


def test_configuration_file_from_the_legacy_variable(tmp_path: Path) -> None:
    config = tmp_path / "registry.yaml"
    config.write_text("log:\n  access: false\n")
    with dockyard_server(tmp_path / "data", env={"DOCKER_REGISTRY_CONFIG": str(config)}) as server:
        assert httpx.get(f"{server.url}/v2/").status_code == 200
    assert "GET /v2/ 200" not in server.log.read_text()


def test_access_log_has_method_path_status_bytes_duration_and_request_id(tmp_path: Path) -> None:
    with dockyard_server(tmp_path / "data") as server:
        response = httpx.get(f"{server.url}/v2/_catalog", params={"secret": "hunter2"})
        request_id = response.headers["x-request-id"]
    lines = [line for line in server.log.read_text().splitlines() if request_id in line]
    assert len(lines) == 1
    assert " GET /v2/_catalog 200 " in lines[0]
    assert "hunter2" not in server.log.read_text()
