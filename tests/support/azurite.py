"""Azurite, Microsoft's Azure Blob Storage emulator, on a free loopback port, for the Azure
driver's tests.

`azurite-blob` comes from npm: `scripts/install-node-deps.sh` (run by `make test`) installs it
into .cache/node. Only the blob service runs; its data lives in a temporary directory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx
from pydantic import SecretStr

from dockyard.config import AzureSettings, StorageSettings
from tests.support.servers import free_port, stop_group, wait_until_answers

# The emulator's well-known development account, published in Azurite's documentation.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
API_VERSION = "2021-08-06"

NODE_BIN = Path(__file__).resolve().parents[2] / ".cache" / "node" / "node_modules" / ".bin"


@dataclass(frozen=True)
class Azurite:
    """A container of a running Azurite; tests keep apart by prefix."""

    endpoint: str  # path-style: http://127.0.0.1:PORT/devstoreaccount1
    container: str
    account_name: str = ACCOUNT_NAME
    account_key: str = ACCOUNT_KEY

    def storage(self, prefix: str, chunk_size: int) -> StorageSettings:
        azure = AzureSettings(
            endpoint=self.endpoint,
            container=self.container,
            account_name=self.account_name,
            account_key=SecretStr(self.account_key),
            prefix=prefix,
            chunk_size=chunk_size,
        )
        return StorageSettings(driver="azure", azure=azure)


def azurite_binary() -> str:
    installed = NODE_BIN / "azurite-blob"
    found = str(installed) if installed.exists() else shutil.which("azurite-blob")
    if found is None:
        raise RuntimeError("no `azurite-blob`: run scripts/install-node-deps.sh (make test does)")
    return found


@contextmanager
def azurite_server(container: str = "dockyard") -> Iterator[Azurite]:
    """Start Azurite's blob service with one container; stop it and remove its data."""
    base = Path(tempfile.mkdtemp(prefix="dockyard-azurite-"))
    port = free_port()
    command = [
        azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(base / "data"), "--silent", "--loose", "--skipApiVersionCheck",
        "--disableProductStyleUrl",
        # Otherwise it sends usage data to Azure.
        "--disableTelemetry",
    ]  # fmt: skip
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT_NAME}:{ACCOUNT_KEY}"}
    log = base / "azurite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=base, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT_NAME}"
        # An unsigned request is refused, but only once the service listens.
        wait_until_answers(f"{endpoint}?comp=list", process, log)
        server = Azurite(endpoint, container)
        create_container(server)
        yield server
    finally:
        stop_group(process)
        shutil.rmtree(base, ignore_errors=True)


def create_container(server: Azurite) -> None:
    url = f"{server.endpoint}/{server.container}?restype=container"
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
    resource = f"/{server.account_name}/{server.account_name}/{server.container}"
    headers["Authorization"] = _shared_key(server, "PUT", headers, resource, "restype:container")
    httpx.put(url, headers=headers, timeout=10).raise_for_status()


def _shared_key(
    server: Azurite, method: str, headers: dict[str, str], resource: str, query: str
) -> str:
    # Shared Key of a body-less request: twelve empty standard headers, then the x-ms-* ones.
    ms_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers))
    to_sign = f"{method}\n" + "\n" * 11 + ms_headers + f"{resource}\n{query}"
    key = base64.b64decode(server.account_key)
    digest = hmac.new(key, to_sign.encode(), hashlib.sha256).digest()
    return f"SharedKey {server.account_name}:{base64.b64encode(digest).decode()}"
