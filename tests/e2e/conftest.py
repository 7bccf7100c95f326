"""Fixtures for end-to-end tests with real clients: a Docker engine, skopeo, podman."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clients import Podman, Skopeo, missing
from tests.support.docker_engine import DockerEngine, docker_available, docker_engine
from tests.support.servers import DockyardServer


@pytest.fixture(scope="session")
def database_backend() -> str:
    """Real clients meet one server: the database behind it is the API suite's business."""
    return "sqlite"


@pytest.fixture(scope="session")
def docker(server: DockyardServer) -> Iterator[DockerEngine]:
    """One dockerd for the session, in its own temp dir, trusting the server over plain HTTP."""
    reason = docker_available()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with docker_engine(insecure_registries=[server.host]) as engine:
        yield engine


@pytest.fixture
def skopeo(tmp_path: Path) -> Skopeo:
    reason = missing("skopeo")
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    return Skopeo(tmp_path / "skopeo")


@pytest.fixture
def podman() -> Iterator[Podman]:
    """podman and buildah over their own storage; in a short path, as podman refuses a runroot
    longer than 50 characters (pytest's temp dirs under xdist are longer)."""
    reason = missing("podman", "buildah")
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    home = Path(tempfile.mkdtemp(prefix="dkp-", dir="/tmp"))
    try:
        yield Podman(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
