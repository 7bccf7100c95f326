"""A Redis server for the tests: the one DOCKYARD_TEST_REDIS_URL names, or a throwaway
redis-server on a free loopback port that a test can stop and start again by its PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.servers import free_port

URL_VARIABLE = "DOCKYARD_TEST_REDIS_URL"


@dataclass
class RedisServer:
    """redis-server as a child process, without persistence: a restart starts empty."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_redis(self.url, self.process)

    def stop(self) -> None:
        """Kill it outright, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def pause(self) -> None:
        """Freeze it: connections stay open and every call times out, as over a dead network."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def wait_for_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 15
    with client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer at {url}")


def missing_redis_server() -> str | None:
    """Why no throwaway redis-server can start here, or None."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    return None


def missing_redis() -> str | None:
    """Why the tests have no Redis at all, or None."""
    return None if os.environ.get(URL_VARIABLE) else missing_redis_server()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A throwaway redis-server, killed and removed at the end."""
    reason = missing_redis_server()
    if reason is not None:
        raise RuntimeError(reason)
    directory = Path(tempfile.mkdtemp(prefix="dockyard-redis-"))
    server = RedisServer(free_port(), directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def any_redis() -> Iterator[str]:
    """The URL of DOCKYARD_TEST_REDIS_URL if set, else of a throwaway server."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    with redis_server() as server:
        yield server.url
