"""Dockyard against CNCF Distribution 2.8.2 (Debian's docker-registry), in one run, on loopback.

Both registries are started here, each with filesystem storage under one temporary directory,
deletes enabled, listening on a free 127.0.0.1 port, each in its default configuration (access
logs on; Dockyard with a worker per CPU); both are stopped by PID
and the directory is removed at the end, whatever happens. Measured for each:

  (a) GET of a 1 GiB blob: curl -o /dev/null, one warm-up, then the median of several runs;
  (b) upload of the same blob: POST, then PUT ?digest= with the body streamed by
      `curl -T FILE -H 'Expect:'` (never --data-binary, which loads the file into memory);
  (c) manifest GET and HEAD by tag at 64 connections (GET with wrk, HEAD with ab), after
      pushing a small image;
  (d) the same GET and HEAD runs while 1 GiB blob GETs stream back to back on another
      connection: requests per second, the worst latency, and the download rate meanwhile.

The two registries take turns, measurement by measurement, so that the drift of a shared
machine falls on both alike. Run it with `make bench` or `.venv/bin/python -m bench.registry_bench`;
it prints the table and writes docs/benchmarks.md (`--no-write` to skip). It needs curl, wrk,
ab and docker-registry (`scripts/install-system-deps.sh`). The whole run takes about two
minutes; `--variant KEY=VALUE` adds a second Dockyard with other settings, for tuning.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
MB = 1_000_000  # rates are in MB/s, decimal, like curl's
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CONNECTIONS = 64
DOCKYARD = "Dockyard"
DISTRIBUTION = "Distribution"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# The two servers


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    # Sent with every `request` to it (a token, for a server in index mode).
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL; then whatever is left of its own process group
        (Granian's worker processes), which it leads since it was started in a new session."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(
    name: str,
    command: list[str],
    log_file: Path,
    port: int,
    env: dict[str, str],
    wait_seconds: float = 30,
) -> Server:
    with log_file.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    server = Server(name, port, process, log_file)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_file.read_text()}")
        try:
            status, _, _ = request(server, "GET", "/v2/")
            if status in (200, 401):
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not answer on port {port}:\n{log_file.read_text()}")


def start_distribution(
    work: Path,
    storage: str | None = None,
    http_extra: str = "",
    env: dict[str, str] | None = None,
) -> Server:
    """Distribution with RECIPES.md's configuration, its log as it comes (level info, access
    log on: its defaults, as Dockyard runs with its own); `storage` replaces the filesystem
    driver's lines (indented YAML)."""
    port = free_port()
    root = work / DISTRIBUTION
    root.mkdir()
    config = root / "config.yml"
    storage = storage or f"  filesystem: {{rootdirectory: {root / 'data'}}}\n"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info}\n"
        "storage:\n"
        "  cache: {blobdescriptor: inmemory}\n"
        f"{storage}"
        "  delete: {enabled: true}\n"
        f"http: {{addr: '127.0.0.1:{port}'{http_extra}}}\n"
    )
    command = ["docker-registry", "serve", str(config)]
    return _spawn(DISTRIBUTION, command, root / "server.log", port, env or dict(os.environ))


def dockyard_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def start_dockyard(
    work: Path,
    name: str,
    extra_env: dict[str, str],
    args: Sequence[str] = (),
    prefix: Sequence[str] = (),
    wait_seconds: float = 30,
) -> Server:
    """`prefix` goes before the command (a profiler, say: give it `wait_seconds` to start)."""
    port = free_port()
    root = work / name
    root.mkdir()
    env = {
        **os.environ,
        # Compared with Distribution's open registry: no index, no tokens. Everything else as
        # `dockyard serve` comes: a worker per CPU, the access log on (issue 13's targets hold
        # in the default configuration).
        "DOCKYARD_AUTH__MODE": "none",
        "PYTHONPATH": str(ROOT / "src"),
        **extra_env,
    }
    command = [*prefix, dockyard_python(), "-m", "dockyard.cli", "serve"]
    command += ["--addr", f"127.0.0.1:{port}", "--data", str(root / "data"), *args]
    return _spawn(name, command, root / "server.log", port, env, wait_seconds)


