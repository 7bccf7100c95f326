"""Search at scale: `GET /v1/search` and `GET /api/search` over 100,000 repositories, on SQLite
and on PostgreSQL, through a real `dockyard serve` in index mode.

For each backend a fresh server starts in its default configuration but for index mode (a worker
per CPU, the access log on; SQLite in its data directory; PostgreSQL a throwaway
server from tests/support/postgres.py), a searcher signs up and founds an organisation, and
100,000 repository settings are written straight into its database: names `<namespace>/<word>-
<word>` over 4,000 namespaces, descriptions of 6 to 12 words, the words drawn by Zipf's law from a
made-up vocabulary of 5,000, one in five private; the searcher's organisation holds 1,000 of
them and the searcher collaborates on 300 private ones elsewhere. Then the cases send their
requests in turn, each on its own kept-alive connection (after a warm-up), and the latencies are
read at the client: p50, p95, p99, max. Signed in means a Bearer token for
`registry:catalog:search` on /v1/search (what docker sends) and a personal access token in Basic
credentials on /api/search.

Run it with `make bench-search` or `.venv/bin/python -m bench.search_bench`; it prints the table
and rewrites the "Search" section of docs/benchmarks.md (`--no-write` to skip). About three
minutes.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import insert, select
from tests.support.index import index_server
from tests.support.postgres import missing_postgres, postgres_server

from bench.registry_bench import cpu_pressure, log, machine_note
from dockyard.config import HttpSettings
from dockyard.db.engine import Database
from dockyard.index.tables import collaborators, repository_settings, users

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
REPOSITORIES = 100_000
NAMESPACES = 4_000
PRIVATE_SHARE = 0.2
ORGANISATION = "acme"
ORGANISATION_REPOSITORIES = 1_000
COLLABORATIONS = 300
SEARCHER = ("searcher", "searcher-password")
REQUESTS = 300
WARM_UP = 30
TARGET_MS = 20.0
_CONSONANTS = "bcdfghjklmnprstvwxz"
_VOWELS = "aeiouy"
WORDS = 5_000


def vocabulary(rng: random.Random, size: int = WORDS) -> list[str]:
    """Made-up words of two to four syllables, most common first."""
    words: set[str] = set()
    while len(words) < size:
        syllables = [
            rng.choice(_CONSONANTS) + rng.choice(_VOWELS) + rng.choice(["", "", "n", "r", "s"])
            for _ in range(rng.randint(2, 4))
        ]
        words.add("".join(syllables))
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


# Zipf's law: the n-th most common word is n times rarer than the first, as in real text.
_FREQUENCIES = list(itertools.accumulate(1 / rank for rank in range(1, WORDS + 1)))


def zipf(rng: random.Random, words: list[str]) -> str:
    return rng.choices(words, cum_weights=_FREQUENCIES)[0]


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    signed_in: bool
    params: Callable[[random.Random], dict[str, str | int]]
    note: str = ""


@dataclass
class Timing:
    p50: float
    p95: float
    p99: float
    worst: float
    results: float  # mean num_results (or total) per answer


def cases(words: list[str], names: list[str]) -> list[Case]:
    common = words[20:300]  # each in 0.4 % to 6 % of the repositories
    return [
        Case("v1, anonymous, empty q", "/v1/search", False, lambda r: {"q": "", "n": 25}),
        Case("v1, anonymous, one word", "/v1/search", False, lambda r: {"q": r.choice(common)}),
        Case(
            "v1, anonymous, part of one name",
            "/v1/search",
            False,
            lambda r: {"q": r.choice(names).split("/")[1]},
        ),
        Case("v1, signed in, empty q", "/v1/search", True, lambda r: {"q": "", "n": 25}),
        Case("v1, signed in, one word", "/v1/search", True, lambda r: {"q": r.choice(common)}),
        Case(
            "v1, signed in, one word, page 20 of n=10",
            "/v1/search",
            True,
            lambda r: {"q": r.choice(common), "n": 10, "page": 20},
        ),
        Case(
            "api, signed in, namespace, last push",
            "/api/search",
            True,
            lambda r: {"q": r.choice(common)[:3], "namespace": ORGANISATION, "sort": "last_push"},
        ),
        Case(
            "api, signed in, one word, relevance",
            "/api/search",
            True,
            lambda r: {"q": r.choice(common), "per_page": 25},
        ),
        Case(
            "v1, anonymous, the start of a most common word",
            "/v1/search",
            False,
            lambda r: {"q": r.choice(words[:5])[:3]},
            "worst case: a very common text",
        ),
        Case(
            "v1, anonymous, two characters",
            "/v1/search",
            False,
            lambda r: {"q": r.choice(_CONSONANTS) + r.choice(_VOWELS)},
            "shorter than a trigram",
        ),
        Case(
            "v1, anonymous, two characters no repository holds",
            "/v1/search",
            False,
            # No syllable has two consonants but after n, r or s.
            lambda r: {
                "q": r.choice(_CONSONANTS.translate({ord(c): None for c in "nrs"}))
                + r.choice(_CONSONANTS)
            },
            "a rare pair: what no index of pairs finds is read row by row",
        ),
    ]


def populate(database_url: str, rng: random.Random, words: list[str]) -> list[str]:
    """100,000 repository settings, and the searcher's collaborations; their names."""
    database = Database(database_url)
    namespaces = [f"{rng.choice(words)}{i}" for i in range(NAMESPACES)]
    now = datetime.now(UTC)
    rows: list[dict[str, object]] = []
    names: set[str] = set()
    while len(rows) < REPOSITORIES:
        namespace = (
            ORGANISATION if len(rows) < ORGANISATION_REPOSITORIES else rng.choice(namespaces)
        )
        name = f"{namespace}/{zipf(rng, words)}-{zipf(rng, words)}"
        if name in names:
            continue
        names.add(name)
        description = " ".join(zipf(rng, words) for _ in range(rng.randint(6, 12)))
        rows.append(
            {
                "name": name,
                "namespace": namespace,
                "visibility": "private" if rng.random() < PRIVATE_SHARE else "public",
                "description": description.capitalize() + ".",
                "created_at": now - timedelta(seconds=len(rows)),
            }
        )
    with database.engine.begin() as connection:
        for start in range(0, len(rows), 5_000):
            connection.execute(insert(repository_settings), rows[start : start + 5_000])
        searcher = connection.execute(
            select(users.c.id).where(users.c.username == SEARCHER[0])
        ).scalar_one()
        private = connection.execute(
            select(repository_settings.c.id).where(
                repository_settings.c.visibility == "private",
                repository_settings.c.namespace != ORGANISATION,
            )
        ).scalars()
        chosen = rng.sample(list(private), COLLABORATIONS)
        connection.execute(
            insert(collaborators),
            [{"repository_id": i, "user_id": searcher, "role": "read"} for i in chosen],
        )
    if database.engine.dialect.name == "postgresql":
        vacuum(database)
    database.dispose()
    return sorted(names)


