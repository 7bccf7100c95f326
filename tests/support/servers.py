"""Real server processes on free loopback ports, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TRACEBACK = "Traceback (most recent call last):"


# A line that starts a log record: Dockyard's timestamp, or Granian's `[LEVEL]`.
_RECORD = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d|\[[A-Z]+\])")


@dataclass
class ServerLog:
    """A test server's log, read on from where this reader last stopped (several may read one
    file: the check for unexpected tracebacks, the fuzz suite)."""

    path: Path
    offset: int = 0
    done: bool = False  # the server has stopped: nothing more will be written

    def read_on(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read()
        self.offset += len(text)
        return text.decode("utf-8", "replace")

    def skip_to_end(self) -> None:
        self.offset = self.path.stat().st_size


# The logs of the servers this test process started, read after every test: an unexpected
# exception in request handling is a test failure, even when every answer looked right.
LOGS: list[ServerLog] = []


def tracebacks(text: str) -> list[str]:
    """Each traceback in a piece of log with the record that announced it, up to the next
    record."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        if TRACEBACK not in line:
            continue
        end = number + 1
        while end < len(lines) and _RECORD.match(lines[end]) is None and end - number < 400:
            end += 1
        found.append("\n".join(lines[max(number - 1, 0) : end]))
    return found


def check_logs(expected: bool = False) -> list[str]:
    """Read every server log on; the tracebacks found (none are reported when `expected`)."""
    found: list[str] = []
    for log in list(LOGS):
        if log.path.exists():
            found += tracebacks(log.read_on())
        if log.done:
            LOGS.remove(log)
    return [] if expected else found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answers(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer at {url}:\n{log.read_text()}")


@dataclass
class DockyardServer:
    url: str
    host: str  # host:port, as docker and skopeo name a registry
    data: Path
    log: Path
    process: subprocess.Popen[bytes]
    log_check: ServerLog = field(init=False)

    def __post_init__(self) -> None:
        self.log_check = ServerLog(self.log)
        LOGS.append(self.log_check)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole process group (the server runs in its own session): a SIGKILL of
        Granian's main process alone leaves its workers serving for up to a few seconds
        (dockyard.supervision), and the next test wants the port and the data now."""
        if self.process.poll() is None:
            _signal_group(self.process, sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait()
        # Workers still finishing after a killed parent: none may be left serving the data dir.
        _signal_group(self.process, signal.SIGKILL)


def stop_group(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """Stop a server started in a session of its own: TERM to its process group, then KILL
    after `grace` seconds (test servers' data is thrown away: no need to wait longer)."""
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def spawn_dockyard(
    data: Path, port: int, *args: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `dockyard serve` on `port` in a session of its own (so that its whole process group
    can be signalled), logging to a file beside `data`; the process and its log."""
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}-server-{port}-{time.monotonic_ns()}.log"
    command = [
        sys.executable, "-m", "dockyard.cli", "serve",
        "--addr", f"127.0.0.1:{port}", "--data", str(data), *args,
    ]  # fmt: skip
    # One worker unless the test asks for more (the default is one per CPU): what a test counts
    # per process (request limits, uploads in progress) then stays in one place. A variable set
    # to "" is left out (a test of the defaults).
    variables = {**os.environ, "DOCKYARD_HTTP__WORKERS": "1", **env}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={name: value for name, value in variables.items() if value != ""},
            start_new_session=True,
        )
    return process, log


@contextmanager
def dockyard_server(
    data: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[DockyardServer]:
    """`dockyard serve` as a subprocess on a free loopback port, with data under `data`."""
    port = free_port()
    # The API suites test the registry open unless they ask for an auth mode (the default of
    # `dockyard serve` is the index's token auth).
    process, log = spawn_dockyard(
        data, port, *args, env={"DOCKYARD_AUTH__MODE": "none", **(env or {})}
    )
    server = DockyardServer(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", data, log, process)
    try:
        wait_until_answers(f"{server.url}/v2/", process, log)
        yield server
    finally:
        server.stop()
        server.log_check.done = True
