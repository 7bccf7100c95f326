"""Read the server's access log: one `dockyard.access METHOD PATH STATUS BYTES TIME ID` line
per request, in the file the server's output goes to."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MARKER = " dockyard.access "


@dataclass(frozen=True)
class Access:
    method: str
    path: str
    status: int


def read_access_log(log: Path) -> list[Access]:
    entries = []
    for line in log.read_text(errors="replace").splitlines():
        if MARKER not in line:
            continue
        fields = line.split(MARKER, 1)[1].split()
        if len(fields) >= 3 and fields[2].isdigit():
            entries.append(Access(fields[0], fields[1], int(fields[2])))
    return entries


def wait_for_entries(
    log: Path, predicate: Callable[[list[Access]], bool], timeout: float = 10
) -> list[Access]:
    """The log's entries once predicate holds for them (the server writes a request's line just
    after answering it); the last reading if it never does, for the caller's assertion."""
    deadline = time.monotonic() + timeout
    entries = read_access_log(log)
    while not predicate(entries) and time.monotonic() < deadline:
        time.sleep(0.1)
        entries = read_access_log(log)
    return entries
