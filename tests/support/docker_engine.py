"""A throwaway Docker engine: dockerd with the vfs driver and no networking, in a temp dir.

Everything lives under one short directory in /tmp (unix socket paths are limited to about
100 characters): data root, exec root, pid file, socket and the CLI's config. The docker CLI
is pointed at it through `env=` of each subprocess, never through this process's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DockerError(RuntimeError):
    pass


def docker_available() -> str | None:
    """Why a Docker engine cannot run here, or None if it can."""
    for binary in ("dockerd", "docker"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    if os.geteuid() != 0:
        return "dockerd needs root"
    return None


@dataclass
class DockerEngine:
    root: Path
    socket: Path
    config: Path
    log: Path
    process: subprocess.Popen[bytes]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for one docker CLI call: this engine, its own config directory."""
        return {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(self.config),
            **extra,
        }

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        check: bool = True,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`docker ARGS...`; raises DockerError with the output when it fails and check is set."""
        result = subprocess.run(
            ["docker", *args],
            cwd=cwd,
            env=self.env(**(env or {})),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise DockerError(
                f"docker {' '.join(args)} exited with {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # dockerd would not stop: end it and its containerd (its own process group).
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _wait_until_ready(engine: DockerEngine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.process.poll() is not None:
            raise DockerError(
                f"dockerd exited with {engine.process.returncode}:\n{engine.log.read_text()}"
            )
        if engine.socket.exists():
            with suppress(subprocess.TimeoutExpired):
                if engine.run("version", check=False, timeout=10).returncode == 0:
                    return
        time.sleep(0.2)
    raise DockerError(f"dockerd did not answer within {timeout}s:\n{engine.log.read_text()}")


def _unmount_below(root: Path) -> None:
    """Unmount whatever the engine left mounted under root (deepest first), so rmtree works."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    prefix = str(root) + "/"
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


@contextmanager
def docker_engine(
    insecure_registries: Sequence[str] = (), settings: Mapping[str, Any] | None = None
) -> Iterator[DockerEngine]:
    """Start dockerd in a fresh temp dir, wait until `docker version` answers, stop it by PID;
    `settings`: more daemon.json keys (e.g. `registry-mirrors`)."""
    root = Path(tempfile.mkdtemp(prefix="dky-", dir="/tmp"))
    daemon_config = {
        "storage-driver": "vfs",
        "iptables": False,
        "ip6tables": False,
        "ip-forward": False,
        "ip-masq": False,
        "bridge": "none",
        "insecure-registries": list(insecure_registries),
        **(settings or {}),
    }
    (root / "daemon.json").write_text(json.dumps(daemon_config))
    config = root / "config"
    config.mkdir()
    (config / "config.json").write_text("{}")
    socket = root / "docker.sock"
    log = root / "dockerd.log"
    command = [
        "dockerd",
        "--config-file", str(root / "daemon.json"),
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "-H", f"unix://{socket}",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    engine = DockerEngine(root, socket, config, log, process)
    try:
        _wait_until_ready(engine)
        yield engine
    finally:
        engine.stop()
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)
