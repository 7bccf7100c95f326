"""Manifest GET latency as the data grows (issue 13: "the cost must stay flat"): Dockyard with
10 tags and 10 repositories against Dockyard with 100,000 tags and 100,000 repositories.

Two `dockyard serve` in the default configuration (index mode, access log on, a worker per CPU,
no metadata cache, scheduled garbage collection and retention on), each with SQLite and
filesystem storage in its own data directory. The admin pushes one small image as
`bench/app:latest` to each; once the catalogue has it, the server is stopped and rows are
written straight into its registry.db (pushing 100,000 of them over HTTP takes many minutes):
N-1 more repositories `bench/r000001`... each holding the same manifest under `latest` (registry
rows: repository, manifest, references, blob links, tag; index rows: repository settings and
catalogue tag, copied from bench/app's), and N-1 more tags `t000001`... on bench/app pointing at
the same manifest. N is 10 for one server and 100,000 for the other; then both restart. While
the first scheduled collection runs, a minute after start, GETs probe both servers (`probe`:
issue 12's collection must not hold up pulls). Then requests are GETs by tag with an anonymous
pull token, one after another on one kept-alive connection (after a warm-up); the two servers
take turns, case by case, the order flipped each round, so that the drift of a shared machine
falls on both.

Run it with `make bench-growth`; it prints the table and rewrites the "Growth" section of
docs/benchmarks.md (`--no-write` to skip). About three minutes.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from bench.listing_bench import Client
from bench.pull_events_bench import ADMIN_PASSWORD, push_as_admin, token
from bench.registry_bench import (
    MANIFEST_TYPE,
    Server,
    cpu_pressure,
    log,
    machine_note,
    rewrite_section,
    start_dockyard,
    workspace,
)

HEADING = "## Growth"
TAGGED = "bench/app"
TARGET = 1.20
SMALL = 10
LARGE = 100_000
INDEX_ENV = {"DOCKYARD_AUTH__MODE": "index", "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD}
# The first scheduled collection and retention, a minute after start: GETs sent one after
# another on new connections (so both workers answer some) until both have finished.
PROBE_PAUSE = 0.05
PROBE_LIMIT = 240.0  # seconds: the collection not finished by then fails the benchmark


@dataclass(frozen=True)
class Case:
    """What to GET, for a server holding `size` tags in bench/app and `size` repositories."""

    key: str
    label: str

    def repository(self, size: int) -> str:
        return f"bench/r{size // 2:06d}" if self.key == "one-tag" else TAGGED

    def tag(self, size: int, rng: Random) -> str:
        if self.key == "one-tag":
            return "latest"
        if self.key == "random":
            return _tag(rng.randrange(1, size))
        return _tag(size // 2)


CASES = [
    Case("tagged", "the same tag of bench/app, every request"),
    Case("random", "a random tag of bench/app each request"),
    Case("one-tag", "the tag of a one-tag repository"),
]


def _tag(number: int) -> str:
    return f"t{number:06d}"


# ---------------------------------------------------------------------------------------
# Data


def push_and_wait(server: Server) -> None:
    """The admin pushes the small image as bench/app:latest; wait for the catalogue to have it."""
    push_as_admin(server, TAGGED)
    time.sleep(1)  # the catalogue tag follows the repository in the same event's handling


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def _copy_rows(db: sqlite3.Connection, table: str, key: str, template: int, targets: str) -> None:
    """Copy the template repository's rows of `table` to every repository id `targets` selects."""
    others = [column for column in _columns(db, table) if column != key]
    db.execute(
        f"INSERT INTO {table} ({key}, {', '.join(others)}) "
        f"SELECT t.id, {', '.join('s.' + c for c in others)} FROM {table} s, ({targets}) t "
        f"WHERE s.{key} = ?",
        (template,),
    )


def _copy_named(
    db: sqlite3.Connection, table: str, name: str, template: int, names: list[str]
) -> None:
    """New rows of `table` (keyed by an autoincrement id) like row `template`, named `names`."""
    others = [column for column in _columns(db, table) if column not in ("id", name)]
    listed = ", ".join(others)
    db.executemany(
        f"INSERT INTO {table} ({name}, {listed}) SELECT ?, {listed} FROM {table} WHERE id = ?",
        [(value, template) for value in names],
    )


