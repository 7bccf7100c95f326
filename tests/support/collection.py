"""`dockyard gc` and `dockyard fsck` run as an operator runs them, beside test servers."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Collection with no grace period: whatever is garbage when a run starts goes.
NO_GRACE = {"DOCKYARD_REGISTRY__GC__GRACE_MINUTES": "0", "DOCKYARD_REGISTRY__GC__ENABLED": "false"}


@dataclass(frozen=True)
class Outcome:
    status: int
    lines: list[str]
    stderr: str

    def deleted(self) -> set[str]:
        """`<kind> <name>` of each line saying what went (or would go)."""
        found = set()
        for line in self.lines:
            for verb in ("deleted ", "would delete "):
                if line.startswith(verb):
                    found.add(line.removeprefix(verb).split(" (")[0])
        return found


def dockyard(command: str, data: Path, env: dict[str, str], *flags: str) -> Outcome:
    """`dockyard <command> --data <data> <flags>` with the servers' environment."""
    done = subprocess.run(
        [sys.executable, "-m", "dockyard.cli", command, "--data", str(data), *flags],
        capture_output=True,
        text=True,
        env={**os.environ, **NO_GRACE, **env},
        timeout=600,
        check=False,
    )
    return Outcome(done.returncode, done.stdout.splitlines(), done.stderr)


def stored_bytes(root: Path) -> tuple[int, int]:
    """(files, bytes) under a filesystem storage root."""
    files = [path for path in root.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def collect_once_the_lease_is_free(data: Path, env: dict[str, str], seconds: float) -> Outcome:
    """`dockyard gc --wait`: it waits while another process holds the collection's lease (a
    scheduled run in progress, or a killed collector's lease not run out yet), up to
    `seconds`. Servers collecting back to back leave the lease free for a moment only, which a
    new `dockyard gc` every half second missed for a minute on a slow machine."""
    collected = dockyard("gc", data, env, "--wait", str(seconds))
    assert collected.status == 0, collected.stderr
    return collected
