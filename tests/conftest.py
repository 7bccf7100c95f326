"""Fixtures shared by every suite: a real Dockyard server and an HTTP client for it."""

from __future__ import annotations

import itertools
import os
import re
import ssl
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import httpx._transports.default as httpx_transports
import pytest

from tests.support.azurite import Azurite, azurite_server
from tests.support.fake_gcs import FakeGCS, fake_gcs_server
from tests.support.postgres import PostgresServer, backend_env, missing_postgres, postgres_server
from tests.support.redis import any_redis, missing_redis
from tests.support.seaweedfs import S3Bucket, create_bucket, seaweedfs
from tests.support.servers import DockyardServer, check_logs, dockyard_server
from tests.support.swift import Swift, missing_swift, swift_server

_names = itertools.count()

# Every server and command the tests start hashes passwords at OWASP's minimum cost for argon2id
# (index.passwords), not the default's: a sign-in then costs about 0.05 s instead of 0.4 s, and
# the suites sign in thousands of times. tests/unit/test_password_cost.py covers the default.
CHEAPER_PASSWORDS = {
    "DOCKYARD_INDEX__PASSWORDS__TIME_COST": "2",
    "DOCKYARD_INDEX__PASSWORDS__MEMORY_KIB": "19456",
    "DOCKYARD_INDEX__PASSWORDS__PARALLELISM": "1",
}
for _variable, _value in CHEAPER_PASSWORDS.items():
    os.environ.setdefault(_variable, _value)


def _shared_default_ssl_context() -> None:
    """Every httpx client the tests make shares one default SSL context. httpx builds a new one
    for each client, loading certifi's bundle: 40 to 90 ms a client on this machine, where the
    suites make thousands of clients (the search property tests took 141 s with it, 67 s
    without). A context with other settings (a test's own CA) is made as before."""
    make = httpx.create_ssl_context
    shared = make()

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None and trust_env:
            return shared
        return make(verify, cert, trust_env)

    # Where httpx's transports look it up (they imported it by name).
    setattr(httpx_transports, "create_ssl_context", create_ssl_context)  # noqa: B010


_shared_default_ssl_context()


@pytest.fixture(autouse=True)
def no_unexpected_tracebacks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose servers logged a traceback, unless it is marked `tracebacks_expected`
    (a test that breaks a dependency on purpose)."""
    found = check_logs()
    if found:  # logged while the servers were started, or after the last test ended
        pytest.fail("a server logged a traceback before this test:\n\n" + "\n\n".join(found))
    yield
    found = check_logs(expected=request.node.get_closest_marker("tracebacks_expected") is not None)
    if found:
        pytest.fail("the server logged an unexpected traceback:\n\n" + "\n\n".join(found))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_backend(request: pytest.FixtureRequest) -> str:
    """The metadata database of the session's server: every API test runs on both."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def server(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DockyardServer]:
    """One server per backend for the session; tests keep apart by using fresh repository
    names."""
    with ExitStack() as stack:
        env = stack.enter_context(backend_env(database_backend, request))
        data = tmp_path_factory.mktemp(f"dockyard-{database_backend}") / "data"
        yield stack.enter_context(dockyard_server(data, env=env))


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session, started when a test first asks for it."""
    reason = missing_postgres()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with postgres_server() as running:
        yield running


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis for the session, started when a test first asks for it."""
    reason = missing_redis()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with any_redis() as url:
        yield url


@pytest.fixture(scope="session")
def s3_bucket() -> Iterator[S3Bucket]:
    """A bucket of a real SeaweedFS, started once for the session when a test asks for it."""
    with seaweedfs() as server:
        yield create_bucket(server, f"dockyard-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A container of Azurite (Microsoft's Azure Blob Storage emulator), started once for the
    session when a test asks for it."""
    with azurite_server(f"dockyard-{uuid.uuid4().hex[:8]}") as server:
        yield server


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGCS]:
    """A bucket of fake-gcs-server (a Google Cloud Storage emulator), started once for the session
    when a test asks for it."""
    with fake_gcs_server(f"dockyard-{uuid.uuid4().hex[:8]}") as server:
        yield server


@pytest.fixture(scope="session")
def swift() -> Iterator[Swift]:
    """A container of a real OpenStack Swift (all in one, from Debian's packages), started once
    for the session when a test asks for it."""
    reason = missing_swift()
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    with swift_server(f"dockyard-{uuid.uuid4().hex[:8]}") as server:
        yield server
