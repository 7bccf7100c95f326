"""What a fuzzing session did: requests per family and status class in each auth mode, the
server workers' memory before and after, and the causes of any 5xx. Printed at the end of the
pytest session (tests/fuzz/conftest.py), which is what `make fuzz` shows."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.wire import Answer

FAMILIES = (
    "registry", "blobs", "uploads", "manifests", "tags", "referrers", "v1", "token", "api",
    "web",
)  # fmt: skip
CLASSES = ("2xx", "3xx", "4xx", "5xx", "closed")
_REPOSITORY_PATH = re.compile(r"^/v2/.+/(blobs/uploads|blobs|manifests|tags|referrers)(/|$)")


def family(path: str) -> str:
    """The part of the surface a request went to, from its path (percent-encoded or not)."""
    if path == "/token" or path.startswith("/token?"):
        return "token"
    if path.startswith("/api/") or path == "/api":
        return "api"
    if path.startswith("/v1/"):
        return "v1"
    match = _REPOSITORY_PATH.match(path)
    if match is not None:
        return match.group(1).replace("blobs/uploads", "uploads")
    if not path.startswith("/v2"):
        return "web"  # the UI's pages at / (and paths that match no route)
    return "registry"  # /v2/, /v2/_catalog, and /v2 paths that match no route


def status_class(status: int | None) -> str:
    return "closed" if status is None else f"{status // 100}xx"


def process_group_rss(group: int) -> dict[int, int]:
    """Resident memory in KiB of each process of a process group, from /proc."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # pgrp, the 5th field of stat
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match is not None:
            found[int(stat.parent.name)] = int(match.group(1))
    return found


def workers_rss(supervisor: int) -> int:
    """KiB held by the workers of a `dockyard serve` (its process group, less the supervisor)."""
    return sum(kib for pid, kib in process_group_rss(supervisor).items() if pid != supervisor)


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # mode, family, class
    memory: dict[str, list[int]] = field(default_factory=dict)  # mode -> KiB before, after
    faults: Counter[str] = field(default_factory=Counter)  # cause -> 5xx answers

    def record(self, mode: str, answer: Answer) -> None:
        self.counts[mode, family(answer.path), status_class(answer.status)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def table(self) -> str:
        """A Markdown table, ready for docs/fuzzing.md."""
        modes = sorted({mode for mode, _, _ in self.counts})
        lines = [
            "| auth | family | requests | " + " | ".join(CLASSES) + " |",
            "| --- | --- | ---: | " + " | ".join("---:" for _ in CLASSES) + " |",
        ]
        for mode in modes:
            for name in FAMILIES:
                row = [self.counts[mode, name, kind] for kind in CLASSES]
                if sum(row):
                    cells = " | ".join(f"{n:,}" for n in row)
                    lines.append(f"| {mode} | {name} | {sum(row):,} | {cells} |")
        totals = [sum(n for (_, _, k), n in self.counts.items() if k == kind) for kind in CLASSES]
        cells = " | ".join(f"{n:,}" for n in totals)
        lines.append(f"| all | all | {self.total:,} | {cells} |")
        return "\n".join(lines)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.total / elapsed if elapsed else 0.0
        parts = [f"{self.total:,} requests in {elapsed:.0f} s ({rate:.0f}/s)", "", self.table()]
        if self.memory:
            parts += ["", "| auth | workers' RSS before | after |", "| --- | ---: | ---: |"]
            for mode, kib in sorted(self.memory.items()):
                after = f"{kib[1] / 1024:.1f} MiB" if len(kib) > 1 else "?"
                parts.append(f"| {mode} | {kib[0] / 1024:.1f} MiB | {after} |")
        if self.faults:
            parts += ["", "5xx answers by cause (the server's traceback):"]
            parts += [f"  {n:6,}  {cause}" for cause, n in self.faults.most_common()]
        return "\n".join(parts)


STATS = Stats()