# ---------------------------------------------------------------------------------------
# Small HTTP helpers (stdlib only) and pushing


def request(
    server: Server,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, target, body=body, headers={**server.headers, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def _target(location: str, digest: str) -> str:
    """The upload URL to finish with ?digest= (Distribution's carries a _state query)."""
    parts = urlsplit(location)
    query = f"{parts.query}&digest={digest}" if parts.query else f"digest={digest}"
    return f"{parts.path}?{query}"


def start_upload(server: Server, repo: str) -> str:
    status, headers, data = request(server, "POST", f"/v2/{repo}/blobs/uploads/")
    if status != 202:
        raise RuntimeError(f"{server.name}: upload start answered {status}: {data[:300]!r}")
    return headers["location"]


def push_small_blob(server: Server, repo: str, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    location = start_upload(server, repo)
    status, _, answer = request(
        server,
        "PUT",
        _target(location, digest),
        body=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if status != 201:
        raise RuntimeError(f"{server.name}: blob PUT answered {status}: {answer[:300]!r}")
    return {"digest": digest, "size": len(data)}


def push_small_image(server: Server, repo: str) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    layers = [os.urandom(4096 * (i + 1)) for i in range(2)]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, **push_small_blob(server, repo, config)},
        "layers": [
            {"mediaType": LAYER_TYPE, **push_small_blob(server, repo, layer)} for layer in layers
        ],
    }
    status, _, answer = request(
        server,
        "PUT",
        f"/v2/{repo}/manifests/latest",
        body=json.dumps(manifest, indent=3).encode(),
        headers={"Content-Type": MANIFEST_TYPE},
    )
    if status != 201:
        raise RuntimeError(f"{server.name}: manifest PUT answered {status}: {answer[:300]!r}")


def make_blob(path: Path, size: int) -> str:
    """Random-looking bytes (a 16 MiB random block repeated: nothing here compresses)."""
    block = os.urandom(16 * 1024 * 1024)
    hasher = hashlib.sha256()
    with path.open("wb") as handle:
        left = size
        while left > 0:
            piece = block[: min(left, len(block))]
            handle.write(piece)
            hasher.update(piece)
            left -= len(piece)
    return "sha256:" + hasher.hexdigest()


# ---------------------------------------------------------------------------------------
# Measurements


def curl(*args: str) -> list[str]:
    command = ["curl", "-sS", "--max-time", "120", "-o", "/dev/null", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout.split()


def upload_rate(server: Server, repo: str, blob: Path, digest: str) -> float:
    location = start_upload(server, repo)
    status, seconds, sent = curl(
        "-w",
        "%{http_code} %{time_total} %{size_upload}",
        "-T",
        str(blob),
        "-H",
        "Expect:",
        "-H",
        "Content-Type: application/octet-stream",
        server.base + _target(location, digest),
    )
    if status != "201" or int(sent) != blob.stat().st_size:
        raise RuntimeError(f"{server.name}: upload answered {status} after {sent} bytes")
    return int(sent) / float(seconds) / MB


def download_rate(url: str, size: int) -> float:
    status, seconds, received = curl("-w", "%{http_code} %{time_total} %{size_download}", url)
    if status != "200" or int(received) != size:
        raise RuntimeError(f"GET {url} answered {status} with {received} of {size} bytes")
    return size / float(seconds) / MB


@dataclass
class LoadResult:
    rps: float
    max_ms: float
    p99_ms: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: int) -> LoadResult:
    """GETs from 64 connections for `seconds`: requests per second and latencies."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["--latency", "-H", f"Accept: {MANIFEST_TYPE}", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk GET {url} saw errors:\n{out}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    p99 = re.search(r"\s99%\s+(\S+)", out)
    if rps is None or latency is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return LoadResult(float(rps.group(1)), _ms(latency.group(3)), _ms(p99.group(1)))


def ab_head(url: str, seconds: int) -> LoadResult:
    """HEADs from 64 keep-alive connections with ApacheBench: wrk 4.1 cannot measure HEAD
    (its parser waits for the Content-Length bytes of a body that never comes)."""
    command = ["ab", "-q", "-k", "-i", f"-c{CONNECTIONS}", f"-t{seconds}", "-n", "100000000"]
    command += ["-s", "10", "-H", f"Accept: {MANIFEST_TYPE}", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    if "Non-2xx" in out or failed is None or failed.group(1) != "0":
        raise RuntimeError(f"ab HEAD {url} saw errors:\n{out}")
    rps = re.search(r"Requests per second:\s+([\d.]+)", out)
    longest = re.search(r"100%\s+(\d+)", out)
    p99 = re.search(r"\s99%\s+(\d+)", out)
    if rps is None or longest is None or p99 is None:
        raise RuntimeError(f"cannot read ab's output:\n{out}")
    return LoadResult(float(rps.group(1)), float(longest.group(1)), float(p99.group(1)))


class Streamer:
    """Downloads the blob back to back on one keep-alive connection and counts the bytes."""

    def __init__(self, server: Server, path: str) -> None:
        self.server = server
        self.path = path
        self.received = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0
        self._elapsed = 0.0

    def _run(self) -> None:
        buffer = memoryview(bytearray(4 * 1024 * 1024))
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            while not self._stop.is_set():
                connection.request("GET", self.path)
                response = connection.getresponse()
                if response.status != 200:
                    raise RuntimeError(f"streaming GET answered {response.status}")
                while not self._stop.is_set():
                    count = response.readinto(buffer)
                    if not count:
                        break
                    self.received += count
                if self._stop.is_set():
                    break
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def __enter__(self) -> Streamer:
        self._started = time.perf_counter()
        self._thread.start()
        time.sleep(0.5)  # let the first download get going
        return self

    def __exit__(self, *_: object) -> None:
        self._elapsed = time.perf_counter() - self._started
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def rate(self) -> float:
        if self.error is not None:
            raise RuntimeError(f"streaming download failed: {self.error}")
        return self.received / self._elapsed / MB


@dataclass
class Results:
    """One registry's runs; the figures are medians over them (the worst latency: the max)."""

    blob_get_runs: list[float] = field(default_factory=list)
    blob_put_runs: list[float] = field(default_factory=list)
    get_runs: list[LoadResult] = field(default_factory=list)
    head_runs: list[LoadResult] = field(default_factory=list)
    stream_get_runs: list[LoadResult] = field(default_factory=list)
    stream_head_runs: list[LoadResult] = field(default_factory=list)
    stream_download_runs: list[float] = field(default_factory=list)

    @property
    def blob_get(self) -> float:
        return statistics.median(self.blob_get_runs)

    @property
    def blob_put(self) -> float:
        return statistics.median(self.blob_put_runs)

    @property
    def stream_download(self) -> float:
        return statistics.median(self.stream_download_runs)

    @property
    def alone_max_ms(self) -> float:
        return max(run.max_ms for run in self.get_runs + self.head_runs)

    @property
    def stream_typical_max_ms(self) -> float:
        """The median of the runs' worst latencies: a blob that held up other requests would
        do so in every run; a pause of the machine hits one."""
        return statistics.median(run.max_ms for run in self.stream_get_runs + self.stream_head_runs)

    @property
    def stream_max_ms(self) -> float:
        return max(run.max_ms for run in self.stream_get_runs + self.stream_head_runs)

    @property
    def stream_p99_ms(self) -> float:
        return statistics.median(run.p99_ms for run in self.stream_get_runs + self.stream_head_runs)


def rps(runs: list[LoadResult]) -> float:
    return statistics.median(run.rps for run in runs)


def _rounds(servers: list[Server], count: int) -> Iterator[tuple[int, Server]]:
    """Each server once per round, the order flipped every round: the machine is shared and
    its speed drifts, so the two registries take turns instead of running one after the other."""
    for number in range(count):
        for server in servers if number % 2 == 0 else reversed(servers):
            yield number, server


def measure(
    servers: list[Server], blob: Path, digest: str, options: argparse.Namespace
) -> dict[str, Results]:
    results = {server.name: Results() for server in servers}
    size = blob.stat().st_size

    log(f"uploading {size >> 20} MiB, {options.upload_runs} times each")
    for number, server in _rounds(servers, options.upload_runs):
        rate = upload_rate(server, f"bench/up{number}", blob, digest)
        results[server.name].blob_put_runs.append(rate)

    log(f"blob GET, {options.runs} times each")
    blob_path = f"/v2/bench/up0/blobs/{digest}"
    for server in servers:
        download_rate(server.base + blob_path, size)  # warm-up
    for _, server in _rounds(servers, options.runs):
        rate = download_rate(server.base + blob_path, size)
        results[server.name].blob_get_runs.append(rate)

    log(f"manifest GET and HEAD, {options.load_runs} x {options.seconds} s each")
    manifest_path = "/v2/bench/small/manifests/latest"
    for server in servers:
        push_small_image(server, "bench/small")
    for _, server in _rounds(servers, options.load_runs):
        results[server.name].get_runs.append(wrk(server.base + manifest_path, options.seconds))
        results[server.name].head_runs.append(ab_head(server.base + manifest_path, options.seconds))

    log("the same while 1 GiB blob GETs stream")
    for _, server in _rounds(servers, options.load_runs):
        result = results[server.name]
        with Streamer(server, blob_path) as streamer:
            result.stream_get_runs.append(wrk(server.base + manifest_path, options.seconds))
            result.stream_head_runs.append(ab_head(server.base + manifest_path, options.seconds))
        result.stream_download_runs.append(streamer.rate)

    for name, result in results.items():
        log(
            f"{name}: upload {_rounded(result.blob_put_runs)} MB/s; "
            f"GET {_rounded(result.blob_get_runs)} MB/s; "
            f"manifest GET {_rounded([r.rps for r in result.get_runs])}/s, "
            f"HEAD {_rounded([r.rps for r in result.head_runs])}/s; streaming: "
            f"GET {_rounded([r.rps for r in result.stream_get_runs])}/s, "
            f"HEAD {_rounded([r.rps for r in result.stream_head_runs])}/s, "
            f"worst {_rounded([r.max_ms for r in result.stream_get_runs])} ms and "
            f"{_rounded([r.max_ms for r in result.stream_head_runs])} ms, "
            f"download {_rounded(result.stream_download_runs)} MB/s"
        )
    return results


def _rounded(values: list[float]) -> list[int]:
    return [round(value) for value in values]


# ---------------------------------------------------------------------------------------
# Report


# Whether Dockyard's results (first) meet a target, given Distribution's (second).
Rule = Callable[[Results, Results], bool]


@dataclass
class Row:
    label: str
    unit: str
    value: Callable[[Results], float]
    target: str = ""
    check: Rule | None = None


def _at_least(threshold: float, value: Callable[[Results], float]) -> Rule:
    return lambda ours, theirs: value(ours) >= threshold * value(theirs)


# "Large blob GETs do not stall other requests": in a typical run while they stream (the
# median of the runs' worst latencies), no manifest request waits this long.
STALL_MS = 50.0


def _not_stalled(ours: Results, _theirs: Results) -> bool:
    return ours.stream_typical_max_ms < STALL_MS


def _blob_get(r: Results) -> float:
    return r.blob_get


def _blob_put(r: Results) -> float:
    return r.blob_put


def _get(r: Results) -> float:
    return rps(r.get_runs)


def _head(r: Results) -> float:
    return rps(r.head_runs)


def _stream_get(r: Results) -> float:
    return rps(r.stream_get_runs)


def _stream_head(r: Results) -> float:
    return rps(r.stream_head_runs)


# Issue 13's targets ("speed by default"), for both registries in their default configuration.
MANIFEST_RATIO = 10.0

ROWS = [
    Row("blob GET", "MB/s", _blob_get, "≥ 1.0x", _at_least(1.0, _blob_get)),
    Row("blob upload", "MB/s", _blob_put, "≥ 2.0x", _at_least(2.0, _blob_put)),
    Row("manifest GET, c64", "req/s", _get, "≥ 10x", _at_least(MANIFEST_RATIO, _get)),
    Row("manifest HEAD, c64", "req/s", _head, "≥ 10x", _at_least(MANIFEST_RATIO, _head)),
    Row(
        "manifest GET while blobs stream",
        "req/s",
        _stream_get,
        "≥ 10x",
        _at_least(MANIFEST_RATIO, _stream_get),
    ),
    Row(
        "manifest HEAD while blobs stream",
        "req/s",
        _stream_head,
        "≥ 10x",
        _at_least(MANIFEST_RATIO, _stream_head),
    ),
    Row("worst manifest latency, no streaming", "ms", lambda r: r.alone_max_ms),
    Row("worst manifest latency while streaming", "ms", lambda r: r.stream_max_ms),
    Row(
        "the same, median of the runs' worst",
        "ms",
        lambda r: r.stream_typical_max_ms,
        f"< {STALL_MS:.0f} ms",
        _not_stalled,
    ),
    Row("p99 manifest latency while streaming", "ms", lambda r: r.stream_p99_ms),
    Row("blob download while manifests are hammered", "MB/s", lambda r: r.stream_download),
]


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def table(results: dict[str, Results]) -> str:
    """One column per server; a ratio (to Distribution) and a verdict per Dockyard column."""
    reference = results.get(DISTRIBUTION)
    ours = [name for name in results if name != DISTRIBUTION]
    header = ["measure", "unit"]
    for name in results:
        header.append(f"{name} 2.8.2" if name == DISTRIBUTION else name)
    if reference is not None:
        for name in ours:
            header += ["ratio", "target", "met"] if len(ours) == 1 else [f"ratio {name}"]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
    for row in ROWS:
        cells = [row.label, row.unit] + [_number(row.value(r)) for r in results.values()]
        if reference is not None:
            theirs = row.value(reference)
            for name in ours:
                value = row.value(results[name])
                cells.append(f"{value / theirs:.2f}x" if theirs else "-")
                if len(ours) == 1:
                    verdict = ""
                    if row.check is not None:
                        verdict = "yes" if row.check(results[name], reference) else "**no**"
                    cells += [row.target, verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def _search_section() -> str:
    """The "Search" section that `make bench-search` keeps in the same file, as it stands."""
    text = DOCS.read_text() if DOCS.exists() else ""
    start = text.find("\n## Search\n")
    return "" if start < 0 else "\n" + text[start:].lstrip("\n")


def rewrite_section(heading: str, section: str) -> None:
    """Replace the section of docs/benchmarks.md that starts at `heading` (a line "## ...")
    up to the next one, or add it at the end: each benchmark writes only its own."""
    text = DOCS.read_text() if DOCS.exists() else ""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        rest = "\n" + text[end + 1 :] if end >= 0 else ""
        text = text[: start + 1] + section.rstrip("\n") + "\n" + rest
    DOCS.write_text(text.rstrip("\n") + "\n")


def machine_note() -> str:
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = Path("/proc/meminfo").read_text().split()[1]
    granian = _first_line(
        [dockyard_python(), "-c", "import granian; print('granian', granian.__version__)"]
    )
    tools = [_first_line([tool, "--version"]).split()[:2] for tool in ("curl", "wrk")]
    return (
        f"{model}, {os.cpu_count()} CPUs, {int(memory) >> 20} GiB RAM, "
        f"Linux {platform.release()}; Python {platform.python_version()}, {granian}; "
        f"{_first_line(['docker-registry', '--version'])}; "
        + "; ".join(" ".join(words) for words in tools)
    )


def cpu_pressure() -> str:
    """How much other work wanted the CPUs over the last minute (Linux PSI), as a hint to how
    noisy a run was; empty where the kernel does not report it."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return ""
    match = re.search(r"avg60=([\d.]+)", line)
    return f"{float(match.group(1)):.0f}%" if match else ""


def render(results: dict[str, Results], options: argparse.Namespace, elapsed: float) -> str:
    env = " ".join(f"`{k}={v}`" for k, v in options.env.items())
    settings = f"its default settings plus {env}" if env else "its default settings"
    pressure = ""
    if options.pressure[0] and options.pressure[1]:
        pressure = (
            f" CPU pressure from all work (PSI `some avg60`): {options.pressure[0]} when the run"
            f" started, {options.pressure[1]} when it ended."
        )
    runs = "\n".join(
        f"- {name}: blob GET {_rounded(result.blob_get_runs)} MB/s; "
        f"upload {_rounded(result.blob_put_runs)} MB/s; "
        f"manifest GET {_rounded([r.rps for r in result.get_runs])}/s, "
        f"HEAD {_rounded([r.rps for r in result.head_runs])}/s; while streaming "
        f"GET {_rounded([r.rps for r in result.stream_get_runs])}/s, "
        f"HEAD {_rounded([r.rps for r in result.stream_head_runs])}/s, "
        f"download {_rounded(result.stream_download_runs)} MB/s; worst latency "
        f"{_rounded([r.max_ms for r in result.get_runs + result.head_runs])} ms, while streaming "
        f"{_rounded([r.max_ms for r in result.stream_get_runs + result.stream_head_runs])} ms"
        for name, result in results.items()
    )
    return f"""# Benchmarks: Dockyard against Distribution 2.8.2

Written by `make bench` (`bench/registry_bench.py`); rerun it to refresh this file.
On S3 and PostgreSQL: [benchmarks-s3.md](benchmarks-s3.md), written by `make bench-s3`.
Last run: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}, {elapsed:.0f} s in all.

Machine: {machine_note()}.
It is a shared virtual machine whose speed drifts from minute to minute: read the ratios,
not the absolute figures.{pressure}

{table(results)}

Ratios are Dockyard / Distribution (for latency, lower is better). Every run:

{runs}

## Method

- Both registries are started by the benchmark and run side by side for the whole run, each
  with filesystem storage under one temporary directory, deletes enabled, on a free
  127.0.0.1 port, each in its default configuration (its access log on, to a file; Dockyard
  with a worker per CPU); only one of them is under load at any moment.
  Distribution: Debian's `docker-registry` with RECIPES.md's configuration
  (`cache: blobdescriptor: inmemory`). Dockyard: `python -m dockyard.cli serve` with
  {settings}.
- They take turns: every measurement runs once on each registry per round, the order flipped
  each round, and the figure is the median of the rounds (the worst latency is the max).
- Blob: {options.size_mib} MiB of incompressible bytes in a file on the same disk.
- Upload ({options.upload_runs} rounds): `POST /v2/<name>/blobs/uploads/`, then
  `PUT <location>?digest=` with `curl -T FILE -H 'Expect:'`; the rate is the bytes over curl's
  total time, which includes verifying the digest and publishing the blob.
- Blob GET ({options.runs} rounds after one warm-up each): `curl -o /dev/null`; the blob was
  just written, so it is in the page cache for both.
- Manifest GET and HEAD by tag of a small Docker schema 2 image, {options.load_runs} rounds
  of {options.seconds} s each: GET with `wrk -t1 -c{CONNECTIONS} --latency`, HEAD with
  `ab -k -i -c{CONNECTIONS}` (wrk 4.1 waits for a body after a HEAD), both with an `Accept`
  header for the manifest type.
- Under streaming: the same GET and HEAD runs while a client thread downloads the 1 GiB blob
  back to back on one keep-alive connection (4 MiB reads); the download rate is its bytes over
  the whole period. The worst latency is the max that wrk and ab report over those runs; the
  target is on the median of the runs' worst latencies (under {STALL_MS:.0f} ms): a blob that
  held up manifest requests would do so in every run, while a pause of this shared machine
  (visible in the runs without streaming too) hits one.
- The load generators, curl, the streaming client and the registry share the machine's CPUs.
"""


# ---------------------------------------------------------------------------------------


@contextmanager
def workspace(base: str | None) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir=base))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(options: argparse.Namespace) -> int:
    for tool in ("curl", "wrk", "ab", "docker-registry"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run scripts/install-system-deps.sh", file=sys.stderr)
            return 2
    started = time.monotonic()
    options.pressure = [cpu_pressure(), ""]
    servers: list[Server] = []
    with workspace(options.tmp) as work:
        try:
            blob = work / "blob.bin"
            log(f"writing a {options.size_mib} MiB blob in {work}")
            digest = make_blob(blob, options.size_mib * 1024 * 1024)
            servers.append(start_dockyard(work, DOCKYARD, options.env))
            for number, variant in enumerate(options.variant, 1):
                name = f"{DOCKYARD}-{number}"
                servers.append(start_dockyard(work, name, {**options.env, **variant}))
                log(f"{name}: {variant}")
            if not options.no_distribution:
                servers.append(start_distribution(work))
            results = measure(servers, blob, digest, options)
        finally:
            for server in servers:
                server.stop()
    elapsed = time.monotonic() - started
    options.pressure[1] = cpu_pressure()
    print(table(results))
    if options.write and not options.variant and DISTRIBUTION in results:
        DOCS.parent.mkdir(parents=True, exist_ok=True)
        DOCS.write_text(render(results, options, elapsed) + _search_section())
        log(f"wrote {DOCS.relative_to(ROOT)}")
    log(f"done in {elapsed:.0f} s")
    return 0


def _env_list(text: str) -> dict[str, str]:
    return dict(_env_pair(item) for item in text.split(",") if item)


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, value


def bench_parser(
    description: str, size_mib: int, runs: int, seconds: int
) -> argparse.ArgumentParser:
    """The options every side-by-side benchmark takes."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=size_mib, help="blob size in MiB")
    parser.add_argument("--runs", type=int, default=runs, help="blob download rounds")
    parser.add_argument("--upload-runs", type=int, default=3, help="upload rounds (default 3)")
    parser.add_argument("--load-runs", type=int, default=3, help="manifest rounds (default 3)")
    parser.add_argument("--seconds", type=int, default=seconds, help="each manifest load run")
    parser.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every Dockyard, e.g. DOCKYARD_HTTP__WORKERS=2",
    )
    parser.add_argument("--tmp", help="where to make the temporary directory (default $TMPDIR)")
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="do not write the results file"
    )
    return parser


def parse_and_run(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    run: Callable[[argparse.Namespace], int],
) -> int:
    options = parser.parse_args(argv)
    options.env = dict(options.env)
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so the servers are stopped and files removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return run(options)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", size_mib=1024, runs=7, seconds=3)
    parser.add_argument(
        "--variant",
        type=_env_list,
        action="append",
        default=[],
        metavar="KEY=VALUE[,...]",
        help="also run another Dockyard with this environment (for tuning; writes no docs)",
    )
    parser.add_argument(
        "--no-distribution", action="store_true", help="skip the reference (writes no docs)"
    )
    return parse_and_run(parser, argv, run)


if __name__ == "__main__":
    sys.exit(main())
