"""A real all-in-one OpenStack Swift on free loopback ports, with tempauth and the S3 API (s3api).

Debian's packages (`scripts/install-system-deps.sh`): the servers are programs of the system's
Python, so each runs as a subprocess of /usr/bin/python3. One account, one container and one
object server, rings of one replica, a proxy, and a memcached (tempauth keeps its tokens there).
Nothing is read from or written to /etc/swift: configuration, rings and data live in a temp dir.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from dockyard.config import S3Settings, StorageSettings, SwiftSettings
from tests.support.servers import free_port, stop_group

SYSTEM_PYTHON = "/usr/bin/python3"
PROGRAMS = ("swift-proxy-server", "swift-account-server", "swift-container-server",
            "swift-object-server", "swift-ring-builder", "memcached")  # fmt: skip
ACCOUNT = "test"
USER = "tester"
KEY = "testing"
# A user of the same account who is no admin: the container's read ACL lets it read, not write.
READER = "reader"
READER_KEY = "reading"
REGION = "us-east-1"  # s3api's default `location`

# Runs one server as its `swift-*-server` program would, but with swift.conf from the temp dir
# (Swift reads /etc/swift/swift.conf unless told otherwise, and no setting or variable tells
# it) and logging to stderr only (Swift also logs to syslog, or to UDP port 514 without one).
LAUNCHER = """\
import logging, sys
from swift.common import utils
utils.set_swift_dir(sys.argv[1])
from swift.common.storage_policy import reload_storage_policies
reload_storage_policies()
utils.ThreadSafeSysLogHandler = lambda *args, **kwargs: logging.NullHandler()
from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[2], sys.argv[3], verbose=True))
"""

SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = dockyard-tests

[storage-policy:0]
name = Policy-0
default = yes
"""

# Every server: one process (workers = 0), no privilege change, no mount points.
SERVER_DEFAULTS = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
user = {user}
swift_dir = {base}
devices = {base}/devices
mount_check = false
disable_fallocate = true
log_level = WARNING
"""

BACKEND_CONF = """\
[pipeline:main]
pipeline = healthcheck {kind}-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:{kind}-server]
use = egg:swift#{kind}
"""

# s3api goes before the auth middleware it hands S3 signatures to; slo serves its multipart
# uploads, bulk its DeleteObjects.
PROXY_CONF = """\
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api
    tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_{account}_{user} = {key} .admin
user_{account}_{reader} = {reader_key}

[filter:s3api]
use = egg:swift#s3api
location = {region}

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""


@dataclass(frozen=True)
class Swift:
    """A container of a running Swift, reachable by the Swift API and by the S3 API (as a
    bucket of the same name); tests keep apart by prefix."""

    storage_url: str  # http://127.0.0.1:PORT/v1/AUTH_test
    token: str  # tempauth's, for X-Auth-Token; valid for a day
    container: str
    s3_endpoint: str  # the proxy's root, path-style addressing
    reader_token: str  # READER's: may read the container, not write to it
    access_key: str = f"{ACCOUNT}:{USER}"  # with tempauth: account:user and the user's key
    secret_key: str = KEY
    region: str = REGION

    def storage(self, prefix: str, chunk_size: int) -> StorageSettings:
        swift = SwiftSettings(
            endpoint=self.storage_url,
            container=self.container,
            token=SecretStr(self.token),
            prefix=prefix,
            chunk_size=chunk_size,
        )
        return StorageSettings(driver="swift", swift=swift)

    def s3_settings(self, prefix: str, part_size: int) -> S3Settings:
        """The S3 driver's settings for this container, through s3api."""
        return S3Settings(
            endpoint=self.s3_endpoint,
            region=self.region,
            bucket=self.container,
            access_key=self.access_key,
            secret_key=SecretStr(self.secret_key),
            prefix=prefix,
            part_size=part_size,
        )


def missing_swift() -> str | None:
    """Why no Swift can start here, or None."""
    absent = [program for program in PROGRAMS if shutil.which(program) is None]
    if absent or not Path(SYSTEM_PYTHON).exists():
        return f"Swift's Debian packages are not installed (missing: {', '.join(absent)})"
    return None


