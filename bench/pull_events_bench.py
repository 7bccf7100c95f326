"""What pull events and pull counts cost a manifest GET: Dockyard against itself, in one run.

Eight Dockyard servers with `make bench`'s settings (filesystem, default configuration), each asked
for the same small manifest by wrk at 64 connections, taking turns round by round so that the
drift of a shared machine falls on all alike:

  - `auth: none`, no notification endpoint (the baseline of `make bench`);
  - the same with one endpoint that gets every pull event (`pullsampling: 1`), and with one
    that gets one in ten (`pullsampling: 0.1`); the endpoint is a receiver in this process
    that reads each request and answers 202 (as cheap as a receiver can be, but on the same
    CPUs as the registry);
  - index mode (the default `make serve`), GETs with an anonymous pull token, with pull counts
    on (the default) and off (`index.pull_counts: false`), and with pull counts on and the
    endpoint that gets every pull event, or one in ten: both costs together, as users get
    them;
  - a second server without endpoint, the control: what two identical servers differ by.

The servers are started afresh every few rounds (`--restart-every`), so that nothing one
process carries for its whole life (its hash seed, its memory's layout, what it accumulated)
weighs on every round of its case.

It prints the table and writes docs/benchmarks-events.md (`--no-write` to skip). The issue's
target: with pull events and pull counts on, manifest GETs drop by at most 5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.registry_bench import (
    CONNECTIONS,
    MANIFEST_TYPE,
    ROOT,
    Server,
    cpu_pressure,
    log,
    machine_note,
    push_small_image,
    request,
    start_dockyard,
)

DOCS = ROOT / "docs" / "benchmarks-events.md"
REPOSITORY = "bench/pulled"
ADMIN_PASSWORD = "bench-admin-password"


@contextmanager
def cheap_receiver() -> Iterator[str]:
    """An HTTP endpoint on loopback that reads each request and answers 202."""
    ready = threading.Event()
    address: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                found = re.search(rb"(?i)content-length:\s*(\d+)", head)
                await reader.readexactly(int(found.group(1)) if found else 0)
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        address.append(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/events")
        ready.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait(10)
    yield address[0]


def notifications(url: str, sampling: float) -> str:
    endpoint = {"name": "bench", "url": url, "pullsampling": sampling}
    return json.dumps({"notifications": {"allow_private_targets": True, "endpoints": [endpoint]}})


def start(work: Path, name: str, env: dict[str, str], config: str | None = None) -> Server:
    args: list[str] = []
    if config is not None:
        path = work / f"{name}.yml"
        path.write_text(config)
        args = ["--config", str(path)]
    return start_dockyard(work, name, env, args)


def token(server: Server, credentials: str | None, scope: str) -> str:
    headers = {"Authorization": f"Basic {credentials}"} if credentials else {}
    status, _, body = request(
        server, "GET", f"/token?service=dockyard&scope={scope}", headers=headers
    )
    if status != 200:
        raise RuntimeError(f"{server.name}: /token answered {status}")
    found: str = json.loads(body)["token"]
    return found


def push_as_admin(server: Server, repository: str = REPOSITORY) -> str:
    """Push the small image in index mode; the anonymous pull token to GET it with."""
    admin = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    pusher = token(server, admin, f"repository:{repository}:pull,push")
    server.headers["Authorization"] = f"Bearer {pusher}"
    try:
        push_small_image(server, repository)
    finally:
        del server.headers["Authorization"]
    # Anonymous may pull once the catalogue applied the push (it makes the repository public).
    deadline = time.monotonic() + 30
    while request(server, "GET", f"/api/repositories/{repository}")[0] != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name}: the push never reached the catalogue")
        time.sleep(0.05)
    return token(server, None, f"repository:{repository}:pull")


@dataclass
class Round:
    rate: float  # GETs per second, at wrk
    cpu_us: float  # CPU the server's processes spent per GET, in microseconds


def measure(server: Server, seconds: int, bearer: str | None) -> Round:
    """One wrk run against `server`: its rate, and the CPU its process group spent per GET."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-H", f"Accept: {MANIFEST_TYPE}"]
    if bearer is not None:
        command += ["-H", f"Authorization: Bearer {bearer}"]
    command.append(f"{server.base}/v2/{REPOSITORY}/manifests/latest")
    before = group_cpu_seconds(server.process.pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # Delivery finishes the round's last events a moment after wrk stops: count its CPU too.
    time.sleep(1)
    spent = group_cpu_seconds(server.process.pid) - before
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors on {server.name}:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rate is None or count is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return Round(float(rate.group(1)), spent / int(count.group(1)) * 1e6)


def group_cpu_seconds(leader: int) -> float:
    """User and system CPU of every live process in `leader`'s process group (the server and
    its workers, which it leads: started in a session of its own)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == leader:  # pgrp; utime and stime follow as fields 14 and 15
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


CASES = [
    ("auth none, no endpoint", "none"),
    ("auth none, no endpoint (control: a second, identical server)", "control"),
    ("auth none, every pull event sent", "events-all"),
    ("auth none, one pull event in ten sent", "events-tenth"),
    ("index mode, pull counts off", "index-uncounted"),
    ("index mode, pull counts on (default)", "index-counted"),
    ("index mode, pull counts on, every pull event sent", "index-events"),
    ("index mode, pull counts on, one pull event in ten sent", "index-events-tenth"),
]
PAIRS = [  # (measured, baseline)
    ("control", "none"),
    ("events-all", "none"),
    ("events-tenth", "none"),
    ("index-counted", "index-uncounted"),
    ("index-events", "index-uncounted"),
    ("index-events-tenth", "index-uncounted"),
]


def run(options: argparse.Namespace) -> dict[str, list[Round]]:
    rounds: dict[str, list[Round]] = {key: [] for _, key in CASES}
    with TemporaryDirectory(prefix="dockyard-pull-bench-") as temp, cheap_receiver() as url:
        work = Path(temp)
        servers: dict[str, Server] = {}
        bearers: dict[str, str | None] = {}
        try:
            for number in range(options.rounds):
                if number % options.restart_every == 0:
                    for server in servers.values():
                        server.stop()
                    servers.clear()
                    log(f"fresh servers from round {number + 1}")
                    bearers = start_all(work, url, number, servers)
                log(f"round {number + 1} of {options.rounds}")
                order = list(servers)
                for key in order if number % 2 == 0 else reversed(order):
                    if bearers[key] is not None:
                        # A token lasts minutes, fewer than many rounds: a fresh one each
                        # round, before the measured window.
                        scope = f"repository:{REPOSITORY}:pull"
                        bearers[key] = token(servers[key], None, scope)
                    rounds[key].append(measure(servers[key], options.seconds, bearers[key]))
        finally:
            for server in servers.values():
                server.stop()
    return rounds


def start_all(
    work: Path, url: str, number: int, servers: dict[str, Server]
) -> dict[str, str | None]:
    """A fresh server for every case into `servers` (as each starts: the caller stops them
    whatever happens), the small image pushed to each; the bearer token to GET it with, by
    case (None: no token needed). `number` keeps their directories apart."""
    index_env = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD}
    settings: dict[str, tuple[dict[str, str], str | None]] = {
        "none": ({}, None),
        "control": ({}, None),
        "events-all": ({}, notifications(url, 1.0)),
        "events-tenth": ({}, notifications(url, 0.1)),
        "index-uncounted": ({**index_env, "DOCKYARD_INDEX__PULL_COUNTS": "false"}, None),
        "index-counted": (index_env, None),
        "index-events": (index_env, notifications(url, 1.0)),
        "index-events-tenth": (index_env, notifications(url, 0.1)),
    }
    bearers: dict[str, str | None] = {}
    for key, (env, config) in settings.items():
        servers[key] = server = start(work, f"{key}-{number}", env, config)
        if key.startswith("index"):
            bearers[key] = push_as_admin(server)
        else:
            push_small_image(server, REPOSITORY)
            bearers[key] = None
    return bearers


def render(rounds: dict[str, list[Round]], options: argparse.Namespace, pressure: str) -> str:
    rate = {key: statistics.median(r.rate for r in found) for key, found in rounds.items()}
    cpu = {key: statistics.median(r.cpu_us for r in found) for key, found in rounds.items()}
    rows = "\n".join(
        f"| {label} | {rate[key]:,.0f} | {', '.join(f'{r.rate:.0f}' for r in rounds[key])} "
        f"| {cpu[key]:.0f} | {', '.join(f'{r.cpu_us:.0f}' for r in rounds[key])} |"
        for label, key in CASES
    )
    labels = dict((key, label) for label, key in CASES)
    changes = "\n".join(
        f"| {labels[measured]} | {labels[baseline]} | "
        f"{100 * statistics.median(rate_changes):+.1f} % | "
        f"{100 * statistics.median(capacity_changes):+.1f} % | "
        f"{100 * statistics.fmean(capacity_changes):+.1f} "
        f"± {100 * _error(capacity_changes):.1f} % | "
        f"{', '.join(f'{100 * change:+.0f}' for change in capacity_changes)} |"
        for measured, baseline in PAIRS
        for rate_changes, capacity_changes in [paired(rounds[measured], rounds[baseline])]
    )
    return f"""# Benchmarks: what pull events and pull counts cost

Written by `make bench-events` (`bench/pull_events_bench.py`); rerun it to refresh this file.
Last run: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}; {options.rounds} rounds of
{options.seconds} s per server, the servers taking turns (the order flipped every round),
started afresh every {options.restart_every} rounds.
CPU pressure from all work (PSI `some avg60`) when the run ended: {pressure or "unknown"}.

