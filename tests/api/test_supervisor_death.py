"""SIGKILL of `dockyard serve`'s supervisor (the OOM killer, a crashed process manager): its
workers exit by themselves, the port goes quiet, and a restart on the same port serves alone.
A SIGTERM while the workers start stops them too."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port, spawn_dockyard, wait_until_answers

# Generous on purpose: the workers are meant to go within a couple of seconds, but the machine
# is shared and a slow exit is not what these tests are about; staying up forever is.
WAIT = 10.0


def start_serve(
    data: Path, port: int, workers: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`dockyard serve` on `port`, answering."""
    process, log = spawn_dockyard(data, port, env={"DOCKYARD_HTTP__WORKERS": str(workers), **env})
    wait_until_answers(f"http://127.0.0.1:{port}/v2/", process, log)
    return process


def stopped(process: subprocess.Popen[bytes], data: Path, port: int, seconds: float) -> int:
    """The exit status; or, still running after `seconds`, a failure that shows its log (a
    stop that hung once in a full run, not since: what the server said, if again)."""
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        logs = sorted(data.parent.glob(f"{data.name}-server-{port}-*.log"))
        said = logs[-1].read_text()[-6000:] if logs else "(no log)"
        failure = f"still running {seconds:g} s after SIGTERM; its log:\n{said}"
        raise AssertionError(failure) from None


def children_of(pid: int) -> set[int]:
    children = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # The command name (field 2) may hold spaces and parentheses: split after it.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    children.add(int(entry.name))
    return children


def is_running(pid: int) -> bool:
    """True unless the process is gone or a zombie (an exited orphan waiting for init)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def workers_of(supervisor: subprocess.Popen[bytes], count: int) -> set[int]:
    """The supervisor's worker pids, once all `count` of them were forked."""
    assert eventually(lambda: len(children_of(supervisor.pid)) >= count), "workers never started"
    return children_of(supervisor.pid)


def all_gone(pids: Iterable[int]) -> bool:
    return not any(is_running(pid) for pid in pids)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Leave nothing behind: the workers stay in the supervisor's group even as orphans."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_exit_when_their_supervisor_is_killed_and_a_restart_serves_alone(
    tmp_path: Path, workers: int
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    # The two generations differ in a way any client sees: the first is open (GET /v2/ is 200),
    # the second asks for a token (401).
    first = start_serve(data, port, workers, {"DOCKYARD_AUTH__MODE": "none"})
    try:
        orphans = workers_of(first, workers)
        assert len(orphans) == workers

        os.kill(first.pid, signal.SIGKILL)  # the supervisor alone, not its group
        first.wait(timeout=5)
        killed = time.monotonic()
        assert eventually(lambda: all_gone(orphans)), (
            f"workers {sorted(p for p in orphans if is_running(p))} still run without a supervisor"
        )
        gone_after = time.monotonic() - killed
        assert eventually(lambda: refuses_connections(port)), "the port still accepts connections"
        print(f"{workers} worker(s) gone {gone_after:.2f} s after the supervisor's SIGKILL")

        second = start_serve(data, port, workers, {"DOCKYARD_AUTH__MODE": "index"})
        try:
            # httpx.get opens a new connection each time: each one is a fresh pick among the
            # sockets listening on the port.
            statuses = [httpx.get(f"http://127.0.0.1:{port}/v2/").status_code for _ in range(40)]
            assert set(statuses) == {401}, f"another generation answered: {statuses}"

            # A normal stop still works: SIGTERM to the supervisor alone stops it and its workers.
            second_workers = workers_of(second, workers)
            os.kill(second.pid, signal.SIGTERM)
            assert stopped(second, data, port, 15) == 0
            assert eventually(lambda: all_gone(second_workers))
            assert eventually(lambda: refuses_connections(port))
        finally:
            kill_group(second)
    finally:
        kill_group(first)


def test_a_stop_while_the_workers_start_stops_them_too(tmp_path: Path) -> None:
    """SIGTERM to the supervisor once its workers are forked, before they serve: a worker
    still starting takes the signal with the handler it inherited from the supervisor, so it
    must see the stop once it can serve. Without a grace (0: wait for the workers), missing it
    would keep the supervisor waiting for ever."""
    env = {
        "DOCKYARD_HTTP__WORKERS": "2",
        "DOCKYARD_HTTP__DRAIN_SECONDS": "0",
        "DOCKYARD_HTTP__SHUTDOWN_GRACE_SECONDS": "0",
    }
    caught_starting = 0
    for attempt in range(5):  # until a signal comes while a worker starts (nearly always)
        data = tmp_path / f"data-{attempt}"
        process, log = spawn_dockyard(data, free_port(), env=env)
        try:
            workers_of(process, 2)
            starting = log.read_text().count("Started worker") < 2
            os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=3 * WAIT) == 0
        finally:
            kill_group(process)
        caught_starting += starting
        if caught_starting:
            break
    assert caught_starting, "every signal came once both workers served"
