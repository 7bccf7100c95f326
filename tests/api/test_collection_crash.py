"""Crash safety of collection: a server killed (SIGKILL, its whole process group) at random
moments while pushes run and collections run back to back with no grace period, and a
`dockyard gc` beside it killed with it, loses no blob of an acknowledged manifest and
corrupts none; what the interrupted work left behind is only garbage, and the next
collection removes it. DOCKYARD_GC_CRASH_ROUNDS sets the rounds (the issue's proof is 50)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.api import patch_chunk
from tests.support.collection import NO_GRACE, Outcome, collect_once_the_lease_is_free, dockyard
from tests.support.images import Image, make_image, put_manifest, sha256
from tests.support.servers import DockyardServer, dockyard_server

ROUNDS = int(os.environ.get("DOCKYARD_GC_CRASH_ROUNDS", "8"))
PUSHERS = 3
MIB = 1024 * 1024
LEASE = "3"
# Collections every ~0.6 s in each of two workers, nothing spared by a grace period; a lease
# that a killed collector holds runs out within a round.
CRASHING = {
    "DOCKYARD_REGISTRY__GC__GRACE_MINUTES": "0",
    "DOCKYARD_REGISTRY__GC__INTERVAL_MINUTES": "0.01",
    "DOCKYARD_REGISTRY__GC__LEASE_SECONDS": LEASE,
    "DOCKYARD_HTTP__WORKERS": "2",
}
# Shared by many images: deleted, uploaded again and mounted while collections delete them.
SHARED = [f"crash-shared-{n}".encode() * 2000 for n in range(6)]
# fsck's findings that are only leftovers of interrupted work (nothing uses them).
LEFTOVERS = {"stray-object", "stray-partial", "stray-upload"}


@dataclass(frozen=True)
class Pushed:
    """An acknowledged manifest, by digests only (the pushes' megabytes are not kept)."""

    repo: str
    tag: str
    digest: str
    manifest: bytes = field(repr=False)
    blobs: tuple[str, ...] = field(repr=False)

    @classmethod
    def of(cls, repo: str, tag: str, image: Image) -> Pushed:
        blobs = tuple(sha256(blob) for blob in (image.config, *image.layers))
        return cls(repo, tag, image.digest, image.manifest, blobs)


@dataclass
class Ledger:
    """The manifests the server acknowledged (201) and no one asked to delete since."""

    acknowledged: dict[str, Pushed] = field(default_factory=dict)
    refusals: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, pushed: Pushed) -> None:
        with self.lock:
            self.acknowledged[pushed.digest] = pushed

    def forget_one(self, rng: random.Random) -> Pushed | None:
        with self.lock:
            if not self.acknowledged:
                return None
            return self.acknowledged.pop(rng.choice(sorted(self.acknowledged)))


def new_image(rng: random.Random) -> Image:
    image = make_image(uuid.uuid4().hex, layers=0)
    own = rng.randbytes(rng.choice((16 * 1024, MIB, 3 * MIB)))
    image.layers = [rng.choice(SHARED), own]
    return image


def upload(client: httpx.Client, repo: str, blob: bytes, rng: random.Random) -> int:
    """One blob by a mount, a monolithic POST or a chunked upload, at random."""
    digest = sha256(blob)
    way = rng.random()
    if way < 0.2:
        source = f"crash/r{rng.randrange(3)}"
        mounted = client.post(
            f"/v2/{repo}/blobs/uploads/", params={"mount": digest, "from": source}
        )
        if mounted.status_code != 202:
            return mounted.status_code
        return client.put(
            mounted.headers["location"], params={"digest": digest}, content=blob
        ).status_code
    if way < 0.6 or len(blob) < MIB:
        answer = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=blob)
        return answer.status_code
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    if started.status_code != 202:
        return started.status_code
    location = started.headers["location"]
    for start in range(0, len(blob), MIB):
        patched = patch_chunk(client, location, blob[start : start + MIB], start)
        if patched.status_code != 202:
            return patched.status_code
        location = patched.headers["location"]
    return client.put(location, params={"digest": digest}).status_code


def push(client: httpx.Client, rng: random.Random, ledger: Ledger, number: int) -> None:
    """Push an image (its blobs again when a collection took one before its manifest, as a
    client retrying would), sometimes delete an acknowledged one."""
    repo, image = f"crash/r{rng.randrange(3)}", new_image(rng)
    tag = f"t-{image.digest[7:19]}"
    for _ in range(3):
        for blob in (image.config, *image.layers):
            status = upload(client, repo, blob, rng)
            if status != 201:
                ledger.refusals[status] += 1
        answer = put_manifest(client, repo, tag, image)
        if answer.status_code == 201:
            ledger.add(Pushed.of(repo, tag, image))
            break
        ledger.refusals[answer.status_code] += 1
    if number % 4 == 3 and (doomed := ledger.forget_one(rng)) is not None:
        # Forgotten first: a delete the kill cuts may or may not have happened.
        client.delete(f"/v2/{doomed.repo}/manifests/{doomed.digest}")