Machine: {machine_note()}. wrk, the registries and the event receiver share its CPUs.

Manifest GETs by tag, 64 connections: requests per second at wrk, and the CPU the server's
processes (supervisor and workers, delivery included) spent per GET, in microseconds; the
median of the rounds, then every round:

| case | GETs/s | every round | CPU µs per GET | every round |
| --- | ---: | --- | ---: | --- |
{rows}

The change each round, measured case against its baseline (measured next to each other in
the round), and the median of the rounds' changes: GETs per second, and capacity (the
inverse of the CPU per GET); for capacity also the mean of the rounds' changes with its
standard error:

| with | against | GETs/s | capacity | capacity, mean | capacity, every round (%) |
| --- | --- | ---: | ---: | ---: | --- |
{changes}

The target (issue 9): with pull events and pull counts on, manifest GETs drop by at most 5 %.
Requests per second here measure the whole machine: wrk, the receiver and the registry share
two CPUs with whatever else runs, and they wander by a fifth from round to round. The CPU the
registry spends per GET does not depend on who else runs, and the GETs a registry can serve
are inversely proportional to it when it is CPU-bound (as it is at 64 connections): the
capacity column is that change. The machine's drift from minute to minute moves both cases of
a pair alike, so the pair's change within a round is steadier than the rounds' figures; it
still wanders by a tenth or more, hence the many rounds and their median, and fresh servers
every few rounds. The control row (two servers with the same settings) shows the noise that
is left. Runs differ from one another by more than their standard errors say (the host's
speed changes over minutes): compare two codes side by side in one run, not run against run.

