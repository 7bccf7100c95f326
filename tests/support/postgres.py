"""A PostgreSQL server for the tests: the one DOCKYARD_TEST_POSTGRES_URL names, or a throwaway
cluster of Debian's binaries on a free loopback port, in a temp dir removed at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from tests.support.servers import free_port

URL_VARIABLE = "DOCKYARD_TEST_POSTGRES_URL"
DRIVER = "postgresql+psycopg"


@dataclass
class PostgresServer:
    """A server on which the tests may create and drop databases."""

    url: URL  # of its maintenance database, where CREATE DATABASE is run
    created: list[str] = field(default_factory=list)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database for one use; its SQLAlchemy URL. Dropped afterwards."""
        name = f"dockyard_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        try:
            yield self.url.set(drivername=DRIVER, database=name).render_as_string(
                hide_password=False
            )
        finally:
            # FORCE: a server process the test killed may still hold a connection for a moment.
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        libpq = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(sql.encode())


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server of DOCKYARD_TEST_POSTGRES_URL if set, else a throwaway one."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield PostgresServer(make_url(given))
        return
    with _throwaway() as url:
        yield PostgresServer(url)


def missing_postgres() -> str | None:
    """Why no throwaway server can start here, or None."""
    if os.environ.get(URL_VARIABLE) or _binaries() is not None:
        return None
    return f"PostgreSQL's initdb is not installed and {URL_VARIABLE} is not set"


def _binaries() -> Path | None:
    # Debian keeps each major version apart; take the newest. Elsewhere, initdb is on PATH.
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def _throwaway() -> Iterator[URL]:
    with stoppable_postgres() as server:
        yield server.url


@dataclass
class StoppablePostgres(PostgresServer):
    """A throwaway server of its own, which a test may stop and start again (on its port)."""

    base: Path = Path()
    binaries: Path = Path()
    as_owner: list[str] = field(default_factory=list)

    def stop(self, mode: str = "fast") -> None:
        """Stop as an administrator does (`fast`: clients disconnected, everything committed
        kept). `immediate` is a crash, which with this server's `synchronous_commit=off` may
        lose the last commits: for throwing it away."""
        _run([*self.as_owner, str(self.binaries / "pg_ctl"), "-D", str(self.base / "data"),
              "-m", mode, "-w", "stop"], self.base)  # fmt: skip

    def start(self) -> None:
        assert self.url.port is not None
        _start(self.as_owner, self.binaries, self.base, self.url.port)


@contextmanager
def stoppable_postgres() -> Iterator[StoppablePostgres]:
    """A new PostgreSQL server in a temporary directory, stopped and removed afterwards."""
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError(missing_postgres())
    # Outside pytest's temp dirs, which are private to root: PostgreSQL refuses to run as root,
    # so as root it runs as `postgres`, which must own the directory.
    base = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
    as_owner = _as_postgres(base)
    try:
        # Durability is worthless here: no fsync makes set-up and every commit fast.
        _run([*as_owner, str(binaries / "initdb"), "-D", str(base / "data"), "-A", "trust",
              "-U", "postgres", "--no-sync", "-E", "UTF8"], base)  # fmt: skip
        port = _start(as_owner, binaries, base)
        url = URL.create(DRIVER, "postgres", host="127.0.0.1", port=port, database="postgres")
        server = StoppablePostgres(url, base=base, binaries=binaries, as_owner=as_owner)
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _start(as_owner: list[str], binaries: Path, base: Path, port: int | None = None) -> int:
    """Start on `port`, or a free port (another server may take it first: try a few)."""
    for _attempt in range(3):
        chosen = port or free_port()
        options = (
            f"-k {base} -p {chosen} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        started = subprocess.run(
            [*as_owner, str(binaries / "pg_ctl"), "-D", str(base / "data"),
             "-l", str(base / "log"), "-w", "-o", options, "start"],
            capture_output=True, check=False,
        )  # fmt: skip
        if started.returncode == 0:
            return chosen
    raise RuntimeError(f"PostgreSQL did not start:\n{(base / 'log').read_text()}")


def _as_postgres(base: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    shutil.chown(base, "postgres")
    return ["runuser", "-u", "postgres", "--"]


def _run(command: list[str], base: Path) -> None:
    done = subprocess.run(command, capture_output=True, check=False, cwd=base)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")


@contextmanager
def backend_env(backend: str, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment that puts a test server's metadata on `backend`: SQLite in its data
    directory, or a new database of the session's PostgreSQL (dropped afterwards)."""
    if backend != "postgresql":
        yield {}
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    with postgres.database() as url:
        yield {"DOCKYARD_DATABASE__URL": url}
