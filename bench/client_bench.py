"""The `dockyard` client against skopeo: push and pull of one big image, to and from one Dockyard.

An image of LAYERS layers of random bytes (incompressible; MB in all; each a gzip of a tar of
one file, stored without compression, so neither tool has anything to compress) is built once as
an OCI layout under a temporary directory. A Dockyard is started there in its default
configuration (open: no auth; a worker per CPU; access log on). Then, in each round, with the
order of the two tools flipped every round:

  push: `dockyard push oci:LAYOUT:bench HOST/REPO:bench` and `skopeo copy oci:LAYOUT:bench
        docker://HOST/REPO:bench`, each to a repository of its own, new each round, so that
        nothing is skipped (skopeo is given an empty blob-info cache of its own, else it would
        mount the blobs from the previous round's repository: the run checks it did not);
  pull: `dockyard pull HOST/REPO:bench oci:DIR:bench` and `skopeo copy docker://... oci:DIR:bench`
        of the image dockyard pushed that round, DIR removed first.

Reported: the median wall time and rate of each, the ratio dockyard / skopeo, and where the time
goes: the client's CPU time (user + system) and the server's (all its processes) per run, the
client's start-up alone, and with `--profile` a py-spy profile of one more dockyard push and pull.
Run it with `make bench-client` or `.venv/bin/python -m bench.client_bench`; it prints the
section and rewrites the "Client push and pull" section of docs/benchmarks.md (`--no-write` to
skip). It needs skopeo (`scripts/install-system-deps.sh`). About two minutes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from bench.registry_bench import (
    MB,
    Server,
    cpu_pressure,
    dockyard_python,
    log,
    machine_note,
    rewrite_section,
    start_dockyard,
)

SECTION = "## Client push and pull"
LAYERS = 20
TOTAL_MB = 500
ROUNDS = 7
TAG = "bench"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKYARD = "dockyard"
SKOPEO = "skopeo"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Image:
    layout: Path
    digest: str
    size: int  # the bytes of every blob (config and layers) and the manifest


@dataclass
class Run:
    seconds: float
    client_cpu: float  # user + system of the tool's process
    server_cpu: float  # of every process of the server's group, meanwhile


@dataclass
class Results:
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict)  # (tool, push|pull)
    startup: float = 0.0  # `dockyard push --help`, median
    skopeo_mounts: int = 0  # blobs skopeo mounted instead of uploading (should be none)
    profiles: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def add(self, tool: str, action: str, run: Run) -> None:
        self.runs.setdefault((tool, action), []).append(run)

    def median(self, tool: str, action: str, what: str = "seconds") -> float:
        return float(statistics.median(getattr(run, what) for run in self.runs[(tool, action)]))


# ---------------------------------------------------------------------------------------
# The image


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_blob(layout: Path, media_type: str, data: bytes) -> dict[str, str | int]:
    """Write the blob; its descriptor."""
    digest = _digest(data)
    (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _layer(number: int, size: int) -> tuple[bytes, str]:
    """A gzip (stored blocks: random bytes do not compress) of a tar of one random file; the
    gzip and the tar's digest (the diff id)."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer-{number:02d}.bin")
        info.size = size
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    raw = tar_bytes.getvalue()
    return gzip.compress(raw, compresslevel=0, mtime=0), _digest(raw)


def build_image(layout: Path, layers: int, total: int) -> Image:
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors, diff_ids = [], []
    for number in range(layers):
        data, diff_id = _layer(number, total // layers)
        descriptors.append(_write_blob(layout, OCI_LAYER_GZIP, data))
        diff_ids.append(diff_id)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _write_blob(layout, OCI_CONFIG, json.dumps(config).encode()),
        "layers": descriptors,
    }
    body = json.dumps(manifest).encode()
    top: dict[str, object] = {**_write_blob(layout, OCI_MANIFEST, body)}
    top["annotations"] = {"org.opencontainers.image.ref.name": TAG}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
    (layout / "index.json").write_text(json.dumps({**index, "manifests": [top]}))
    size = sum(path.stat().st_size for path in (layout / "blobs" / "sha256").iterdir())
    return Image(layout, str(top["digest"]), size)


# ---------------------------------------------------------------------------------------
# Running the tools


