"""The reference registry (CNCF Distribution 2.8.2, Debian's `docker-registry`) as a subprocess
on a free loopback port, with RECIPES.md's configuration plus what a test adds."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.auth.keys import generated_key_paths
from tests.support.clients import missing
from tests.support.servers import DockyardServer, dockyard_server, free_port, wait_until_answers


@dataclass
class Distribution:
    url: str
    host: str


@contextmanager
def distribution_server(
    root: Path, extra_config: str = "", port: int | None = None
) -> Iterator[Distribution]:
    """`extra_config`: top-level YAML appended to the configuration (e.g. an `auth:` section);
    `port`: a given one (the same server started again), else a free one."""
    reason = missing("docker-registry")
    if reason is not None:
        pytest.fail(f"{reason} (make test installs the Debian packages)")
    port = port or free_port()
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        "storage:\n"
        "  cache: {blobdescriptor: inmemory}\n"
        f"  filesystem: {{rootdirectory: {root / 'data'}}}\n"
        "  delete: {enabled: true}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n" + extra_config
    )
    log = root / "distribution.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/v2/", process, log)
        yield Distribution(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def distribution_trusting_dockyard(
    base: Path, users: Path, service: str, issuer: str
) -> Iterator[tuple[DockyardServer, Distribution]]:
    """Dockyard as a standalone token server (`auth.mode: token` over the htpasswd `users`)
    and a Distribution that trusts its tokens: the realm is Dockyard's /token, and the bundle
    the certificate of the key Dockyard generated (none was configured)."""
    env = {
        "DOCKYARD_AUTH__MODE": "token",
        "DOCKYARD_AUTH__TOKEN__SERVICE": service,
        "DOCKYARD_AUTH__TOKEN__ISSUER": issuer,
        "DOCKYARD_AUTH__HTPASSWD__PATH": str(users),
    }
    with dockyard_server(base / "dockyard", env=env) as dockyard:
        certificate = generated_key_paths(dockyard.data / "auth")[1]
        auth = (
            "auth:\n  token: {"
            f"realm: '{dockyard.url}/token', service: {service}, issuer: {issuer}, "
            f"rootcertbundle: {certificate}}}\n"
        )
        with distribution_server(base / "distribution", auth) as distribution:
            yield dockyard, distribution
