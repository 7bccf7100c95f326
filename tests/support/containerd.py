"""A throwaway containerd (Debian's, the daemon under docker and Kubernetes' nodes) in a temp
dir, and its `ctr` client: the registry client in Go that Kubernetes pulls with.

Everything lives under one short directory in /tmp (unix socket paths are limited to about 100
characters); its CRI plugin is off (no Kubernetes here), and images are unpacked with the
`native` snapshotter, which needs no overlay mounts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.clients import ClientError, run_command
from tests.support.servers import stop_group

CONFIG = """version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{root}/containerd.sock"
[ttrpc]
  address = "{root}/ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
"""


def containerd_available() -> str | None:
    """Why containerd cannot run here, or None if it can."""
    for binary in ("containerd", "ctr"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    if os.geteuid() != 0:
        return "containerd needs root"
    return None


@dataclass
class Containerd:
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.root / "containerd.sock"

    def ctr(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`ctr ARGS...` in the namespace `tests`; raises ClientError with its output when it
        fails and check is set."""
        command = ["ctr", "--address", str(self.socket), "--namespace", "tests", *args]
        return run_command(command, dict(os.environ), check, timeout)


@contextmanager
def containerd_daemon() -> Iterator[Containerd]:
    root = Path(tempfile.mkdtemp(prefix="dkc-", dir="/tmp"))
    (root / "config.toml").write_text(CONFIG.format(root=root))
    with (root / "containerd.log").open("wb") as log:
        process = subprocess.Popen(
            ["containerd", "--config", str(root / "config.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    daemon = Containerd(root, process)
    try:
        deadline = time.monotonic() + 60
        while daemon.ctr("version", check=False, timeout=10).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                said = (root / "containerd.log").read_text()
                raise ClientError(f"containerd did not start:\n{said}")
            time.sleep(0.2)
        yield daemon
    finally:
        stop_group(process, grace=20)
        shutil.rmtree(root, ignore_errors=True)