def _copy_tags(
    db: sqlite3.Connection, table: str, key: str, column: str, repository: int, names: list[str]
) -> None:
    others = [c for c in _columns(db, table) if c != column]
    listed = ", ".join(others)
    db.executemany(
        f"INSERT INTO {table} ({column}, {listed}) SELECT ?, {listed} FROM {table} "
        f"WHERE {key} = ? AND {column} = 'latest'",
        [(value, repository) for value in names],
    )


def grow(database: Path, size: int) -> None:
    """Make bench/app hold `size` tags and the registry `size` repositories (see the docstring)."""
    db = sqlite3.connect(database)
    try:
        with db:
            repository = db.execute("SELECT id FROM repositories WHERE name = ?", (TAGGED,))
            settings = db.execute("SELECT id FROM repository_settings WHERE name = ?", (TAGGED,))
            registry_id, index_id = repository.fetchone()[0], settings.fetchone()[0]
            if db.execute("SELECT count(*) FROM catalogue_tags").fetchone()[0] != 1:
                raise RuntimeError("the catalogue does not hold bench/app:latest")
            names = [f"bench/r{i:06d}" for i in range(1, size)]
            _copy_named(db, "repositories", "name", registry_id, names)
            _copy_named(db, "repository_settings", "name", index_id, names)
            new = "SELECT id FROM {} WHERE name LIKE 'bench/r%'"
            for table in ("manifests", "manifest_references", "repository_blobs", "tags"):
                _copy_rows(db, table, "repository_id", registry_id, new.format("repositories"))
            _copy_rows(
                db, "catalogue_tags", "repository_id", index_id, new.format("repository_settings")
            )
            tags = [_tag(i) for i in range(1, size)]
            _copy_tags(db, "tags", "repository_id", "name", registry_id, tags)
            _copy_tags(db, "catalogue_tags", "repository_id", "tag", index_id, tags)
            db.execute(
                "UPDATE repository_settings SET tag_count = ? WHERE id = ?", (size, index_id)
            )
        counted = [
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("repositories", "repository_settings", "tags", "catalogue_tags")
        ]
        if counted != [size, size, 2 * size - 1, 2 * size - 1]:
            raise RuntimeError(f"unexpected row counts after growing to {size}: {counted}")
    finally:
        db.close()


def prepare(work: Path, name: str, size: int) -> Server:
    seed = start_dockyard(work, f"{name}-seed", INDEX_ENV)
    try:
        push_and_wait(seed)
    finally:
        seed.stop()
    data = work / f"{name}-seed" / "data"
    started = time.monotonic()
    grow(data / "registry.db", size)
    log(f"{name}: {size:,} tags and repositories written in {time.monotonic() - started:.1f} s")
    return start_dockyard(work, name, INDEX_ENV, ["--data", str(data)])


# ---------------------------------------------------------------------------------------
# Measurement


@dataclass
class Latencies:
    runs: list[list[float]] = field(default_factory=list)

    @property
    def all(self) -> list[float]:
        return [value for run in self.runs for value in run]

    def quantile(self, percent: int) -> float:
        return statistics.quantiles(self.all, n=100)[percent - 1]

    @property
    def median(self) -> float:
        return statistics.median(self.all)