def group_cpu(server: Server) -> float:
    """CPU seconds (user + system) of every live process of the server's process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == server.process.pid:  # pgrp: the server leads its own session
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def timed(command: list[str], env: dict[str, str], server: Server) -> tuple[Run, str]:
    """Run `command` to completion; its Run and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = group_cpu(server)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    server_cpu = group_cpu(server) - server_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Run(seconds, cpu, server_cpu), done.stdout


class Tools:
    """The two clients, each with a HOME (and skopeo a blob-info cache) of its own per run."""

    def __init__(self, work: Path, server: Server) -> None:
        self.work = work
        self.server = server
        self.host = f"127.0.0.1:{server.port}"
        self.count = 0

    def _home(self) -> Path:
        self.count += 1
        home = self.work / "homes" / str(self.count)
        home.mkdir(parents=True)
        return home

    def dockyard_env(self) -> dict[str, str]:
        env = {**os.environ, "HOME": str(self._home())}
        env.pop("DOCKER_CONFIG", None)
        return env

    def dockyard(self, *args: str) -> tuple[Run, str]:
        command = [dockyard_python(), "-m", "dockyard.cli", *args]
        return timed(command, self.dockyard_env(), self.server)

    def skopeo(self, *args: str) -> tuple[Run, str]:
        home = self._home()
        # As root, skopeo keeps its blob-info cache in /var/lib/containers/cache for every run,
        # and mounts from the repositories it remembers; told it runs as another user
        # (containers/storage's _CONTAINERS_ROOTLESS_UID), it keeps it under XDG_DATA_HOME:
        # a fresh one per run.
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "_CONTAINERS_ROOTLESS_UID": "1000",
            "TMPDIR": str(home),
        }
        (home / "run").mkdir()
        command = ["skopeo", "--insecure-policy", "copy", "--quiet", *args]
        return timed(command, env, self.server)

    def push(self, tool: str, image: Image, repo: str) -> Run:
        source, target = f"oci:{image.layout}:{TAG}", f"{self.host}/{repo}:{TAG}"
        if tool == DOCKYARD:
            run, out = self.dockyard("push", "--json", source, target)
            done = json.loads(out)
            assert done["digest"] == image.digest, done
            assert set(done["blobs"].values()) == {"uploaded"}, Counter(done["blobs"].values())
            return run
        digestfile = self.work / "digest"
        run, _ = self.skopeo("--dest-tls-verify=false", "--digestfile", str(digestfile),
                             source, f"docker://{target}")  # fmt: skip
        assert digestfile.read_text().strip() == image.digest, "skopeo changed the image"
        return run

    def pull(self, tool: str, image: Image, repo: str, destination: Path) -> Run:
        shutil.rmtree(destination, ignore_errors=True)
        source, target = f"{self.host}/{repo}:{TAG}", f"oci:{destination}:{TAG}"
        if tool == DOCKYARD:
            run, _ = self.dockyard("pull", "--quiet", source, target)
        else:
            run, _ = self.skopeo("--src-tls-verify=false", f"docker://{source}", target)
        (top,) = json.loads((destination / "index.json").read_text())["manifests"]
        assert top["digest"] == image.digest, top
        blobs = (destination / "blobs").rglob("*")
        held = sum(path.stat().st_size for path in blobs if path.is_file())
        assert held == image.size, (tool, held, image.size)
        return run


def mounts(server: Server, repositories: list[str]) -> int:
    """Blobs the access log shows mounted into these repositories (a 201 to an upload POST)."""
    wanted = {f"POST /v2/{repo}/blobs/uploads/ 201" for repo in repositories}
    with server.log_file.open() as lines:
        return sum(1 for line in lines if any(w in line for w in wanted))


# ---------------------------------------------------------------------------------------
# Measuring


def _order(rounds: int) -> Iterator[tuple[int, tuple[str, str]]]:
    for number in range(rounds):
        yield number, (DOCKYARD, SKOPEO) if number % 2 == 0 else (SKOPEO, DOCKYARD)


