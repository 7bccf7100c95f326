"""Fixtures shared by every suite: a real Dockyard server and an HTTP client for it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import DockyardServer, dockyard_server

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    """One server for the session; tests keep apart by using fresh repository names."""
    with dockyard_server(tmp_path_factory.mktemp("dockyard") / "data") as running:
        yield running


@pytest.fixture
def client(server: DockyardServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    return f"test/{stem[:60].strip('-')}-{next(_names)}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