A pull event costs the GET a row of numbers and two strings, noted in C
(registry/events/pulls.pyx, decision 0030); the rest is the delivery round's, every half
second: each pull's JSON written in C (the parts that repeat from pull to pull written once)
and POSTed to an endpoint that keeps up, or written to the outbox for one that fails. A pull
count is a dictionary update per GET and one UPDATE per repository every half second.
"""


def _error(changes: list[float]) -> float:
    """The standard error of the changes' mean."""
    return statistics.stdev(changes) / len(changes) ** 0.5 if len(changes) > 1 else 0.0


def paired(measured: list[Round], baseline: list[Round]) -> tuple[list[float], list[float]]:
    """Round by round, the measured case's change against its baseline: in GETs per second,
    and in capacity (GETs a CPU-bound server can serve: the inverse of its CPU per GET)."""
    rates = [m.rate / b.rate - 1 for m, b in zip(measured, baseline, strict=True)]
    capacities = [b.cpu_us / m.cpu_us - 1 for m, b in zip(measured, baseline, strict=True)]
    return rates, capacities


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    # Rounds of a few seconds wander by a tenth: 12 gave a standard error of 3-4 %, 30 about 1.5.
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--restart-every", type=int, default=5, help="rounds per server process")
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    rounds = run(options)
    text = render(rounds, options, cpu_pressure())
    print(text)
    if not options.no_write:
        DOCS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