def pusher(url: str, seed: int, ledger: Ledger, stop: threading.Event) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30) as client:
        number = 0
        while not stop.is_set():
            try:
                push(client, rng, ledger, number)
            except httpx.TransportError:
                return  # killed under the request
            number += 1


class CollectingBeside:
    """`dockyard gc` over and over beside the server (most runs find the lease taken), until
    killed with it."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.stop = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        command = [sys.executable, "-m", "dockyard.cli", "gc", "--data", str(self.data)]
        while not self.stop.is_set():
            self.process = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, **NO_GRACE, "DOCKYARD_REGISTRY__GC__LEASE_SECONDS": LEASE},
                start_new_session=True,
            )
            self.process.wait()

    def kill(self) -> None:
        self.stop.set()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def crash_round(server: DockyardServer, data: Path, ledger: Ledger, rng: random.Random) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=pusher, args=(server.url, rng.randrange(1 << 30), ledger, stop))
        for _ in range(PUSHERS)
    ]
    for thread in threads:
        thread.start()
    beside = CollectingBeside(data) if rng.random() < 0.5 else None
    time.sleep(rng.uniform(0.3, 4.0))
    server.stop(signal.SIGKILL)
    if beside is not None:
        beside.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()


def findings(outcome: Outcome) -> Counter[str]:
    """fsck's problems by kind."""
    return Counter(line.split()[0] for line in outcome.lines if not line.startswith("checked "))


def leftovers(outcome: Outcome) -> set[str]:
    """The storage keys of the leftovers fsck found."""
    found = set()
    for line in outcome.lines:
        kind, _, rest = line.partition(" ")
        if kind in LEFTOVERS:
            found.add(rest.split(":")[0])
    return found


def stored_size(data: Path, key: str) -> int:
    path = data / "storage" / key
    paths = path.rglob("*") if path.is_dir() else [path]
    return sum(item.stat().st_size for item in paths if item.is_file())


def assert_pullable_in_full(client: httpx.Client, pushed: Pushed) -> None:
    for reference in (pushed.tag, pushed.digest):
        manifest = client.get(f"/v2/{pushed.repo}/manifests/{reference}")
        assert manifest.status_code == 200, (pushed, reference, manifest.text)
        assert manifest.content == pushed.manifest
    for digest in pushed.blobs:
        got = client.get(f"/v2/{pushed.repo}/blobs/{digest}")
        assert got.status_code == 200, (pushed, digest, got.text)
        assert sha256(got.content) == digest


def test_kills_during_pushes_and_collection_lose_no_acknowledged_blob(data_dir: Path) -> None:
    rng = random.Random(int(os.environ.get("DOCKYARD_GC_CRASH_SEED", "12")))
    ledger = Ledger()
    found: Counter[str] = Counter()
    left_bytes = collections = 0
    left: set[str] = set()
    for _ in range(ROUNDS):
        with dockyard_server(data_dir, env=CRASHING) as server:
            crash_round(server, data_dir, ledger, rng)
            collections += server.log.read_text().count("INFO dockyard.gc garbage collection:")
        # What the kill left: leftovers at most, never a corrupt or missing blob.
        checked = dockyard("fsck", data_dir, {})
        problems = findings(checked)
        assert set(problems) <= LEFTOVERS, checked.lines
        found += problems
        left = leftovers(checked)
        left_bytes += sum(stored_size(data_dir, key) for key in left)
    # The next collection removes every leftover of the last kill, and nothing more is wrong.
    collected = collect_once_the_lease_is_free(data_dir, {}, float(LEASE) + 5)
    assert left <= {name.split()[1] for name in collected.deleted()}, collected.lines
    clean = dockyard("fsck", data_dir, {})
    assert clean.status == 0, clean.lines
    assert ledger.acknowledged, "no push was acknowledged: the rounds proved nothing"
    with dockyard_server(data_dir) as server, httpx.Client(base_url=server.url) as client:
        for pushed in ledger.acknowledged.values():
            assert_pullable_in_full(client, pushed)
    print(
        f"\n{ROUNDS} rounds: {len(ledger.acknowledged)} acknowledged manifests pulled whole; "
        f"{collections} scheduled collections deleted something; leftovers found by fsck after "
        f"the kills: {dict(found)} ({left_bytes} bytes); refusals: {dict(ledger.refusals)}; "
        f"the last gc: {collected.lines[-1]}; fsck: {clean.lines[-1]}"
    )
