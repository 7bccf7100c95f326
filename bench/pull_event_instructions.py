"""What a pull event costs, counted in instructions (callgrind), with no timing noise.

`make bench-events` measures CPU time per GET, and its rounds wander by several per cent on a
shared machine: a change of a few hundred nanoseconds cannot be told from noise. Instructions
executed do not wander (from one run to the next they differ by about 1 %), so this counts
them with valgrind's callgrind:

  - in this process, for 4,000 pulls at a time: the GET's note (EventLog.pulled),
    the round's JSON (EventLog.take_pulls) and the rest of the round (Deliverer.deliver_all:
    the outbox check, the envelope, the POST to a receiver on loopback); each stage is run
    for 1 and for 11 rounds, so that start-up cancels out;
  - in a Dockyard server (one worker, no endpoint), what a whole manifest GET executes:
    callgrind is switched on after a warm-up, counts an idle window and then a window of
    GETs from wrk, and the idle rate is taken off.

Instructions are not time (the same ones run about three times slower in a loaded server than
in a tight loop, and callgrind counts a large copy byte by byte), but they rank changes
reliably and tell where the work is. It needs valgrind; `make bench-event-instructions` runs
it (about four minutes), prints the table and writes
docs/benchmarks-event-instructions.md (`--no-write` to skip).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from bench.pull_events_bench import REPOSITORY, cheap_receiver
from bench.registry_bench import MANIFEST_TYPE, ROOT, machine_note, push_small_image, start_dockyard

DOCS = ROOT / "docs" / "benchmarks-event-instructions.md"

PULLS = 4_000  # a round's pulls at about 8,000 GETs a second per worker
STAGES = {
    "loop": "the benchmark's own loop (the request set, nothing noted)",
    "note": "the GET's note (EventLog.pulled)",
    "json": "the round's JSON (EventLog.take_pulls)",
    "send": "the rest of the round (outbox check, envelope, POST)",
}
DIGEST = "sha256:" + "c" * 64


def run_stage(stage: str, rounds: int, url: str) -> None:
    """In the child run under callgrind: `rounds` rounds of PULLS pulls, up to `stage`, sent
    to the receiver at `url` (in the parent: its work is not counted)."""
    from dockyard.config import EndpointSettings, NotificationSettings
    from dockyard.db.engine import Database
    from dockyard.db.migrate import upgrade
    from dockyard.registry.events.delivery import Deliverer
    from dockyard.registry.events.model import CURRENT_REQUEST, GRANT_KEY, REQUEST_ID_KEY, Source
    from dockyard.registry.events.recorder import EventLog

    anonymous = SimpleNamespace(subject=None)
    requests = [
        {  # what Granian and RegistryMiddleware put in a GET's scope
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "client": ("127.0.0.1", 40_000 + number % 64),
            "headers": [(b"host", b"127.0.0.1:5000"), (b"accept", MANIFEST_TYPE.encode())],
            REQUEST_ID_KEY: os.urandom(16).hex(),
            GRANT_KEY: anonymous,
        }
        for number in range(PULLS)
    ]
    with tempfile.TemporaryDirectory() as temp:
        database = Database(f"sqlite:///{temp}/events.db")
        upgrade(database.engine)
        endpoint = EndpointSettings(name="bench", url=url)
        events = EventLog([endpoint], Source("127.0.0.1:5000", "bench"), database)
        settings = NotificationSettings(endpoints=[endpoint], allow_private_targets=True)
        deliverer = Deliverer(settings, database, events)

        async def rounds_of_pulls() -> None:
            for _ in range(rounds):
                for scope in requests:
                    CURRENT_REQUEST.set(scope)
                    if stage != "loop":
                        events.pulled(REPOSITORY, DIGEST, MANIFEST_TYPE, 987, "latest", "manifests")
                if stage == "send":
                    await deliverer.deliver_all()
                elif stage == "json":
                    events.take_pulls()
                # else the notes stay: 11 rounds are fewer than MAX_BUFFERED_PULLS
            await deliverer.close()

        asyncio.run(rounds_of_pulls())


def instructions(command: list[str]) -> int:
    """Instructions `command` executed, by callgrind's count (with a fixed hash seed: a
    random one moves the count by a few hundred instructions a pull)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_pull(url: str) -> dict[str, float]:
    """Instructions per pull of everything up to each stage, start-up cancelled out (the
    counts do not depend on what else runs: one run per CPU at a time)."""
    runs = [(stage, rounds) for stage in STAGES for rounds in (1, 11)]
    child = [sys.executable, "-m", "bench.pull_event_instructions", "--child"]
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        counts = dict(
            zip(
                runs,
                pool.map(lambda run: instructions([*child, run[0], url, str(run[1])]), runs),
                strict=True,
            )
        )
    return {stage: (counts[stage, 11] - counts[stage, 1]) / (10 * PULLS) for stage in STAGES}


