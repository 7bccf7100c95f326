"""The fuzz suite's servers, one per auth mode for the whole session, and what is checked
around every test: a normal push and pull still work after it (and, as for every test, the
servers logged no traceback: tests/conftest.py); at the end, a summary of what was sent (the
figures `make fuzz` reports). `make fuzz FUZZ_BACKEND=postgresql` puts the servers' metadata on
PostgreSQL (a database each), which refuses some of what SQLite takes (NUL in text, numbers
too large for a column...)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from tests.fuzz.stats import STATS
from tests.fuzz.target import EVENTS_SECRET, FuzzTarget, Mode
from tests.support.index import index_server
from tests.support.postgres import backend_env
from tests.support.servers import dockyard_server

# Hypothesis keeps caches in .hypothesis/ of the working directory; keep the checkout clean.
set_hypothesis_home_dir(Path(__file__).resolve().parents[2] / ".pytest_cache" / "hypothesis")

# No login throttling (junk credentials would lock the fuzzer's own account out) and tokens
# that outlive a long run.
SERVER_ENV = {
    "DOCKYARD_AUTH__THROTTLE__MAX_FAILURES": "10000",
    "DOCKYARD_AUTH__THROTTLE__MAX_FAILURES_PER_ADDRESS": "100000",
    "DOCKYARD_AUTH__THROTTLE__WINDOW_SECONDS": "1",
    "DOCKYARD_AUTH__TOKEN__LIFETIME_SECONDS": "86400",
    # POST /api/events on (index mode), with no registry to read: events apply unsized.
    "DOCKYARD_INDEX__EVENTS__SECRET": EVENTS_SECRET,
}
BACKEND_VARIABLE = "DOCKYARD_FUZZ_BACKEND"


@contextmanager
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """SERVER_ENV, with the metadata on the backend DOCKYARD_FUZZ_BACKEND names (sqlite, the
    default, or postgresql)."""
    backend = os.environ.get(BACKEND_VARIABLE) or "sqlite"
    if backend not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"{BACKEND_VARIABLE}={backend}: sqlite or postgresql")
    with backend_env(backend, request) as env:
        yield {**SERVER_ENV, **env}


def _serve(mode: Mode, data: Path, request: pytest.FixtureRequest) -> Iterator[FuzzTarget]:
    with ExitStack() as stack:
        env = stack.enter_context(server_env(request))
        if mode == "index":
            server = stack.enter_context(index_server(data, env=env)).server
        else:
            server = stack.enter_context(dockyard_server(data, env=env))
        target = FuzzTarget(mode, server, STATS)
        target.sign_in()
        target.seed()
        target.push_and_pull()
        STATS.memory[mode] = [target.workers_rss()]
        try:
            yield target
        finally:
            STATS.memory[mode].append(target.workers_rss())
            target.close()


@pytest.fixture(scope="session")
def none_target(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FuzzTarget]:
    yield from _serve("none", tmp_path_factory.mktemp("fuzz-none") / "data", request)


@pytest.fixture(scope="session")
def index_target(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FuzzTarget]:
    yield from _serve("index", tmp_path_factory.mktemp("fuzz-index") / "data", request)


@pytest.fixture(params=["none", "index"])
def target(request: pytest.FixtureRequest) -> Iterator[FuzzTarget]:
    """The server of one auth mode (`auth: none`, or the default index mode), seeded with the
    content fuzzed requests point at; after the test, it must still take a normal push and
    pull."""
    served: FuzzTarget = request.getfixturevalue(f"{request.param}_target")
    served.seed()
    yield served
    served.push_and_pull()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATS.total:
        terminalreporter.write_sep("=", "fuzzing summary")
        terminalreporter.write_line(STATS.summary())
