"""The `dockyard` client commands next to a real Docker engine (Debian's dockerd 20.10): a
`docker save` tarball pushed by dockyard and pulled back by docker as the same image, a
docker-archive pulled by dockyard that `docker load` takes, logins shared both ways through
DOCKER_CONFIG; and a pull killed mid-blob that the next pull resumes with a Range request."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_client_cli import dockyard, failed_in_one_line, fresh, succeeded
from tests.e2e.test_docker import image_id, remove_image, repo_digests
from tests.support.access_log import Access, wait_for_entries
from tests.support.docker_engine import DockerEngine, docker_available
from tests.support.images import OCI_LAYER, OCI_MANIFEST
from tests.support.index import IndexServer, index_server
from tests.support.oci_layout import Layout
from tests.support.servers import DockyardServer
from tests.support.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.e2e

# The docker tests are skipped, not failed, where no engine can run (the resume test needs none).
NO_DOCKER = docker_available()
needs_docker = pytest.mark.skipif(NO_DOCKER is not None, reason=str(NO_DOCKER))

ERIN = ("erin", "erin-pw-123")
# glibc's ldconfig is a static binary: a program a FROM scratch image can run.
STATIC_PROGRAM = Path("/sbin/ldconfig")
MiB = 1 << 20


def build(
    docker: DockerEngine, context: Path, tag: str, program: Path | None = None
) -> tuple[str, str]:
    """A FROM scratch image of fresh content (two layers, a third with `program` as its
    entrypoint) with an Env and a label, by the legacy builder; its id, and the nonce in its
    files and config."""
    nonce = uuid.uuid4().hex
    context.mkdir(parents=True)
    (context / "hello.txt").write_text(f"hello {nonce}\n")
    (context / "data.bin").write_bytes(nonce.encode() * 8192)
    steps = ["FROM scratch", "COPY hello.txt /hello.txt", "COPY data.bin /data/data.bin"]
    if program is not None:
        shutil.copy(program, context / "program")
        steps += ["COPY program /bin/program", 'ENTRYPOINT ["/bin/program"]']
    steps += [
        f"ENV DOCKYARD_NONCE={nonce}",
        f'LABEL org.example.nonce="{nonce}"',
        'CMD ["--version"]',
    ]
    (context / "Dockerfile").write_text("\n".join(steps) + "\n")
    docker.run("build", "-t", tag, str(context), cwd=context, env={"DOCKER_BUILDKIT": "0"})
    return image_id(docker, tag), nonce


def inspected(docker: DockerEngine, reference: str) -> dict[str, Any]:
    (document,) = json.loads(docker.run("image", "inspect", reference).stdout)
    return dict(document)


def file_in_image(docker: DockerEngine, image: str, path: str) -> bytes:
    """A file of the image's filesystem, copied out of a container created (never started)
    from it."""
    container = docker.run("create", image).stdout.strip()
    try:
        copied = subprocess.run(
            ["docker", "cp", f"{container}:{path}", "-"],
            env=docker.env(),
            capture_output=True,
            timeout=60,
            check=True,
        )
    finally:
        docker.run("rm", "--force", container)
    with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as tar:
        (member,) = tar.getmembers()
        found = tar.extractfile(member)
        assert found is not None
        return found.read()


def new_home(tmp_path: Path, name: str = "home") -> Path:
    home = tmp_path / name
    home.mkdir()
    return home


# --- docker save → dockyard push → docker pull; docker push → dockyard pull → docker load ------


@needs_docker
def test_a_docker_save_tarball_pushed_by_dockyard_is_pulled_by_docker_as_the_same_image(
    docker: DockerEngine, server: DockyardServer, client: httpx.Client, repo: str, tmp_path: Path
) -> None:
    name = f"{server.host}/{repo}"
    built, nonce = build(docker, tmp_path / "context", f"{name}:saved")
    layers = inspected(docker, built)["RootFS"]["Layers"]
    archive = tmp_path / "saved.tar"
    docker.run("save", "-o", str(archive), f"{name}:saved")

    home = new_home(tmp_path)
    pushed = json.loads(
        succeeded(dockyard(home, "push", "--json", f"docker-archive:{archive}", f"{name}:v1"))
    )
    manifest = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["docker-content-digest"] == pushed["digest"]
    # The engine's config, byte for byte: its digest is the image id.
    assert manifest.json()["config"]["digest"] == built
    # docker save's layers are uncompressed tars: pushed as they are, their digests the diff ids.
    pushed_layers = manifest.json()["layers"]
    assert [layer["digest"] for layer in pushed_layers] == layers
    assert {layer["mediaType"] for layer in pushed_layers} == {OCI_LAYER}

    remove_image(docker, built)
    docker.run("pull", f"{name}:v1")
    assert image_id(docker, f"{name}:v1") == built
    assert f"{name}@{pushed['digest']}" in repo_digests(docker, f"{name}:v1")
    assert inspected(docker, f"{name}:v1")["RootFS"]["Layers"] == layers
    assert file_in_image(docker, f"{name}:v1", "/hello.txt") == f"hello {nonce}\n".encode()
    docker.run("image", "rm", "--force", built)


@needs_docker
def test_a_docker_archive_pulled_by_dockyard_is_loaded_by_docker(
    docker: DockerEngine, server: DockyardServer, repo: str, tmp_path: Path
) -> None:
    name = f"{server.host}/{repo}"
    built, nonce = build(docker, tmp_path / "context", f"{name}:v1", STATIC_PROGRAM)
    docker.run("push", f"{name}:v1")  # schema 2, gzipped layers: as docker pushes
    original = inspected(docker, built)
    remove_image(docker, built)

    archive = tmp_path / "pulled.tar"
    succeeded(dockyard(new_home(tmp_path), "pull", f"{name}:v1", f"docker-archive:{archive}"))
    loaded = docker.run("load", "-i", str(archive)).stdout
    assert f"Loaded image: {name}:v1" in loaded, loaded
    shown = inspected(docker, f"{name}:v1")
    assert shown["Id"] == built
    assert shown["RootFS"]["Layers"] == original["RootFS"]["Layers"]
    assert f"DOCKYARD_NONCE={nonce}" in shown["Config"]["Env"]
    assert shown["Config"]["Labels"] == {"org.example.nonce": nonce}
    assert shown["Config"]["Entrypoint"] == ["/bin/program"]
    assert shown["Config"]["Cmd"] == ["--version"]
    assert file_in_image(docker, f"{name}:v1", "/hello.txt") == f"hello {nonce}\n".encode()
    ran = docker.run("run", "--rm", "--network", "none", f"{name}:v1")
    assert ran.stdout.startswith("ldconfig"), ran.stdout
    docker.run("image", "rm", "--force", built)


# --- logins shared through DOCKER_CONFIG -------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """Dockyard in index mode (token auth) with one user, erin."""
    with index_server(tmp_path_factory.mktemp("cli-docker-index") / "data") as index:
        user, password = ERIN
        body = {"username": user, "email": f"{user}@example.com", "password": password}
        with index.api() as api:
            created = api.post("/api/users", json=body)
        assert created.status_code == 201, created.text
        yield index


@needs_docker
def test_logins_are_shared_with_docker_through_docker_config(
    docker: DockerEngine, hub: IndexServer, tmp_path: Path
) -> None:
    host = hub.server.host
    repository = f"erin/{fresh('secret')}"
    name = f"{host}/{repository}"
    by_docker = tmp_path / "docker-config"
    by_docker.mkdir()
    as_docker = {"DOCKER_CONFIG": str(by_docker)}
    user, password = ERIN
    docker.run("login", "-u", user, "--password-stdin", host, stdin=f"{password}\n", env=as_docker)
    built, _ = build(docker, tmp_path / "context", f"{name}:v1")
    docker.run("push", f"{name}:v1", env=as_docker)
    hub.catalogued(repository)
    with hub.api(ERIN) as api:
        changed = api.patch(f"/api/repositories/{repository}", json={"visibility": "private"})
    assert changed.status_code == 200 and changed.json()["visibility"] == "private", changed.text

    # Without a login dockyard is refused; with docker's DOCKER_CONFIG it gets in.
    home = new_home(tmp_path)
    failed_in_one_line(dockyard(home, "inspect", f"{name}:v1"), "UNAUTHORIZED")
    # What docker stored for Dockyard is a refresh token (`identitytoken`), not the password.
    stored = json.loads((by_docker / "config.json").read_text())["auths"][host]
    assert stored["identitytoken"] and password not in json.dumps(stored)
    shown = json.loads(succeeded(dockyard(home, "inspect", "--json", f"{name}:v1", env=as_docker)))
    layers = inspected(docker, built)["RootFS"]["Layers"]
    assert shown["image"]["config"]["rootfs"]["diff_ids"] == layers
    out = home / "out"
    succeeded(dockyard(home, "pull", f"{name}:v1", f"oci:{out}:v1", env=as_docker))
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"]
    assert not (home / ".docker").exists()  # nothing was read or written under HOME

    # The other way round: dockyard logs in into a DOCKER_CONFIG, docker pulls with it.
    by_dockyard = tmp_path / "dockyard-config"
    as_dockyard = {"DOCKER_CONFIG": str(by_dockyard)}
    remove_image(docker, built)
    anonymous = docker.run("pull", f"{name}:v1", env=as_dockyard, check=False)
    assert anonymous.returncode != 0 and "denied" in anonymous.stderr, anonymous.stderr
    succeeded(
        dockyard(
            home, "login", host, "-u", user, "--password-stdin", stdin=password, env=as_dockyard
        )
    )
    assert json.loads((by_dockyard / "config.json").read_text())["auths"][host]["identitytoken"]
    assert not (home / ".docker").exists()
    docker.run("pull", f"{name}:v1", env=as_dockyard)
    assert image_id(docker, f"{name}:v1") == built
    docker.run("image", "rm", "--force", built)


# --- an interrupted pull resumes ---------------------------------------------------------------


def test_a_killed_pull_is_resumed_with_a_range_request(
    server: DockyardServer, repo: str, tmp_path: Path
) -> None:
    """The first pull goes through a proxy slowed to 4 MiB/s and is SIGKILLed once the layer's
    `.partial` file holds 4 MiB; the second, at full speed, asks only for the rest."""
    layout = Layout(tmp_path / "layout")
    image = layout.add_image([{"big.bin": os.urandom(24 * MiB)}])
    layout.tag("v1", image)
    (layer,) = json.loads(layout.read_blob(image["digest"]))["layers"]
    home = new_home(tmp_path)
    succeeded(dockyard(home, "push", f"oci:{layout.path}:v1", f"{server.host}/{repo}:v1"))

    archive = home / "big.tar"
    partial = home / "big.tar.layout" / "blobs" / "sha256" / (layer["digest"][7:] + ".partial")
    with tcp_proxy(server.host, rate=4 * MiB) as proxy:
        reference = f"{proxy.host}/{repo}:v1"
        first = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli", "pull", "--quiet", reference,
             f"docker-archive:{archive}"],
            env={**{k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"},
                 "HOME": str(home)},
            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not (partial.exists() and partial.stat().st_size >= 4 * MiB):
                assert first.poll() is None, "the first pull ended before it was killed"
                assert time.monotonic() < deadline, "the layer never reached 4 MiB"
                time.sleep(0.02)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        kept = partial.stat().st_size
        assert 4 * MiB <= kept < layer["size"] and not archive.exists()

        proxy.rate = None
        before = len(proxy.sent)
        second = json.loads(
            succeeded(dockyard(home, "pull", "--json", reference, f"docker-archive:{archive}"))
        )
        resent = sum(proxy.sent[before:])
    assert second["blobs"][layer["digest"]] == "downloaded"
    # Only the rest of the layer came again (plus the manifest, config and headers).
    assert layer["size"] - kept <= resent < layer["size"] - kept + 64 * 1024, (resent, kept)

    path = f"/v2/{repo}/blobs/{layer['digest']}"

    def both(entries: list[Access]) -> bool:
        return sum(e.method == "GET" and e.path == path for e in entries) >= 2

    entries = wait_for_entries(server.log, both)
    gets = [e.status for e in entries if e.method == "GET" and e.path == path]
    assert gets == [200, 206], gets
    with tarfile.open(archive) as tar:
        (saved,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        (layer_file,) = saved["Layers"]
        data = tar.extractfile(layer_file).read()  # type: ignore[union-attr]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
    assert not (home / "big.tar.layout").exists()
