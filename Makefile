# The two commands of the README: `make serve` and `make test`. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:5000
DATA ?= ./data

.PHONY: serve test lint unit fuzz bench bench-s3 bench-search bench-events bench-event-instructions bench-listings bench-growth bench-web bench-gc bench-client bench-mirror system-deps clean

serve: $(VENV)/.installed
	$(BIN)/dockyard serve --addr $(ADDR) --data $(DATA)

# Three test processes on two CPUs: most tests wait on servers (leases, kills, restarts), and
# a third process fills those waits (14 min where two took 18.5 on the 2-CPU machine). The
# slowest tests are listed at the end, to see where a slow run spent its time. Work stealing: with
# pytest-xdist's default (`load`) the tests handed to a process early stay there, and one process
# ran the slow modules alone for 7 of the 17 minutes after the other two had finished.
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): the tests
# start hundreds of servers and commands, and each compiled Dockyard's sources anew (0.2-0.3 s
# of CPU a process), as each pytest process did its assertion rewriting of every test module.
test: $(VENV)/.installed-test system-deps lint
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n 3 --dist worksteal --durations=15 tests

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests bench
	PATH=$(BIN):$$PATH $(BIN)/cython-lint --max-line-length 100 src

unit: $(VENV)/.installed-test system-deps
	$(BIN)/pytest -q tests/unit

# The fuzz suite of `make test` for much longer (docs/fuzzing.md): FUZZ_EXAMPLES random examples
# per test against a server in each auth mode, then requests per family, status classes and the
# workers' memory before and after. FUZZ_ARGS go to pytest (e.g. --hypothesis-seed=1);
# FUZZ_BACKEND=postgresql puts the servers' metadata on PostgreSQL.
FUZZ_EXAMPLES ?= 3500
FUZZ_ARGS ?=
FUZZ_BACKEND ?= sqlite
fuzz: $(VENV)/.installed-test system-deps
	DOCKYARD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) DOCKYARD_FUZZ_BACKEND=$(FUZZ_BACKEND) \
		$(BIN)/pytest -q tests/fuzz $(FUZZ_ARGS)

bench: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.registry_bench

# The same comparison on S3 (a SeaweedFS) and PostgreSQL, started and stopped by the benchmark.
bench-s3: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.s3_bench

# Search over 100,000 repositories on SQLite and PostgreSQL (docs/benchmarks.md, "Search").
bench-search: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.search_bench

# The web UI's pages over 100,000 repositories and 10,000 tags (docs/benchmarks.md, "Web UI").
bench-web: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.web_bench

# Collecting garbage online against Distribution's offline garbage-collect on the same images
# (docs/benchmarks.md, "Garbage collection").
bench-gc: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.gc_bench

# `dockyard push` and `pull` against `skopeo copy` with a 500 MB image of 20 layers
# (docs/benchmarks.md, "Client push and pull").
bench-client: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.client_bench

# A cold pull through a Dockyard mirror against one straight from the upstream, and cold and
# warm against Distribution's pull-through cache (docs/benchmarks.md, "Pull through a mirror").
bench-mirror: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.mirror_bench

# What pull events and pull counts cost a manifest GET (docs/benchmarks-events.md).
bench-events: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.pull_events_bench

# The same cost in instructions executed (callgrind), by part: free of timing noise.
bench-event-instructions: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.pull_event_instructions

# Tag lists, catalogue pages and memory against Distribution (docs/benchmarks.md).
bench-listings: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.listing_bench

# Manifest GET latency with 100,000 tags and repositories against 10 (docs/benchmarks.md, "Growth").
bench-growth: $(VENV)/.installed-test system-deps
	$(BIN)/python -m bench.growth_bench

# Debian packages the tests and benchmarks drive: real clients, the reference registry,
# PostgreSQL and Redis; and Azurite from npm. Installed only when missing.
system-deps:
	scripts/install-system-deps.sh
	scripts/install-node-deps.sh

$(VENV)/.installed: pyproject.toml setup.py src/dockyard/registry/events/pulls.pyx
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
