"""Dockyard serving HTTPS with certificates a test made, and how clients reach it."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509

from tests.support.certificates import CertificateAuthority, Issued
from tests.support.servers import DockyardServer, free_port, spawn_dockyard


def client_context(ca: CertificateAuthority, client: Issued | None = None) -> ssl.SSLContext:
    """Trusts only `ca`; presents `client`'s certificate when given."""
    context = ssl.create_default_context(cafile=str(ca.path))
    if client is not None:
        context.load_cert_chain(client.certificate, client.key)
    return context


def peer_serial(port: int, context: ssl.SSLContext) -> int:
    """The serial number of the certificate a new TLS connection is served."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as connection,
    ):
        der = connection.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


@contextmanager
def https_dockyard(
    data: Path,
    settings: dict[str, Any],
    context: ssl.SSLContext,
    env: dict[str, str] | None = None,
) -> Iterator[DockyardServer]:
    """`dockyard serve` with `settings` as its YAML file (`http.tls` among them), on a free
    loopback port, once it answers over TLS with `context`."""
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    config = data.parent / f"{data.name}-{port}.yaml"
    config.write_text(yaml.safe_dump(settings))
    process, log = spawn_dockyard(
        data, port, "--config", str(config), env={"DOCKYARD_AUTH__MODE": "none", **(env or {})}
    )
    server = DockyardServer(f"https://127.0.0.1:{port}", f"127.0.0.1:{port}", data, log, process)
    try:
        wait_for_https(f"{server.url}/healthz", context, process, log)
        yield server
    finally:
        server.stop()
        server.log_check.done = True


def wait_for_https(
    url: str, verify: ssl.SSLContext | bool, process: subprocess.Popen[bytes], log: Path
) -> None:
    """Until `url` answers over TLS; RuntimeError with the log if the process exits first."""
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, verify=verify, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no TLS answer at {url}:\n{log.read_text()}") from None
            time.sleep(0.1)


def tls_settings(served: Issued, client_cas: list[Path] | None = None) -> dict[str, Any]:
    tls: dict[str, Any] = {"certificate": str(served.certificate), "key": str(served.key)}
    if client_cas:
        tls["client_cas"] = [str(path) for path in client_cas]
    return {"http": {"tls": tls}}