def vacuum(database: Database) -> None:
    """What autovacuum does within a minute or so of 100,000 inserts: the planner's statistics,
    the trigram indexes' pending lists (GIN's fast update) merged into them, and the pages
    marked all-visible. Unmerged, every text search scanned up to 4 MB of pending entries per
    index; unmarked, every index-only scan read the table too: the cost of the minute after a
    bulk load, not of the steady state this measures. A VACUUM run at once after the load
    marked no page all-visible (the load's transaction was not yet old enough for every
    backend); one a second later marked them all."""
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for _ in range(10):
            c.exec_driver_sql("VACUUM ANALYZE")
            visible, pages = c.exec_driver_sql(
                "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'repository_settings'"
            ).one()
            if visible == pages:
                return
            time.sleep(1)
        log(f"after VACUUM: {visible} of {pages} pages all-visible")


class Runner:
    """One case's kept-alive connection and what it measured."""

    def __init__(self, url: str, case: Case, authorization: str | None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.case = case
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": authorization} if authorization else {}
        self.latencies: list[float] = []
        self.found: list[int] = []

    def request(self, rng: random.Random, kept: bool) -> None:
        target = f"{self.case.path}?{urlencode(self.case.params(rng))}"
        started = time.perf_counter()
        self.connection.request("GET", target, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{self.case.name}: {target} answered {response.status}: {body!r}")
        if kept:
            self.latencies.append(elapsed)
            answer = json.loads(body)
            self.found.append(answer.get("num_results", answer.get("total", 0)))

    def timing(self) -> Timing:
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        worst = max(self.latencies)
        return Timing(cuts[49], cuts[94], cuts[98], worst, statistics.fmean(self.found))


def measure(runners: list[Runner], rng: random.Random) -> None:
    """The cases' requests in turn, one of each per round: the machine's other work, which
    comes and goes over minutes, then falls on every case alike instead of on whichever ran
    during it."""
    try:
        for attempt in range(WARM_UP + REQUESTS):
            for runner in runners:
                runner.request(rng, kept=attempt >= WARM_UP)
    finally:
        for runner in runners:
            runner.connection.close()


@contextmanager
def backend(name: str, work: Path) -> Iterator[tuple[str, str]]:
    """A server on `name`'s database: its URL and the database's."""
    with ExitStack() as stack:
        # As `dockyard serve` comes (the tests' servers run one worker): a worker per CPU, the
        # access log on. The search target holds in the default configuration.
        env = {"DOCKYARD_HTTP__WORKERS": str(HttpSettings().workers)}
        data = work / name / "data"
        if name == "postgresql":
            postgres = stack.enter_context(postgres_server())
            env["DOCKYARD_DATABASE__URL"] = stack.enter_context(postgres.database())
        index = stack.enter_context(index_server(data, env))
        url = env.get("DOCKYARD_DATABASE__URL") or f"sqlite:///{(data / 'registry.db').resolve()}"
        yield index.url, url


def sign_up_searcher(url: str) -> None:
    """The searcher's account and its organisation, made through the /api as a user would."""
    with httpx.Client(base_url=url, timeout=60) as client:
        body = {"username": SEARCHER[0], "email": "s@example.com", "password": SEARCHER[1]}
        client.post("/api/users", json=body).raise_for_status()
        client.post("/api/orgs", json={"name": ORGANISATION}, auth=SEARCHER).raise_for_status()


def run_backend(name: str, work: Path) -> dict[str, Timing]:
    rng = random.Random(9)
    words = vocabulary(rng)
    with backend(name, work) as (url, database_url):
        sign_up_searcher(url)
        with httpx.Client(base_url=url, timeout=60) as client:
            wanted = {"name": "bench", "scopes": ["read"]}
            made = client.post("/api/tokens", json=wanted, auth=SEARCHER).raise_for_status()
            secret = f"{SEARCHER[0]}:{made.json()['token']}".encode()
            basic = "Basic " + base64.b64encode(secret).decode()
        log(f"{name}: writing {REPOSITORIES:,} repositories")
        started = time.monotonic()
        names = populate(database_url, rng, words)
        log(f"{name}: written in {time.monotonic() - started:.0f} s; measuring")
        runners = []
        for case in cases(words, names):
            authorization = None
            if case.signed_in and case.path == "/api/search":
                authorization = basic
            elif case.signed_in:
                params = {"service": "dockyard", "scope": "registry:catalog:search"}
                answer = httpx.get(f"{url}/token", params=params, auth=SEARCHER, timeout=60)
                authorization = "Bearer " + answer.raise_for_status().json()["token"]
            runners.append(Runner(url, case, authorization))
        measure(runners, rng)
        timings = {}
        for runner in runners:
            timings[runner.case.name] = t = runner.timing()
            found = f"{t.results:,.0f} found"
            log(f"{name}: {runner.case.name}: p50 {t.p50:.1f} p95 {t.p95:.1f} ms ({found})")
        return timings


def table(results: dict[str, dict[str, Timing]], notes: dict[str, str]) -> str:
    lines = [
        "| case | backend | matches (mean) | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in next(iter(results.values())):
        for name, timings in results.items():
            t = timings[case]
            label = f"{case} ({notes[case]})" if notes.get(case) else case
            lines.append(
                f"| {label} | {name} | {t.results:,.0f} | {t.p50:.1f} | {t.p95:.1f} "
                f"| {t.p99:.1f} | {t.worst:.1f} |"
            )
    return "\n".join(lines)


def over_target(results: dict[str, dict[str, Timing]]) -> str:
    missed = [
        f"{case} on {name} ({timing.p95:.0f} ms)"
        for name, timings in results.items()
        for case, timing in timings.items()
        if timing.p95 >= TARGET_MS
    ]
    if not missed:
        return f"Every case answered under {TARGET_MS:.0f} ms at the 95th percentile."
    return f"Over the {TARGET_MS:.0f} ms target at the 95th percentile: " + "; ".join(missed) + "."


def render(
    results: dict[str, dict[str, Timing]], notes: dict[str, str], pressure: dict[str, str]
) -> str:
    pressures = ", ".join(f"{pressure[name]} after {name}" for name in results)
    return f"""## Search

`make bench-search` (bench/search_bench.py), {datetime.now(UTC):%Y-%m-%d}: `GET /v1/search` and
`GET /api/search` through a real `dockyard serve` in index mode, otherwise in its default
configuration (a worker per CPU, the access log on), over {REPOSITORIES:,} repositories
({NAMESPACES:,} namespaces; names and descriptions of words drawn by Zipf's law from a made-up
vocabulary of 5,000; one in five private; the signed-in searcher owns an
organisation of {ORGANISATION_REPOSITORIES:,} and collaborates on
{COLLABORATIONS} private repositories elsewhere). {REQUESTS} requests per case, each case on its
own kept-alive connection, the cases taking turns request by request (so that the shared
machine's changing load falls on all alike), after {WARM_UP} rounds to warm up; latency at the
client, in milliseconds. The target
is a p95 under {TARGET_MS:.0f} ms. Texts of three characters or more go through the trigram
indexes (docs/decisions/0014-search.md), texts of two through indexes of pairs; matches are
counted up to 1,000, and past that only the name matches are ranked
(docs/decisions/0016-search-speed.md); stars and pulls are 0 until the catalogue counts them,
so those sorts cost what the name order costs.

{table(results, notes)}

{over_target(results)}

Machine: {machine_note()}. CPU pressure from all work (PSI `some avg60`) when each backend's
cases ended: {pressures}; other work shared the machine's two CPUs throughout.
"""


def write(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    start = text.find("## Search\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    options = parser.parse_args(argv)
    backends = options.backend or ["sqlite", "postgresql"]
    if "postgresql" in backends and (reason := missing_postgres()):
        log(f"PostgreSQL unavailable: {reason}")
        return 1
    rng = random.Random(9)
    notes = {case.name: case.note for case in cases(vocabulary(rng), ["a/b"])}
    results, pressure = {}, {}
    with tempfile.TemporaryDirectory(prefix="search-bench-") as work:
        for name in backends:
            results[name] = run_backend(name, Path(work))
            # Per backend: the two are measured minutes apart, and other work comes and goes.
            pressure[name] = cpu_pressure() or "not reported"
    section = render(results, notes, pressure)
    print(section)
    if not options.no_write:
        write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
