"""Garbage collection: Dockyard online against Distribution's offline `docker-registry
garbage-collect`, on the same images.

Both registries start side by side (filesystem storage under one temporary directory, deletes
enabled, no auth, access logs off; Dockyard's scheduled collection off, so that `dockyard gc`
does all the work). The same IMAGES images (a config and LAYERS small layers of random bytes
each, plus one of SHARED base layers) are pushed to both over HTTP, POST then PUT ?digest= per
blob as a client does, by several threads; then the manifests of every other image are deleted
through the API, so that half the blobs are garbage. Then each collects, timed, while a pusher
tries to push new images all along:

  Dockyard: `dockyard gc` (grace period 0) while the server serves as usual;
  Distribution: restarted read-only (`storage.maintenance.readonly`), the best its
  documentation allows (`garbage-collect` needs the registry stopped or read-only), and
  `docker-registry garbage-collect config.yml` run beside it; then restarted read-write.

Reported: the collection's time, blobs (files) and bytes in the storage before and after, the
pushes the pusher completed and those refused meanwhile, and that every kept image still pulls.
Run it with `make bench-gc` or `.venv/bin/python -m bench.gc_bench [--images N]`; it prints the
section and rewrites the "Garbage collection" section of docs/benchmarks.md (`--no-write` to
skip). About 50 minutes with the default scale (10,000 images; pushing them takes most of it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.registry_bench import (
    CONFIG_TYPE,
    DISTRIBUTION,
    DOCKYARD,
    LAYER_TYPE,
    MANIFEST_TYPE,
    Server,
    _spawn,
    cpu_pressure,
    dockyard_python,
    free_port,
    log,
    machine_note,
    rewrite_section,
    start_dockyard,
)

SECTION = "## Garbage collection"
IMAGES = 10_000  # with a config and LAYERS each: the 10,000 images, 100,000 blobs
LAYERS = 9  # own layers per image, besides one of the shared base layers
SHARED = 20
LAYER_BYTES = (1024, 16 * 1024)
REPOSITORIES = 50
PUSH_THREADS = 4
# Longer than any push of the pusher's images takes (a day by default): a blob uploaded for a
# manifest not yet put is spared.
GRACE_MINUTES = 0.1
DOCKYARD_ENV = {
    "DOCKYARD_REGISTRY__GC__ENABLED": "false",  # `dockyard gc` does all the work
    "DOCKYARD_REGISTRY__GC__GRACE_MINUTES": str(GRACE_MINUTES),
}


@dataclass(frozen=True)
class Image:
    repo: str
    tag: str
    blobs: tuple[bytes, ...]  # config first

    @property
    def manifest(self) -> bytes:
        config, *layers = self.blobs
        document = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": _descriptor(CONFIG_TYPE, config),
            "layers": [_descriptor(LAYER_TYPE, layer) for layer in layers],
        }
        return json.dumps(document, indent=3).encode()

    @property
    def digest(self) -> str:
        return _digest(self.manifest)


@dataclass
class Collection:
    """One registry's collection: what it took, what it freed, what pushes saw meanwhile."""

    seconds: float  # the collection commands' wall time
    window: float  # from the first command's start to the last one's end
    bytes_before: int  # the storage directory's, before and after
    bytes_after: int
    garbage: int  # blobs only deleted images used (Distribution: their manifests too)
    removed: int  # of those, gone afterwards
    removed_bytes: int
    pushed: int  # images pushed in full meanwhile
    refused: Counter[str] = field(default_factory=Counter)  # answers refusing a push step
    kept_pull: bool = False  # every kept image pulled in full afterwards


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, data: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}


def make_images(count: int, rng: random.Random, prefix: str = "bench/gc") -> Iterator[Image]:
    shared = [rng.randbytes(rng.randint(*LAYER_BYTES)) for _ in range(SHARED)]
    for number in range(count):
        identity = {"architecture": "amd64", "os": "linux", "image": f"{prefix}-{number}"}
        config = json.dumps(identity).encode()  # the pusher's differ from the collected ones
        own = [rng.randbytes(rng.randint(*LAYER_BYTES)) for _ in range(LAYERS)]
        blobs = (config, rng.choice(shared), *own)
        yield Image(f"{prefix}-{number % REPOSITORIES}", f"v{number}", blobs)


