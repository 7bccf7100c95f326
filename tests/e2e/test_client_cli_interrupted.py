"""A `dockyard push` SIGKILLed halfway through a big layer, run again to completion, against
Dockyard and Distribution: the second run succeeds, skips (HEAD) the blobs the first one
finished, and the image pulls back with every digest verified. What the second run sent again
is measured at a proxy: the interrupted layer goes again from byte zero, as the client keeps no
upload session across processes (a monolithic PUT, whose session URL dies with the process)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_client_cli import dockyard, succeeded
from tests.support.distribution import distribution_server
from tests.support.oci_layout import Layout
from tests.support.servers import DockyardServer
from tests.support.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.e2e

MiB = 1 << 20
BIG = 25 * MiB  # random bytes: incompressible
SMALL = 1 * MiB
RATE = 4 * MiB  # bytes a second towards the registry while the first push runs
KILL_AT = 8 * MiB  # of the big layer through the proxy


@pytest.fixture(params=["dockyard", "distribution"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """host:port of an open registry: the session's Dockyard, or a Distribution of its own."""
    if request.param == "dockyard":
        server: DockyardServer = request.getfixturevalue("server")
        yield server.host
        return
    with distribution_server(tmp_path / "distribution") as distribution:
        yield distribution.host


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MiB):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def has_blob(registry: str, repo: str, digest: str) -> bool:
    return httpx.head(f"http://{registry}/v2/{repo}/blobs/{digest}").status_code == 200


def test_a_push_killed_halfway_finishes_when_run_again(
    registry: str, repo: str, tmp_path: Path
) -> None:
    """The first push goes through a proxy slowed to 4 MiB/s and is SIGKILLed once the small
    layer is in the repository and 8 MiB of the big one went through; the second, at full
    speed, skips what is there and sends the big layer again, whole."""
    layout = Layout(tmp_path / "layout")
    image = layout.add_image([{"small.bin": os.urandom(SMALL)}, {"big.bin": os.urandom(BIG)}])
    layout.tag("v1", image)
    manifest = json.loads(layout.read_blob(image["digest"]))
    small, big = manifest["layers"]
    home = tmp_path / "home"
    home.mkdir()

    with tcp_proxy(registry, rate=RATE, slowed="requests") as proxy:
        reference = f"{proxy.host}/{repo}:v1"
        first = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli", "push", "--quiet", f"oci:{layout.path}:v1",
             reference],
            env={**{k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"},
                 "HOME": str(home)},
            cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (
                max(proxy.sent, default=0) >= KILL_AT and has_blob(registry, repo, small["digest"])
            ):
                assert first.poll() is None, "the first push ended before it was killed"
                assert time.monotonic() < deadline, f"only {proxy.sent} bytes sent in 60 s"
                time.sleep(0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert max(proxy.sent) < big["size"], "the big layer went through before the kill"
        assert not has_blob(registry, repo, big["digest"])
        assert httpx.get(f"http://{registry}/v2/{repo}/manifests/v1").status_code == 404

        proxy.rate = None
        before = len(proxy.sent)
        second = json.loads(
            succeeded(dockyard(home, "push", "--json", f"oci:{layout.path}:v1", reference))
        )
        resent = sum(proxy.sent[before:])

    assert second["digest"] == image["digest"]
    assert second["blobs"][small["digest"]] == "exists"  # HEAD: not sent again
    assert second["blobs"][manifest["config"]["digest"]] == "exists"
    assert second["blobs"][big["digest"]] == "uploaded"
    # The big layer again from byte zero (no resume across processes), and nothing of the
    # small one: its bytes plus requests' headers and the manifest, well under a layer more.
    assert big["size"] <= resent < big["size"] + SMALL // 4, resent

    # Pulled back (straight from the registry): every blob there, every digest verified.
    pulled = tmp_path / "pulled"
    back = json.loads(
        succeeded(dockyard(home, "pull", "--json", f"{registry}/{repo}:v1", f"oci:{pulled}:v1"))
    )
    assert back["digest"] == image["digest"]
    for blob in (manifest["config"], small, big):
        path = pulled / "blobs" / "sha256" / blob["digest"].removeprefix("sha256:")
        assert path.stat().st_size == blob["size"]
        assert sha256_file(path) == blob["digest"]
    top = pulled / "blobs" / "sha256" / image["digest"].removeprefix("sha256:")
    assert sha256_file(top) == image["digest"]
