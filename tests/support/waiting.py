"""Waiting for what a server does in the background (the catalogue applying events, ...)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    found: Callable[[], T | None], seconds: float = 15, what: str = "the condition"
) -> T:
    """`found()` once it is truthy; fails the test when it is not within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {seconds} s (last: {value!r})")
        time.sleep(0.05)