def measure(work: Path, image: Image, rounds: int, profiler: str | None) -> Results:
    results = Results()
    server = start_dockyard(work, "Dockyard", {})
    try:
        tools = Tools(work, server)
        startups = [tools.dockyard("push", "--help")[0].seconds for _ in range(3)]
        results.startup = statistics.median(startups)
        stamp = time.strftime("%H%M%S")
        skopeo_repos = []
        for number, order in _order(rounds):
            repos = {tool: f"bench/client-{stamp}-{number}-{tool}" for tool in order}
            skopeo_repos.append(repos[SKOPEO])
            for tool in order:
                run = tools.push(tool, image, repos[tool])
                results.add(tool, "push", run)
                log(f"round {number}: {tool} push {run.seconds:.1f} s")
            for tool in order:
                run = tools.pull(tool, image, repos[DOCKYARD], work / f"pulled-{tool}")
                results.add(tool, "pull", run)
                log(f"round {number}: {tool} pull {run.seconds:.1f} s")
        results.skopeo_mounts = mounts(server, skopeo_repos)
        if profiler is not None:
            results.profiles = profile(tools, image, profiler, f"bench/client-{stamp}-profiled")
    finally:
        server.stop()
    return results


def profile(
    tools: Tools, image: Image, profiler: str, repo: str
) -> dict[str, list[tuple[str, float]]]:
    """One more dockyard push and pull under py-spy (on-CPU samples only): the functions that
    held the CPU most, by their own samples, as shares of all samples."""
    found = {}
    source, target = f"oci:{image.layout}:{TAG}", f"{tools.host}/{repo}:{TAG}"
    pulled = tools.work / "pulled-profiled"
    for action, args in (
        ("push", ["push", "--quiet", source, target]),
        ("pull", ["pull", "--quiet", target, f"oci:{pulled}:{TAG}"]),
    ):
        raw = tools.work / f"profile-{action}.txt"
        command = [profiler, "record", "--format", "raw", "--rate", "200", "--output", str(raw),
                   "--", dockyard_python(), "-m", "dockyard.cli", *args]  # fmt: skip
        timed(command, tools.dockyard_env(), tools.server)
        found[action] = _top_functions(raw)
    return found


def _top_functions(raw: Path, count: int = 8) -> list[tuple[str, float]]:
    """py-spy's collapsed stacks (`frame;frame;... samples`) summed by their last frame."""
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        name, _, where = leaf.partition(" (")
        if name.strip():  # frames py-spy could not name are left out of the shares
            own[f"{name} ({Path(where.split(':', 1)[0]).name})"] += int(samples)
    total = sum(own.values()) or 1
    return [(name, 100 * samples / total) for name, samples in own.most_common(count)]


# ---------------------------------------------------------------------------------------
# Report