@contextmanager
def swift_server(container: str = "dockyard") -> Iterator[Swift]:
    """Start memcached and Swift's four servers with one container; stop them and remove all."""
    base = Path(tempfile.mkdtemp(prefix="dockyard-swift-"))
    ports = {name: free_port() for name in ("proxy", "account", "container", "object")}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        _write_configuration(base, ports, memcached := free_port())
        processes["memcached"] = _start(base, "memcached", [
            "memcached", "-l", "127.0.0.1", "-p", str(memcached), "-U", "0", "-m", "64",
            "-u", _user(),
        ])  # fmt: skip
        # Only the proxy reads the rings: the others start while the rings are built.
        for name in ("account", "container", "object"):
            processes[name] = _start_server(base, name)
        _build_rings(base, ports)
        processes["proxy"] = _start_server(base, "proxy")
        _wait_until_ready(base, ports, memcached, processes)
        endpoint = f"http://127.0.0.1:{ports['proxy']}"
        storage_url, token = _authenticate(endpoint, USER, KEY)
        reading = {"X-Container-Read": f"{ACCOUNT}:{READER}"}
        created = httpx.put(
            f"{storage_url}/{container}", headers={"X-Auth-Token": token, **reading}
        )
        created.raise_for_status()
        _, reader_token = _authenticate(endpoint, READER, READER_KEY)
        yield Swift(storage_url, token, container, endpoint, reader_token)
    finally:
        for process in processes.values():
            stop_group(process)
        shutil.rmtree(base, ignore_errors=True)


def _user() -> str:
    # Swift's servers (and memcached, as root) switch to a named user: stay who we are.
    return pwd.getpwuid(os.getuid()).pw_name


def _write_configuration(base: Path, ports: dict[str, int], memcached: int) -> None:
    (base / "devices" / "d1").mkdir(parents=True)
    (base / "swift.conf").write_text(SWIFT_CONF)
    for name, port in ports.items():
        defaults = SERVER_DEFAULTS.format(port=port, user=_user(), base=base)
        if name == "proxy":
            app = PROXY_CONF.format(
                account=ACCOUNT, user=USER, key=KEY, reader=READER, reader_key=READER_KEY,
                region=REGION, memcached=memcached,
            )  # fmt: skip
        else:
            app = BACKEND_CONF.format(kind=name)
        (base / f"{name}.conf").write_text(f"{defaults}\n{app}")


def _build_rings(base: Path, ports: dict[str, int]) -> None:
    def build(kind: str) -> None:
        builder = str(base / f"{kind}.builder")
        device = f"r1z1-127.0.0.1:{ports[kind]}/d1"
        # Partition power 4, one replica, no minimum hours between moves.
        for step in (["create", "4", "1", "0"], ["add", device, "1"], ["rebalance"]):
            subprocess.run(["swift-ring-builder", builder, *step], check=True, capture_output=True)

    # Each call is a Python start-up of ~0.4 s: the three rings side by side.
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(build, ("account", "container", "object")))


def _start_server(base: Path, name: str) -> subprocess.Popen[bytes]:
    command = [SYSTEM_PYTHON, "-c", LAUNCHER, str(base), str(base / f"{name}.conf")]
    return _start(base, name, [*command, f"{name}-server"])


def _start(base: Path, name: str, command: list[str]) -> subprocess.Popen[bytes]:
    with (base / f"{name}.log").open("wb") as output:
        return subprocess.Popen(
            command, cwd=base, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_until_ready(
    base: Path,
    ports: dict[str, int],
    memcached: int,
    processes: dict[str, subprocess.Popen[bytes]],
) -> None:
    waiting = {f"http://127.0.0.1:{port}/healthcheck" for port in ports.values()}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, process in processes.items():
            if process.poll() is not None:
                log = (base / f"{name}.log").read_text()
                raise RuntimeError(f"Swift's {name} exited with {process.returncode}:\n{log}")
        for url in list(waiting):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    waiting.discard(url)
            except httpx.TransportError:
                pass
        if not waiting and _answers("127.0.0.1", memcached):
            return
        time.sleep(0.1)
    logs = "\n".join(f"{path.name}:\n{path.read_text()[-2000:]}" for path in base.glob("*.log"))
    raise RuntimeError(f"Swift was not ready in 60 s (still waiting for {waiting}):\n{logs}")


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _authenticate(endpoint: str, user: str, key: str) -> tuple[str, str]:
    """tempauth's storage URL and a token for a user of the account."""
    response = httpx.get(
        f"{endpoint}/auth/v1.0", headers={"X-Auth-User": f"{ACCOUNT}:{user}", "X-Auth-Key": key}
    )
    response.raise_for_status()
    return response.headers["X-Storage-Url"], response.headers["X-Auth-Token"]
