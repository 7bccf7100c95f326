"""`dockyard serve`: flags, environment, the legacy variables, and refusing bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.images import sha256
from tests.support.seaweedfs import S3Bucket
from tests.support.servers import dockyard_server, free_port


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


@pytest.mark.parametrize(
    "case",
    [
        "storage root is a file",
        "data in /proc",
        "sqlite file in /proc",
        "no postgresql",
        "s3 refuses the secret",
        "no s3 there",
    ],
)
def test_what_cannot_be_used_at_start_stops_it_with_one_line_saying_why(
    tmp_path: Path, case: str, request: pytest.FixtureRequest
) -> None:
    # Each was a traceback: at start, or from each worker in turn while the server went on;
    # an object store that refused Dockyard's credentials, from every push once started.
    (tmp_path / "a-file").touch()
    data, env = tmp_path / "data", {}
    if case == "storage root is a file":
        env, said = {"DOCKYARD_STORAGE__ROOT": str(tmp_path / "a-file")}, "storage.root: cannot"
    elif case == "data in /proc":
        data, said = Path("/proc/no-such/data"), "--data: cannot create the directory"
    elif case == "sqlite file in /proc":
        env = {"DOCKYARD_DATABASE__URL": "sqlite:////proc/no-such/registry.db"}
        said = "unable to open database file"
    elif case == "s3 refuses the secret":
        bucket: S3Bucket = request.getfixturevalue("s3_bucket")
        env = bucket.environment("refused", secret_key="hunter2")
        said = "storage.s3: the object store cannot be used: An error occurred (403)"
    elif case == "no s3 there":
        endpoint = f"http://127.0.0.1:{free_port()}"
        env = {
            "DOCKYARD_STORAGE__DRIVER": "s3",
            "DOCKYARD_STORAGE__S3__ENDPOINT": endpoint,
            "DOCKYARD_STORAGE__S3__BUCKET": "nowhere",
            "DOCKYARD_STORAGE__S3__ACCESS_KEY": "key",
            "DOCKYARD_STORAGE__S3__SECRET_KEY": "hunter2",
        }
        said = f'Could not connect to the endpoint URL: "{endpoint}'
    else:
        url = f"postgresql://dockyard:hunter2@127.0.0.1:{free_port()}/registry"
        env, said = {"DOCKYARD_DATABASE__URL": url}, "Connection refused"
    result = run_cli(
        "serve", "--addr", f"127.0.0.1:{free_port()}", "--data", str(data),
        env={**os.environ, "DOCKYARD_AUTH__MODE": "none", **env},
    )  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert line.startswith("dockyard: ") and said in line, result.stderr
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


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
    assert lines[0].endswith(f"{request_id} 127.0.0.1 -")  # the client, and no one signed in
    assert "hunter2" not in server.log.read_text()


def test_json_log_has_one_object_per_line_with_route_client_and_subject(tmp_path: Path) -> None:
    env = {"DOCKYARD_LOG__FORMAT": "json", "DOCKYARD_AUTH__MODE": "index"}
    env["DOCKYARD_ADMIN_PASSWORD"] = "admin-password-1"
    with dockyard_server(tmp_path / "data", env=env) as server:
        params = {"service": "dockyard", "scope": "repository:admin/app:pull"}
        token = httpx.get(f"{server.url}/token", params=params, auth=("admin", "admin-password-1"))
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        url = f"{server.url}/v2/admin/app/tags/list"
        response = httpx.get(url, params={"secret": "hunter2"}, headers=headers)
        request_id = response.headers["x-request-id"]
    text = server.log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    (access,) = [r for r in records if r.get("request_id") == request_id]
    assert access["logger"] == "dockyard.access"
    assert access["route"] == "/v2/{name:path}/tags/list"
    assert (access["method"], access["path"], access["status"]) == (
        "GET",
        "/v2/admin/app/tags/list",
        404,
    )
    assert access["client"] == "127.0.0.1" and access["subject"] == "admin"
    assert access["bytes"] > 0 and access["duration_ms"] >= 0
    assert "hunter2" not in text and headers["Authorization"].split()[1] not in text


def test_serve_starts_a_worker_per_cpu_by_default_and_says_so(tmp_path: Path) -> None:
    cpus = len(os.sched_getaffinity(0))
    env = {"DOCKYARD_HTTP__WORKERS": ""}  # unset: the default
    with dockyard_server(tmp_path / "data", env=env) as server:
        assert httpx.get(f"{server.url}/v2/").status_code == 200
    plural = "" if cpus == 1 else "s"
    assert f" with {cpus} worker{plural} " in server.log.read_text()