class PushRefused(Exception):
    def __init__(self, step: str, status: int) -> None:
        super().__init__(f"{step} answered {status}")
        self.answer = f"{step} {status}"


def push_blob(client: httpx.Client, repo: str, data: bytes) -> None:
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    if started.status_code != 202:
        raise PushRefused("upload POST", started.status_code)
    # Merged into Distribution's query (its `_state`), not replacing it.
    location = httpx.URL(started.headers["location"]).copy_merge_params({"digest": _digest(data)})
    finished = client.put(
        location,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if finished.status_code != 201:
        raise PushRefused("upload PUT", finished.status_code)


def push_image(client: httpx.Client, image: Image) -> None:
    for blob in image.blobs:
        push_blob(client, image.repo, blob)
    answer = client.put(
        f"/v2/{image.repo}/manifests/{image.tag}",
        content=image.manifest,
        headers={"Content-Type": MANIFEST_TYPE},
    )
    if answer.status_code != 201:
        raise PushRefused("manifest PUT", answer.status_code)


def push_all(server: Server, images: list[Image]) -> float:
    started = time.monotonic()

    def work(share: int) -> None:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            for image in images[share::PUSH_THREADS]:
                push_image(client, image)

    with ThreadPoolExecutor(PUSH_THREADS) as pool:
        list(pool.map(work, range(PUSH_THREADS)))
    return time.monotonic() - started


def delete_all(server: Server, images: list[Image]) -> None:
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for image in images:
            answer = client.delete(f"/v2/{image.repo}/manifests/{image.digest}")
            if answer.status_code != 202:
                raise RuntimeError(f"{server.name}: DELETE answered {answer.status_code}")


def all_pull(server: Server, images: list[Image]) -> bool:
    """Every image's manifest and blobs read back whole (PUSH_THREADS at once)."""

    def pulls(share: int) -> bool:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            return all(_pulls(client, image) for image in images[share::PUSH_THREADS])

    with ThreadPoolExecutor(PUSH_THREADS) as pool:
        return all(pool.map(pulls, range(PUSH_THREADS)))


def _pulls(client: httpx.Client, image: Image) -> bool:
    got = client.get(f"/v2/{image.repo}/manifests/{image.tag}", headers={"Accept": MANIFEST_TYPE})
    if got.status_code != 200 or got.content != image.manifest:
        return False
    return all(
        client.get(f"/v2/{image.repo}/blobs/{_digest(blob)}").content == blob
        for blob in image.blobs
    )


class Pusher:
    """Pushes new images one after another until stopped; counts what went through."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.images = make_images(1_000_000, rng, prefix="bench/during")
        self.stop = threading.Event()
        self.pushed = 0
        self.refused: Counter[str] = Counter()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            for image in self.images:
                if self.stop.is_set():
                    return
                try:
                    push_image(client, image)
                    self.pushed += 1
                except PushRefused as refused:
                    self.refused[refused.answer] += 1
                    time.sleep(0.05)
                except httpx.TransportError:
                    self.refused["connection refused"] += 1
                    time.sleep(0.05)

    def __enter__(self) -> Pusher:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def storage(root: Path) -> tuple[int, int]:
    """(files, bytes) under a storage root."""
    files = [path for path in root.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def garbage_blobs(images: list[Image], with_manifests: bool) -> dict[str, int]:
    """Digest and size of each blob only the deleted images (every other one) use."""
    kept = {_digest(blob) for image in images[::2] for blob in image.blobs}
    found = {}
    for image in images[1::2]:
        for blob in image.blobs:
            if _digest(blob) not in kept:
                found[_digest(blob)] = len(blob)
        if with_manifests:
            found[image.digest] = len(image.manifest)
    return found


def removed(garbage: dict[str, int], path: Callable[[str], Path]) -> tuple[int, int]:
    gone = [
        size
        for digest, size in garbage.items()
        if not path(digest.removeprefix("sha256:")).exists()
    ]
    return len(gone), sum(gone)


def collect_dockyard(
    work: Path, server: Server, images: list[Image], rng: random.Random
) -> Collection:
    """Three `dockyard gc` runs a grace period apart: the first marks the links no manifest
    uses, the second deletes them and marks their blobs, the third deletes the blobs."""
    data = work / DOCKYARD / "data"
    garbage = garbage_blobs(images, with_manifests=False)
    before = storage(data / "storage")[1]
    command = [dockyard_python(), "-m", "dockyard.cli", "gc", "--data", str(data)]
    seconds = 0.0
    with Pusher(server.base, rng) as pusher:
        time.sleep(0.5)  # pushes under way before the collection starts
        started = time.monotonic()
        for number in range(3):
            if number:
                time.sleep(GRACE_MINUTES * 60 + 0.5)
            seconds += timed(command, {**os.environ, **DOCKYARD_ENV})
        window = time.monotonic() - started
    count, size = removed(
        garbage, lambda hex: data / "storage" / "blobs" / "sha256" / hex[:2] / hex
    )
    after = storage(data / "storage")[1]
    return Collection(
        seconds, window, before, after, len(garbage), count, size, pusher.pushed, pusher.refused
    )


def distribution_config(work: Path, port: int, read_only: bool) -> Path:
    root = work / DISTRIBUTION
    config = root / ("config-readonly.yml" if read_only else "config.yml")
    maintenance = "  maintenance: {readonly: {enabled: true}}\n" if read_only else ""
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn, accesslog: {disabled: true}}\n"
        "storage:\n"
        "  cache: {blobdescriptor: inmemory}\n"
        f"  filesystem: {{rootdirectory: {root / 'data'}}}\n"
        "  delete: {enabled: true}\n"
        f"{maintenance}"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    return config


def start_distribution(work: Path, port: int, read_only: bool = False) -> Server:
    (work / DISTRIBUTION).mkdir(exist_ok=True)
    config = distribution_config(work, port, read_only)
    name = f"{DISTRIBUTION}{' (read-only)' if read_only else ''}"
    log_file = work / DISTRIBUTION / f"server-{'ro' if read_only else 'rw'}-{time.time_ns()}.log"
    return _spawn(name, ["docker-registry", "serve", str(config)], log_file, port, dict(os.environ))


def collect_distribution(
    work: Path, server: Server, images: list[Image], rng: random.Random
) -> tuple[Collection, Server]:
    """Restart read-only, collect beside it, restart read-write; the new server."""
    data = work / DISTRIBUTION / "data"
    garbage = garbage_blobs(images, with_manifests=True)
    before = storage(data)[1]
    port = server.port
    config = distribution_config(work, port, read_only=False)
    with Pusher(server.base, rng) as pusher:
        time.sleep(0.5)
        started = time.monotonic()
        server.stop()
        read_only = start_distribution(work, port, read_only=True)
        seconds = timed(["docker-registry", "garbage-collect", str(config)], dict(os.environ))
        read_only.stop()
        server = start_distribution(work, port)
        window = time.monotonic() - started
    blobs = data / "docker" / "registry" / "v2" / "blobs" / "sha256"
    count, size = removed(garbage, lambda hex: blobs / hex[:2] / hex / "data")
    after = storage(data)[1]
    collection = Collection(
        seconds, window, before, after, len(garbage), count, size, pusher.pushed, pusher.refused
    )
    return collection, server


def measure(work: Path, images: list[Image]) -> dict[str, Collection]:
    rng = random.Random(7)
    servers: list[Server] = []
    try:
        dockyard = start_dockyard(work, DOCKYARD, DOCKYARD_ENV)
        servers.append(dockyard)
        distribution = start_distribution(work, free_port())
        servers.append(distribution)
        for server in (dockyard, distribution):
            seconds = push_all(server, images)
            log(f"{server.name}: pushed {len(images):,} images in {seconds:.0f} s")
            delete_all(server, images[1::2])
        results = {DOCKYARD: collect_dockyard(work, dockyard, images, rng)}
        log(f"{DOCKYARD}: dockyard gc {results[DOCKYARD].seconds:.1f} s")
        results[DISTRIBUTION], distribution = collect_distribution(work, distribution, images, rng)
        servers[1] = distribution
        for name, server in ((DOCKYARD, dockyard), (DISTRIBUTION, distribution)):
            results[name].kept_pull = all_pull(server, images[::2])
        return results
    finally:
        for server in servers:
            server.stop()


def table(results: dict[str, Collection]) -> str:
    lines = [
        "| | collection (s) | read-only or down (s) | garbage blobs removed | MB reclaimed "
        "| storage MB before / after | pushes completed meanwhile | pushes refused meanwhile "
        "| kept images pull |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, c in results.items():
        refused = ", ".join(f"{what}: {count}" for what, count in c.refused.items()) or "none"
        down = f"{c.window:.1f}" if name == DISTRIBUTION else "0"
        lines.append(
            f"| {name} | {c.seconds:.1f} | {down} | {c.removed:,} of {c.garbage:,} "
            f"| {c.removed_bytes / 1e6:.1f} "
            f"| {c.bytes_before / 1e6:.1f} / {c.bytes_after / 1e6:.1f} "
            f"| {c.pushed} | {refused} | {'yes' if c.kept_pull else 'NO'} |"
        )
    return "\n".join(lines)


def render(results: dict[str, Collection], images: int, pressure: str) -> str:
    blobs = images * (LAYERS + 1) + SHARED
    return f"""## Garbage collection

`make bench-gc` (bench/gc_bench.py), {datetime.now(UTC):%Y-%m-%d}: {images:,} images
({blobs:,} distinct blobs: a config and {LAYERS} layers of 1 to 16 KiB of random bytes each,
plus one of {SHARED} shared base layers; over {REPOSITORIES} repositories) pushed over HTTP to
both registries side by side (POST, then PUT ?digest= per blob; {PUSH_THREADS} threads), then
every other image's manifest deleted through the API, so that about half the blobs are
garbage. Then each collects while a pusher pushes new images one after another all along:

- Dockyard: `dockyard gc` while the server serves as usual, run three times
  {GRACE_MINUTES * 60:.0f} s apart (the grace period, shortened from a day so the benchmark
  does not wait; still longer than any push): the first run marks the links no manifest uses,
  the second deletes them and marks their blobs, the third deletes the blobs. The time is the
  three runs' wall time, process start included, without the waits.
- Distribution: what its documentation requires for `docker-registry garbage-collect`:
  restarted read-only (`storage.maintenance.readonly`), collected beside it, restarted
  read-write. The time is `garbage-collect`'s; "read-only or down" runs from the first stop to
  the read-write server answering.

Garbage blobs are those only deleted images used (Distribution's count includes the deleted
manifests, which it stores as blobs; Dockyard keeps manifests in its database and deletes them
with the API call); "MB reclaimed" sums their sizes. Storage before and after is the whole
storage directory (Distribution's link files included) and after includes the images pushed
meanwhile.{_scale_note(images)}

{table(results)}

Machine: {machine_note()}. CPU pressure from all work (PSI `some avg60`) at the end: {pressure};
other work shared the machine's two CPUs throughout.
"""


def _scale_note(images: int) -> str:
    if images >= IMAGES:
        return ""
    return (
        f" The issue asks for {IMAGES:,} images; this run pushed {images:,} (`--images` sets it)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=IMAGES, help=f"images (default {IMAGES})")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    options = parser.parse_args(argv)
    if shutil.which("docker-registry") is None:
        print("docker-registry is missing: run scripts/install-system-deps.sh", file=sys.stderr)
        return 2
    images = list(make_images(options.images, random.Random(1)))
    with tempfile.TemporaryDirectory(prefix="gc-bench-") as work:
        results = measure(Path(work), images)
    section = render(results, options.images, cpu_pressure() or "not reported")
    print(section)
    if not options.no_write:
        rewrite_section(SECTION, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
