"""How many examples each fuzz test runs: a few, the same ones every time, in the test command;
as many as DOCKYARD_FUZZ_EXAMPLES says, new ones every run, in the long run (`make fuzz`)."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

EXAMPLES_VARIABLE = "DOCKYARD_FUZZ_EXAMPLES"


def long_run_examples() -> int | None:
    value = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    return int(value) if value else None


def fuzz_settings(examples: int, long_share: float = 1.0, **overrides: Any) -> settings:
    """`examples` per test in the test command (derandomized: every run tries the same
    inputs); DOCKYARD_FUZZ_EXAMPLES per test (times `long_share`, for tests whose examples
    send many requests), randomized, in a long run."""
    long_run = long_run_examples()
    return settings(
        max_examples=examples if long_run is None else max(1, round(long_run * long_share)),
        derandomize=long_run is None,
        deadline=None,
        database=None,  # nothing written into the checkout; failures print their example
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            # The server is per session; the per-test checks around it run once per test.
            HealthCheck.function_scoped_fixture,
        ],
        **overrides,
    )