def table(results: Results, image: Image) -> str:
    rows = [
        "| | dockyard s | skopeo s | dockyard MB/s | skopeo MB/s | ratio dockyard / skopeo "
        "(time) | dockyard CPU s (client / server) | skopeo CPU s (client / server) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for action in ("push", "pull"):
        ours, theirs = results.median(DOCKYARD, action), results.median(SKOPEO, action)
        cpu = {
            tool: f"{results.median(tool, action, 'client_cpu'):.1f} / "
            f"{results.median(tool, action, 'server_cpu'):.1f}"
            for tool in (DOCKYARD, SKOPEO)
        }
        rows.append(
            f"| {action} | {ours:.1f} | {theirs:.1f} | {image.size / MB / ours:.0f} | "
            f"{image.size / MB / theirs:.0f} | {ours / theirs:.2f}x | {cpu[DOCKYARD]} | "
            f"{cpu[SKOPEO]} |"
        )
    return "\n".join(rows)


def verdict(results: Results, action: str) -> str:
    ratio = results.median(DOCKYARD, action) / results.median(SKOPEO, action)
    return f"{'met' if ratio < 1 else 'not met'} ({ratio:.2f}x the time)"


def every_run(results: Results) -> str:
    lines = []
    for (tool, action), runs in sorted(results.runs.items()):
        seconds = ", ".join(f"{run.seconds:.1f}" for run in runs)
        lines.append(f"- {tool} {action}: [{seconds}] s")
    return "\n".join(lines)


def profiles(results: Results) -> str:
    if not results.profiles:
        return ""
    lines = [
        "",
        "py-spy, on-CPU samples of one more dockyard run (start-up included), by the function",
        "that held them; work done in C (hashing, file and socket writes) counts for the Python",
        "function that called it:",
        "",
    ]
    for action, top in results.profiles.items():
        shares = "; ".join(f"`{name}` {share:.0f}%" for name, share in top)
        lines.append(f"- {action}: {shares}")
    return "\n".join(lines) + "\n"


def render(
    results: Results, image: Image, layers: int, rounds: int, pressure: tuple[str, str]
) -> str:
    skopeo_version = subprocess.run(["skopeo", "--version"], capture_output=True, text=True)
    return f"""## Client push and pull

`make bench-client` (bench/client_bench.py), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: one image of
{layers} layers, {image.size / MB:.0f} MB in all (random bytes: a gzip of a tar of one file
each, stored blocks, so that nothing compresses), built once as an OCI layout, pushed to and
pulled from one Dockyard (started by the benchmark, default configuration: open, a worker per
CPU, access log on) by `dockyard push` / `dockyard pull` and by `skopeo copy`
(`oci:` ↔ `docker://`), each tool's default parallelism (dockyard 4 blobs at once, skopeo 6).
{rounds} rounds, the tools' order flipped each round; every push goes to a repository of its
own, new each round (skopeo with an empty blob-info cache, so it mounts nothing: blobs it
mounted: {results.skopeo_mounts}); every pull is of the image dockyard pushed that round, into
a directory removed first, and is checked whole (the top digest, the bytes held). Times are
wall clock from process start to exit, medians of the rounds; MB/s is the image's bytes over
that time. CPU is the client process's user + system time, and the server's (all its
processes) over the same time. The start-up of `dockyard push --help` alone:
{results.startup:.2f} s.

{table(results, image)}

The issue's aim, dockyard faster than skopeo: push {verdict(results, "push")}, pull
{verdict(results, "pull")}. Where the time goes: dockyard is one Python process with one event
loop, which reads the sockets and files; a pull hashes and writes each blob in a worker
thread, 4 MiB at a time, while the loop reads on (hashlib and the writes let go of the GIL),
so it can use both CPUs as skopeo's goroutines do. Every dockyard time includes the
interpreter's start-up and imports (above). Three client changes came from this benchmark's
profiles (2026-12-02): downloads are no longer re-cut into 1 MiB chunks (two copies of every
byte, and a fresh 1 MiB buffer page-faulted per chunk); the command line reads sockets up to
1 MiB at a time instead of httpcore's 64 KiB; and the hashing and writing moved off the loop,
gathered into 4 MiB groups (a hop to a thread per 64 KiB piece had cost more than it saved:
1.28x). Before the first two, a pull took 4.1 s against skopeo's 2.5 s (1.60x), with 2.6 s of
client CPU against 2.0 s; before the third, 2.1 s against 1.7 s (1.25x), CPU-bound on the
loop's thread (2.1 s of CPU in 2.1 s). Pushes were already about twice as fast.

Every run:

{every_run(results)}
{profiles(results)}
Machine: {machine_note()}; {skopeo_version.stdout.strip()}. CPU pressure from all work
(PSI `some avg60`): {pressure[0]} when the run started, {pressure[1]} when it ended; the
clients, the server and other work share the machine's two CPUs.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=LAYERS, help=f"(default {LAYERS})")
    parser.add_argument("--total-mb", type=int, default=TOTAL_MB, help=f"(default {TOTAL_MB})")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"(default {ROUNDS})")
    parser.add_argument(
        "--profile", action="store_true", help="profile one more dockyard push and pull (py-spy)"
    )
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy to profile with")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    return run_image_bench(parser.parse_args(argv), ["skopeo"], measure, render, SECTION)


R = TypeVar("R")


def run_image_bench(
    options: argparse.Namespace,
    tools: list[str],
    measure: Callable[[Path, Image, int, str | None], R],
    render: Callable[[R, Image, int, int, tuple[str, str]], str],
    section_title: str,
) -> int:
    """What an image benchmark's command does (this one's and mirror_bench's): check the tools
    and py-spy, build the image, measure, print the section and write it unless --no-write."""
    for tool in tools:
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run scripts/install-system-deps.sh", file=sys.stderr)
            return 2
    profiler = shutil.which(options.py_spy) if options.profile else None
    if options.profile and profiler is None:
        print(f"{options.py_spy} is missing: pip install py-spy", file=sys.stderr)
        return 2
    pressure_before = cpu_pressure() or "not reported"
    with tempfile.TemporaryDirectory(prefix="image-bench-") as folder:
        work = Path(folder)
        log(f"building {options.layers} layers, {options.total_mb} MB")
        image = build_image(work / "layout", options.layers, options.total_mb * MB)
        results = measure(work, image, options.rounds, profiler)
    pressure = (pressure_before, cpu_pressure() or "not reported")
    section = render(results, image, options.layers, options.rounds, pressure)
    print(section)
    if not options.no_write:
        rewrite_section(section_title, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