def timed_gets(
    server: Server, size: int, case: Case, count: int, warm_up: int, rng: Random
) -> list[float]:
    repository = case.repository(size)
    headers = _pull_headers(server, repository)
    client = Client(server)
    found: list[float] = []
    try:
        for number in range(warm_up + count):
            target = f"/v2/{repository}/manifests/{case.tag(size, rng)}"
            started = time.perf_counter()
            status, _, body = client.call("GET", target, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise RuntimeError(f"{server.name}: GET {target} answered {status}: {body[:200]!r}")
            if number >= warm_up:
                found.append(elapsed)
    finally:
        client.connection.close()
    return found


@dataclass
class Probe:
    """GETs sent to one server while its first scheduled collection ran."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    collection_seconds: float = 0.0


def _collection_finished(database: Path) -> bool:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as db:
        row = db.execute(
            "SELECT last_finished_at FROM maintenance_leases WHERE name = 'gc'"
        ).fetchone()
    return row is not None and row[0] is not None


def probe(servers: dict[int, Server], databases: dict[int, Path]) -> dict[int, Probe]:
    """GET bench/app:latest from each server in turn, each time on a new connection, until
    both have finished their first scheduled collection (a minute after start)."""
    found = {size: Probe() for size in servers}
    headers = {size: _pull_headers(server, TAGGED) for size, server in servers.items()}
    started = time.monotonic()
    pending = set(servers)
    while pending:
        if time.monotonic() - started > PROBE_LIMIT:
            raise RuntimeError(f"no collection finished within {PROBE_LIMIT:.0f} s: {pending}")
        for size, server in servers.items():
            client = Client(server)
            before = time.perf_counter()
            try:
                status, _, _ = client.call(
                    "GET", f"/v2/{TAGGED}/manifests/latest", headers=headers[size]
                )
                if status != 200:
                    found[size].failures.append(f"{status}")
            except OSError as exc:
                found[size].failures.append(type(exc).__name__)
            finally:
                client.connection.close()
            found[size].latencies.append((time.perf_counter() - before) * 1000)
            if size in pending and _collection_finished(databases[size]):
                pending.discard(size)
                found[size].collection_seconds = time.monotonic() - started
        time.sleep(PROBE_PAUSE)
    return found


def _pull_headers(server: Server, repository: str) -> dict[str, str]:
    bearer = token(server, None, f"repository:{repository}:pull")
    return {"Authorization": f"Bearer {bearer}", "Accept": MANIFEST_TYPE}


Results = dict[tuple[str, int], Latencies]


def run(options: argparse.Namespace) -> tuple[Results, dict[int, Probe]]:
    results = {(case.key, size): Latencies() for case in CASES for size in (SMALL, options.size)}
    rng = Random(13)
    with workspace(None) as work:
        servers: dict[int, Server] = {}
        try:
            for size in (SMALL, options.size):
                servers[size] = prepare(work, f"grown-{size}", size)
            databases = {
                size: work / f"grown-{size}-seed" / "data" / "registry.db" for size in servers
            }
            log("probing while the first scheduled collection runs")
            probes = probe(servers, databases)
            for number in range(options.rounds):
                log(f"round {number + 1} of {options.rounds}")
                for case in CASES:
                    order = list(servers.items())
                    for size, server in order if number % 2 == 0 else reversed(order):
                        found = timed_gets(
                            server, size, case, options.requests, options.warm_up, rng
                        )
                        results[(case.key, size)].runs.append(found)
        except BaseException:
            for server in servers.values():  # what the servers said, before their files go
                tail = server.log_file.read_text(errors="replace").splitlines()[-30:]
                log(f"{server.name}'s log ends:\n" + "\n".join(tail))
            raise
        finally:
            for server in servers.values():
                server.stop()
    return results, probes


# ---------------------------------------------------------------------------------------
# Report


def table(results: Results, size: int) -> str:
    lines = [
        f"| GET by tag | {SMALL} tags and repositories: median / p95 / p99 (ms) "
        f"| {size:,} tags and repositories: median / p95 / p99 (ms) "
        f"| ratio median / p95 / p99 | target ≤ {TARGET:.2f}x | met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for case in CASES:
        small, large = results[(case.key, SMALL)], results[(case.key, size)]
        pairs = [
            (small.median, large.median),
            (small.quantile(95), large.quantile(95)),
            (small.quantile(99), large.quantile(99)),
        ]
        ratios = [b / a for a, b in pairs]
        met = "yes" if all(r <= TARGET for r in ratios) else "**no**"
        lines.append(
            f"| {case.label} | {' / '.join(f'{a:.2f}' for a, _ in pairs)} "
            f"| {' / '.join(f'{b:.2f}' for _, b in pairs)} "
            f"| {' / '.join(f'{r:.2f}x' for r in ratios)} | median, p95, p99 | {met} |"
        )
    return "\n".join(lines)


def round_medians(results: Results, size: int) -> str:
    return "\n".join(
        f"- {case.label}: "
        + "; ".join(
            f"{n:,}: "
            + ", ".join(f"{statistics.median(run):.2f}" for run in results[(case.key, n)].runs)
            for n in (SMALL, size)
        )
        for case in CASES
    )


def probe_table(probes: dict[int, Probe]) -> str:
    lines = [
        "| server | GETs | median / p99 / worst (ms) | failed | collection finished after |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for size, found in probes.items():
        values = found.latencies
        worst = max(values)
        p99 = statistics.quantiles(values, n=100)[98] if len(values) > 1 else worst
        failed = ", ".join(found.failures) or "none"
        lines.append(
            f"| {size:,} tags and repositories | {len(values):,} "
            f"| {statistics.median(values):.2f} / {p99:.2f} / {worst:.2f} | {failed} "
            f"| {found.collection_seconds:.0f} s |"
        )
    return "\n".join(lines)


def render(
    results: Results,
    probes: dict[int, Probe],
    options: argparse.Namespace,
    pressure: tuple[str, str],
    elapsed: float,
) -> str:
    size = options.size
    big, one = results[("tagged", size)], results[("one-tag", size)]
    return f"""{HEADING}

`make bench-growth` (bench/growth_bench.py), {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")},
{elapsed:.0f} s in all. Issue 13: manifest GET latency with {size:,} tags in one repository and
{size:,} repositories within {TARGET:.2f}x of the latency with {SMALL}. CPU pressure (PSI `some
avg60`): {pressure[0]} when it started, {pressure[1]} when it ended. Machine: {machine_note()}.

{table(results, size)}

Within the grown registry, a tag of bench/app ({size:,} tags) against the tag of a one-tag
repository: median {big.median:.2f} against {one.median:.2f} ms ({big.median / one.median:.2f}x).
Medians of each round (ms), {options.rounds} rounds of {options.requests:,} GETs:

{round_medians(results, size)}

Method. Two `dockyard serve` in the default configuration (`auth.mode: index`, pull counts and
access log on, a worker per CPU, no metadata cache: every GET asks SQLite; scheduled garbage
collection and retention on), SQLite and filesystem storage, each in its own data directory.
The admin pushes one small image (a config and two layers) as `bench/app:latest`; once the
catalogue has it, the server is stopped and rows are
written straight into its `registry.db` in one transaction (pushing {size:,} manifests over
HTTP would take many minutes; `make bench-listings` took 270 s for 70,000): N-1 repositories
`bench/r000001`... each holding the same manifest under `latest` (registry rows: repository,
manifest, references, blob links, tag; index rows: repository settings, public, and catalogue
tag, all copied from bench/app's) and N-1 more tags `t000001`... on bench/app pointing at the
same manifest, with N = {SMALL} on one server and {size:,} on the other; then both start again
on that data. The index's tables are filled for realism; a GET does not read them (the pull
token is checked without the database, the pull count is written in batches). Each case is a
fresh anonymous pull token, then {options.warm_up} GETs of warm-up and {options.requests:,}
timed GETs one after another on one kept-alive connection, with an `Accept` header for the
manifest type; the two servers take turns case by case, the order flipped every round, so the
drift of the shared machine (other work ran on its 2 CPUs) falls on both alike. The figures are
over all rounds' GETs together. Tags asked: `t{SMALL // 2:06d}` / `t{size // 2:06d}` in
bench/app; random ones drawn anew for each request; `bench/r{SMALL // 2:06d}:latest` /
`bench/r{size // 2:06d}:latest`.

During the first scheduled garbage collection and retention (both due a minute after start,
on data they have not seen): a GET of `bench/app:latest` to each server in turn, each on a new
connection (so both workers answer), every {PROBE_PAUSE * 1000:.0f} ms from start until the
collection's lease row says it finished:

{probe_table(probes)}

Before the collector's statements ran in a thread, in ranges of 10,000 repositories, on an
index that holds the repository (migration 0023), the first collection on the 100,000
repositories left probe GETs unanswered for 60 s (2026-12-02 14:02 UTC).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size", type=int, default=LARGE, help="tags and repositories, grown")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2_000, help="timed GETs per case")
    parser.add_argument("--warm-up", type=int, default=200)
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="do not write docs/benchmarks.md"
    )
    options = parser.parse_args(argv)
    started, pressure = time.monotonic(), cpu_pressure()
    results, probes = run(options)
    section = render(
        results, probes, options, (pressure, cpu_pressure()), time.monotonic() - started
    )
    print(section)
    if options.write:
        rewrite_section(HEADING, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
