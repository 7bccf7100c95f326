"""The web UI's pages at scale: each main page rendered by a real `dockyard serve` in index mode
over 100,000 repositories, one of them with 10,000 tags, timed at the client.

The repositories are bench/search_bench.py's (written straight into the database by its
`populate`: 4,000 namespaces, Zipf-drawn names and descriptions, one in five private, the
signed-in user's organisation of 1,000). Then the user pushes a real image to `<user>/big`
and 10,000 more tags pointing at it are written into the catalogue the same way. Each page is
requested one request after another on one kept-alive connection (after a warm-up), anonymous
or with the user's session cookie from the sign-in form; latencies are read at the client:
p50, p95, p99, max. The target is a p95 under 50 ms.

Run it with `make bench-web` or `.venv/bin/python -m bench.web_bench`; it prints the table and
rewrites the "Web UI" section of docs/benchmarks.md (`--no-write` to skip). A few minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import insert, select, update
from tests.support.images import make_image, push_image
from tests.support.web import post_form

from bench.registry_bench import cpu_pressure, log, machine_note
from bench.search_bench import (
    ORGANISATION,
    ORGANISATION_REPOSITORIES,
    REPOSITORIES,
    SEARCHER,
    backend,
    populate,
    sign_up_searcher,
    vocabulary,
)
from dockyard.db.engine import Database
from dockyard.index.tables import catalogue_tags, repository_settings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADING = "## Web UI"
TAGS = 10_000
BIG = f"{SEARCHER[0]}/big"
REQUESTS = 200
WARM_UP = 20
TARGET_MS = 50.0


@dataclass(frozen=True)
class Case:
    name: str
    paths: tuple[str, ...]  # requested in turn
    signed_in: bool


@dataclass
class Timing:
    p50: float
    p95: float
    p99: float
    worst: float
    size: int  # bytes of the last page


def cases(words: list[str]) -> list[Case]:
    common = tuple(f"/search?q={word}" for word in words[20:60])
    big = f"/r/{BIG}"
    return [
        Case("explore, anonymous", ("/",), False),
        Case("explore, signed in", ("/",), True),
        Case("search, anonymous, one word", common, False),
        Case("search, signed in, one word", common, True),
        Case(f"repository of {TAGS:,} tags, newest first", (big,), True),
        Case(
            f"repository of {TAGS:,} tags, newest first, pages 100 to 399",
            tuple(f"{big}?page={n}" for n in range(100, 400, 7)),
            True,
        ),
        Case(
            f"repository of {TAGS:,} tags, by name, pages 100 to 399",
            tuple(f"{big}?sort=name&page={n}" for n in range(100, 400, 7)),
            True,
        ),
        Case(
            "tag (an image: config and layers)",
            tuple(f"{big}/-/tags/t{n:05d}" for n in range(0, TAGS, 97)),
            True,
        ),
        Case(
            f"namespace: organisation of {ORGANISATION_REPOSITORIES:,}",
            (f"/u/{ORGANISATION}",),
            True,
        ),
        Case("namespace: a user's, anonymous", (f"/u/{SEARCHER[0]}",), False),
        Case("repository settings", (f"{big}/-/settings",), True),
        Case("organisation settings", (f"/u/{ORGANISATION}/-/settings",), True),
    ]


def add_tags(database_url: str, digest: str, size: int) -> None:
    """TAGS more tags of BIG in the catalogue, all on the pushed image, pushed a second apart."""
    database = Database(database_url)
    platforms = json.dumps([{"os": "linux", "architecture": "amd64", "digest": digest}])
    moment = datetime.now(UTC)
    with database.engine.begin() as connection:
        found = connection.execute(
            select(repository_settings.c.id).where(repository_settings.c.name == BIG)
        ).scalar_one()
        rows = [
            {
                "repository_id": found,
                "tag": f"t{n:05d}",
                "digest": digest,
                "media_type": "application/vnd.oci.image.manifest.v1+json",
                "size": size,
                "platforms": platforms,
                "pushed_at": moment - timedelta(seconds=n),
                "pushed_by": SEARCHER[0],
            }
            for n in range(TAGS)
        ]
        for start in range(0, len(rows), 5_000):
            connection.execute(insert(catalogue_tags), rows[start : start + 5_000])
        connection.execute(
            update(repository_settings)
            .where(repository_settings.c.id == found)
            .values(tag_count=TAGS + 1)
        )
    database.dispose()


def push_big(url: str) -> tuple[str, int]:
    """A real image in BIG, once the catalogue has it: its digest and size."""
    params = {"service": "dockyard", "scope": f"repository:{BIG}:pull,push"}
    token = httpx.get(f"{url}/token", params=params, auth=SEARCHER, timeout=60)
    headers = {"Authorization": "Bearer " + token.raise_for_status().json()["token"]}
    image = make_image("web-bench", layers=3)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as registry:
        digest = push_image(registry, BIG, image, "latest")
    with httpx.Client(base_url=url, auth=SEARCHER, timeout=60) as api:
        for _ in range(600):
            if api.get(f"/api/repositories/{BIG}").status_code == 200:
                break
            time.sleep(0.05)
        else:
            raise SystemExit(f"{BIG} never reached the catalogue")
    return digest, len(image.config) + sum(len(layer) for layer in image.layers)


def session_cookie(url: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as client:
        fields = {"username": SEARCHER[0], "password": SEARCHER[1]}
        answer = post_form(client, "/signin", fields)
        if answer.status_code != 303:
            raise SystemExit(f"signing in answered {answer.status_code}")
        return f"dockyard_session={client.cookies['dockyard_session']}"


def measure(url: str, case: Case, cookie: str | None) -> Timing:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    latencies, size = [], 0
    try:
        for attempt in range(WARM_UP + REQUESTS):
            path = case.paths[attempt % len(case.paths)]
            started = time.perf_counter()
            connection.request("GET", quote(path, safe="/?=&"), headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"{case.name}: {path} answered {response.status}")
            if attempt >= WARM_UP:
                latencies.append(elapsed)
                size = len(body)
    finally:
        connection.close()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Timing(cuts[49], cuts[94], cuts[98], max(latencies), size)


def run(name: str, work: Path) -> dict[str, Timing]:
    rng = random.Random(9)
    words = vocabulary(rng)
    with backend(name, work) as (url, database_url):
        sign_up_searcher(url)
        log(f"{name}: writing {REPOSITORIES:,} repositories and {TAGS:,} tags")
        populate(database_url, rng, words)
        digest, size = push_big(url)
        add_tags(database_url, digest, size)
        cookie = session_cookie(url)
        timings = {}
        for case in cases(words):
            timings[case.name] = t = measure(url, case, cookie if case.signed_in else None)
            log(f"{name}: {case.name}: p50 {t.p50:.1f} p95 {t.p95:.1f} ms ({t.size:,} bytes)")
        return timings


def table(results: dict[str, dict[str, Timing]]) -> str:
    lines = [
        "| page | backend | HTML bytes | p50 ms | p95 ms | p99 ms | max ms | p95 < 50 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for case in next(iter(results.values())):
        for backend_name, timings in results.items():
            t = timings[case]
            met = "yes" if t.p95 < TARGET_MS else "**no**"
            lines.append(
                f"| {case} | {backend_name} | {t.size:,} | {t.p50:.1f} | {t.p95:.1f} "
                f"| {t.p99:.1f} | {t.worst:.1f} | {met} |"
            )
    return "\n".join(lines)


def render(results: dict[str, dict[str, Timing]], pressure: str) -> str:
    return f"""{HEADING}

`make bench-web` (bench/web_bench.py), {datetime.now(UTC):%Y-%m-%d}: the web UI's main pages
rendered by a real `dockyard serve` in index mode over {REPOSITORIES:,} repositories (those of
"Search" below, written by the same code) and one repository, `{BIG}`, of {TAGS + 1:,} tags.
{REQUESTS} requests per page, one after another on one kept-alive connection, after {WARM_UP} to
warm up; where a row names several pages (search words, tag pages, pages of tags) they are
requested in turn. Signed in means the session cookie of the sign-in form (the user owns the big
repository and the organisation). Latency at the client, in milliseconds; the target is a p95
under {TARGET_MS:.0f} ms.

{table(results)}

Machine: {machine_note()}. CPU pressure from all work (PSI `some avg60`) when the pages were
measured: {pressure}; other work shared the machine's two CPUs throughout.
"""


def write(section: str) -> None:
    """Replace the section (from its heading to the next one), or add it at the end."""
    text = DOCS.read_text() if DOCS.exists() else ""
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    options = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="web-bench-") as work:
        for name in options.backend or ["sqlite"]:
            results[name] = run(name, Path(work))
    section = render(results, cpu_pressure() or "not reported")
    print(section)
    if not options.no_write:
        write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
