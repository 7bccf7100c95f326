"""Listings and memory, Dockyard against Distribution 2.8.2 (Debian's docker-registry) in one
run, both in their default configuration (issue 13's "Speed by default"):

  - the full tag list of a repository of 10,000 tags (every page, following `Link`);
  - a page of 100 tags from anywhere in 50,000 (`?n=100&last=` at random places);
  - the first page (100) of a catalogue of 10,000 repositories;
  - the resident memory of each process afterwards (Dockyard: its supervisor and each worker).

Both registries get the same data over HTTP: one small image, then its manifest under every tag
and in every repository (blobs mounted, not uploaded again). Requests go one after another on a
kept-alive connection; the registries take turns, round by round. Run it with
`make bench-listings`; it prints the table and rewrites the "Listings and memory" section of
docs/benchmarks.md (`--no-write` to skip). `--scale 0.1` makes everything ten times smaller.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench.registry_bench import (
    CONFIG_TYPE,
    DISTRIBUTION,
    DOCKYARD,
    LAYER_TYPE,
    MANIFEST_TYPE,
    Server,
    cpu_pressure,
    log,
    machine_note,
    push_small_blob,
    rewrite_section,
    start_distribution,
    start_dockyard,
    workspace,
)

HEADING = "## Listings and memory"
BASE = "bench/base"
THREADS = 4
ROUNDS = 5
PAGE = 100


@dataclass
class Sizes:
    tags_listed: int = 10_000
    tags_paged: int = 50_000
    repositories: int = 10_000

    def scaled(self, factor: float) -> Sizes:
        return Sizes(*(max(10, int(n * factor)) for n in vars(self).values()))


@dataclass
class Measures:
    full_list_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    catalog_ms: list[float] = field(default_factory=list)
    memory_mb: dict[str, float] = field(default_factory=dict)


class Client:
    """One kept-alive connection to a server."""

    def __init__(self, server: Server) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)

    def call(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.connection.request(method, target, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _image(server: Server) -> tuple[bytes, list[str]]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    descriptors = [
        {"mediaType": CONFIG_TYPE, **push_small_blob(server, BASE, config)},
        {"mediaType": LAYER_TYPE, **push_small_blob(server, BASE, os.urandom(4096))},
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptors[0],
        "layers": descriptors[1:],
    }
    return json.dumps(manifest).encode(), [str(d["digest"]) for d in descriptors]


def populate(server: Server, sizes: Sizes) -> None:
    manifest, digests = _image(server)
    headers = {"Content-Type": MANIFEST_TYPE}
    jobs: list[tuple[str, str]] = [("bench/listed", f"t{i:06d}") for i in range(sizes.tags_listed)]
    jobs += [("bench/paged", f"t{i:06d}") for i in range(sizes.tags_paged)]
    jobs += [(f"cat/r{i:06d}", "latest") for i in range(sizes.repositories)]
    repositories = sorted({repository for repository, _ in jobs})

    def mount(chunk: list[str]) -> None:
        client = Client(server)
        for repository in chunk:
            for digest in digests:
                target = f"/v2/{repository}/blobs/uploads/?mount={digest}&from={BASE}"
                status, _, body = client.call("POST", target)
                if status != 201:
                    raise RuntimeError(f"{server.name}: mount answered {status}: {body[:200]!r}")

    def tag(chunk: list[tuple[str, str]]) -> None:
        client = Client(server)
        for repository, name in chunk:
            status, _, body = client.call(
                "PUT", f"/v2/{repository}/manifests/{name}", manifest, headers
            )
            if status != 201:
                raise RuntimeError(f"{server.name}: manifest PUT answered {status}: {body[:200]!r}")

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(mount, [repositories[i::THREADS] for i in range(THREADS)]))
        list(pool.map(tag, [jobs[i::THREADS] for i in range(THREADS)]))


def _timed(client: Client, target: str) -> tuple[float, dict[str, str], bytes]:
    started = time.perf_counter()
    status, headers, body = client.call("GET", target)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"GET {target} answered {status}: {body[:200]!r}")
    return elapsed, headers, body


def full_list(client: Client) -> float:
    """Every tag of the listed repository, page after page as `Link` says."""
    target: str | None = "/v2/bench/listed/tags/list"
    total = 0.0
    while target:
        elapsed, headers, _ = _timed(client, target)
        total += elapsed
        link = headers.get("link", "")
        target = (
            urlsplit(link[1 : link.index(">")])._replace(scheme="", netloc="").geturl()
            if link
            else None
        )
    return total


def measure_round(server: Server, sizes: Sizes, found: Measures, rng: random.Random) -> None:
    client = Client(server)
    found.full_list_ms.append(full_list(client))
    for _ in range(20):
        last = f"t{rng.randrange(sizes.tags_paged - PAGE):06d}"
        found.page_ms.append(_timed(client, f"/v2/bench/paged/tags/list?n={PAGE}&last={last}")[0])
        found.catalog_ms.append(_timed(client, f"/v2/_catalog?n={PAGE}")[0])


def memory(server: Server) -> dict[str, float]:
    """Resident megabytes of the server's processes: its leader, and each worker it started."""
    found: dict[str, float] = {}
    pids = subprocess.run(
        ["pgrep", "-g", str(server.process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for number, pid in enumerate(sorted(pids, key=int)):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kilobytes = int(status.split("VmRSS:")[1].split()[0])
        label = (
            "process" if len(pids) == 1 else ("supervisor" if number == 0 else f"worker {number}")
        )
        found[label] = kilobytes / 1024
    return found


def run(options: argparse.Namespace) -> dict[str, Measures]:
    sizes = Sizes().scaled(options.scale)
    rng = random.Random(13)
    results = {DOCKYARD: Measures(), DISTRIBUTION: Measures()}
    with workspace(None) as work:
        servers = [start_dockyard(work, DOCKYARD, {}), start_distribution(work)]
        try:
            for server in servers:
                started = time.monotonic()
                populate(server, sizes)
                log(f"{server.name}: populated in {time.monotonic() - started:.0f} s")
            for number in range(ROUNDS):
                for server in servers if number % 2 == 0 else reversed(servers):
                    measure_round(server, sizes, results[server.name], rng)
            for server in servers:
                results[server.name].memory_mb = memory(server)
        finally:
            for server in servers:
                server.stop()
    return results


def render(results: dict[str, Measures], sizes: Sizes, pressure: tuple[str, str]) -> str:
    ours, theirs = results[DOCKYARD], results[DISTRIBUTION]

    def row(label: str, mine: list[float], other: list[float], target: str) -> str:
        a, b = statistics.median(mine), statistics.median(other)
        return f"| {label} | {a:.1f} | {b:.1f} | {b / a:.2f}x | {target} |"

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[18]

    rows = [
        row(
            f"full tag list of {sizes.tags_listed:,} (every page)",
            ours.full_list_ms,
            theirs.full_list_ms,
            "≥ 3x",
        ),
        row(
            f"a page of {PAGE} tags from anywhere in {sizes.tags_paged:,}",
            ours.page_ms,
            theirs.page_ms,
            "flat (about 2 ms)",
        ),
        row(
            f"first page ({PAGE}) of a catalogue of {sizes.repositories:,}",
            ours.catalog_ms,
            theirs.catalog_ms,
            "≥ 10x",
        ),
    ]
    table = "\n".join(rows)
    memory = "; ".join(
        f"{name}: " + ", ".join(f"{label} {mb:.0f} MB" for label, mb in found.memory_mb.items())
        for name, found in results.items()
    )
    return f"""{HEADING}

`make bench-listings` (bench/listing_bench.py), {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}:
both registries in their default configuration (access logs on; Dockyard with a worker per
CPU), the same data pushed to both over HTTP ({sizes.tags_listed:,} tags in one repository,
{sizes.tags_paged:,} in another, {sizes.repositories:,} repositories), then {ROUNDS} rounds
taking turns, one request at a time on a kept-alive connection. CPU pressure (PSI `some
avg60`): {pressure[0]} when it started, {pressure[1]} when it ended. Machine: {machine_note()}.

| measure (median, ms) | Dockyard | Distribution 2.8.2 | speed-up | target (issue 13) |
| --- | ---: | ---: | ---: | --- |
{table}

A page of tags at the 95th percentile: Dockyard {p95(ours.page_ms):.1f} ms, Distribution
{p95(theirs.page_ms):.1f} ms. Resident memory after the run: {memory} (target: at most 100 MB
per Dockyard process).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    started = cpu_pressure()
    results = run(options)
    section = render(results, Sizes().scaled(options.scale), (started, cpu_pressure()))
    print(section)
    if not options.no_write:
        rewrite_section(HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
