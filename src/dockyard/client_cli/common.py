"""What every client command shares: the connection options (plain HTTP, CA and client
certificate per registry), credentials from docker's config, the event loop, and the one-line
error and exit status."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TypeAlias

import httpcore

from dockyard.client import (
    CredentialsError,
    DockerConfig,
    HostOptions,
    InvalidReference,
    Reference,
    RegistryClient,
    RegistryError,
)
from dockyard.client.layout import LayoutError
from dockyard.client.reference import DOCKER_HUB, split_registry

# Where docker (and podman) look for a registry's `ca.crt`, `client.cert` and `client.key`.
DEFAULT_CERTS_DIR = Path("/etc/docker/certs.d")

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# httpcore reads answers 64 KiB at a time, and each piece climbs through h11, httpcore, anyio
# and httpx before it is hashed and written. Reads of up to 1 MiB save about a quarter of a
# pull's CPU (a 500 MB pull: 1.4-1.6 s down to 1.0-1.1 s; docs/benchmarks.md, "Client push and
# pull"). httpcore has no setting per client, only this class attribute: the command line, a
# process of its own, sets it; the library leaves it alone.
SOCKET_READ_BYTES = 1 << 20


def connection_options() -> argparse.ArgumentParser:
    """The options of every command that talks to a registry."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="plain HTTP to the registries named (loopback hosts get it anyway)",
    )
    group.add_argument("--ca-file", type=Path, help="CA certificate to trust for the registries")
    group.add_argument("--cert", type=Path, help="client certificate (PEM) for the registries")
    group.add_argument("--key", type=Path, help="the client certificate's key (PEM)")
    group.add_argument(
        "--certs-dir",
        type=Path,
        help="per-registry TLS files: DIR/HOST[:PORT]/{ca.crt,client.cert,client.key} "
        "(default $DOCKYARD_CERTS_DIR or /etc/docker/certs.d, as docker)",
    )
    group.add_argument("--json", action="store_true", help="machine-readable output")
    return options


def host_options(args: argparse.Namespace, hosts: Iterable[str]) -> dict[str, HostOptions]:
    certs = args.certs_dir or Path(os.environ.get("DOCKYARD_CERTS_DIR") or DEFAULT_CERTS_DIR)
    found: dict[str, HostOptions] = {}
    for host in hosts:
        folder = certs / host
        ca = args.ca_file or _if_file(folder / "ca.crt")
        cert = args.cert or _if_file(folder / "client.cert")
        key = args.key or _if_file(folder / "client.key")
        found[host] = HostOptions(True if args.insecure else None, ca, cert, key)
    return found


def registry_host(text: str) -> str:
    """A registry as a user names it (`localhost:5000`, `https://ghcr.io`, `docker.io`)."""
    host = text.removeprefix("https://").removeprefix("http://").rstrip("/")
    host = host.removesuffix("/v1").removesuffix("/v2")
    if "/" in host or not host:
        raise InvalidReference(f"invalid registry {text!r}")
    registry, _ = split_registry(f"{host}/x")
    return DOCKER_HUB if registry == DOCKER_HUB else host


def parse(text: str) -> Reference:
    return Reference.parse(text)


def run(
    args: argparse.Namespace,
    hosts: Iterable[str],
    work: Callable[[RegistryClient], Awaitable[int]],
    client: RegistryClient | None = None,
) -> int:
    """Run `work` with a client for `hosts`; every failure is one line on stderr and exit 1."""

    _read_larger_pieces()

    async def main() -> int:
        async with client or RegistryClient(DockerConfig(), host_options(args, hosts)) as used:
            return await work(used)

    return guarded(lambda: asyncio.run(main()))


def guarded(action: Callable[[], int]) -> int:
    try:
        return action()
    except (
        RegistryError,
        InvalidReference,
        CredentialsError,
        LayoutError,
        ValueError,
        OSError,
    ) as error:
        fail(str(error) or type(error).__name__)
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130


def fail(message: str) -> None:
    print(f"dockyard: {' '.join(message.split())}", file=sys.stderr)


def _read_larger_pieces() -> None:
    connection = httpcore.AsyncHTTP11Connection
    if getattr(connection, "READ_NUM_BYTES", SOCKET_READ_BYTES) < SOCKET_READ_BYTES:
        connection.READ_NUM_BYTES = SOCKET_READ_BYTES


def _if_file(path: Path) -> Path | None:
    return path if path.is_file() else None