def per_get(seconds: int) -> float:
    """Instructions a one-worker Dockyard executes per manifest GET, its idle work taken off."""
    with tempfile.TemporaryDirectory() as temp:
        server = start_dockyard(
            Path(temp),
            "counted",
            {"DOCKYARD_HTTP__WORKERS": "1"},
            prefix=[
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                "--instr-atstart=no",
                f"--callgrind-out-file={temp}/%p.out",
            ],
            wait_seconds=300,
        )
        try:
            push_small_image(server, REPOSITORY)
            url = f"{server.base}/v2/{REPOSITORY}/manifests/latest"
            wrk = ["wrk", "-t1", "-c8", "--timeout", "30s", "-H", f"Accept: {MANIFEST_TYPE}"]
            subprocess.run([*wrk, "-d5s", url], capture_output=True, check=True)
            pids = subprocess.run(
                ["pgrep", "-g", str(server.process.pid)], capture_output=True, text=True
            ).stdout.split()

            def control(*args: str) -> None:
                for pid in pids:
                    subprocess.run(["callgrind_control", *args, pid], capture_output=True)

            control("-i", "on")
            started = time.monotonic()
            time.sleep(seconds)
            control("-d")  # dump 1: idle
            idle_seconds = time.monotonic() - started
            started = time.monotonic()
            out = subprocess.run(
                [*wrk, f"-d{seconds}s", url], capture_output=True, text=True, check=True
            ).stdout
            control("-d")  # dump 2: busy
            busy_seconds = time.monotonic() - started
        finally:
            server.stop()
        count = re.search(r"(\d+) requests in", out)
        if count is None or "Non-2xx" in out:
            raise RuntimeError(f"wrk's GETs failed:\n{out}")
        idle, busy = (_dumped(Path(temp), part) for part in (1, 2))
        return (busy - idle * busy_seconds / idle_seconds) / int(count.group(1))


def _dumped(directory: Path, part: int) -> int:
    total = 0
    for path in directory.glob(f"*.out.{part}"):
        found = re.search(r"^summary: (\d+)", path.read_text(errors="replace"), re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


def render(cumulative: dict[str, float], get: float) -> str:
    rows = []
    previous = cumulative["loop"]
    for stage in list(STAGES)[1:]:
        cost = cumulative[stage] - previous
        previous = cumulative[stage]
        rows.append(f"| {STAGES[stage]} | {cost:,.0f} | {100 * cost / get:.1f} % |")
    total = cumulative[list(STAGES)[-1]] - cumulative["loop"]
    rows.append(f"| every pull event sent, in all | {total:,.0f} | {100 * total / get:.1f} % |")
    table = "\n".join(rows)
    return f"""# Benchmarks: what a pull event costs, in instructions

Written by `make bench-event-instructions` (`bench/pull_event_instructions.py`); rerun it to
refresh this file. Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.

Machine: {machine_note()}

Instructions executed, counted by valgrind's callgrind: per pull, in a process that notes
{PULLS:,} pulls a round and delivers them to a receiver on loopback (in another process, not
counted); and per manifest GET, in a Dockyard server with one worker and no endpoint, GETs
from wrk at 8 connections, its idle work taken off.

| Instructions per pull, by part | per pull | of a manifest GET ({get:,.0f}) |
|---|---:|---:|
{table}

`make bench-events` measures the same cost as CPU time in running servers
(docs/benchmarks-events.md), and its rounds wander by several per cent. Counts of
instructions do not wander (about 1 % between runs), so they tell changes of a few hundred
instructions apart; they are not time. The same instructions run about three times slower
in a loaded server than in a tight loop (a GET's 325,000 took about 110 µs of CPU at
`make bench-events`' load, kernel time included), callgrind counts a `rep movsb` copy (glibc's
`memcpy` of large buffers) as one instruction per byte, so copies weigh more here than on the
CPU, and system calls (sending to the receiver, `getpid` under asyncio on Python 3.11) count
for nothing here.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--child", nargs=3, metavar=("STAGE", "URL", "ROUNDS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--seconds", type=int, default=20, help="each window of the server")
    parser.add_argument(
        "--get", type=float, help="a GET's instructions, counted before: the server is not run"
    )
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    if options.child:
        stage, url, rounds = options.child
        run_stage(stage, int(rounds), url)
        return 0
    with cheap_receiver() as url:
        cumulative = per_pull(url)
    get = options.get or per_get(options.seconds)
    text = render(cumulative, get)
    print(text)
    if not options.no_write:
        DOCS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
