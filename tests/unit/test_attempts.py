"""kit/attempts: attempts run apart, each end frees its place and wakes the worker, and an
attempt that fails unexpectedly is logged with its traceback rather than lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dockyard.kit.attempts import Attempts

log = logging.getLogger("tests.attempts")


def test_a_slow_attempt_holds_its_place_only_and_each_end_wakes_the_worker() -> None:
    async def main() -> None:
        wake = asyncio.Event()
        attempts: Attempts[str] = Attempts(2, wake, log)
        slow_may_end = asyncio.Event()

        async def slow() -> None:
            await slow_may_end.wait()

        attempts.start("slow", slow(), "slow attempt")
        attempts.start("quick", asyncio.sleep(0), "quick attempt")
        assert attempts.free == 0 and attempts.busy() == ["slow", "quick"]
        await asyncio.wait_for(wake.wait(), 5)  # the quick one ended
        assert attempts.free == 1 and attempts.busy() == ["slow"]
        wake.clear()
        slow_may_end.set()
        await asyncio.wait_for(wake.wait(), 5)
        assert attempts.free == 2 and attempts.busy() == []

    asyncio.run(main())


def test_an_unexpected_failure_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failing() -> None:
        raise ValueError("a bug")

    async def main() -> None:
        wake = asyncio.Event()
        attempts: Attempts[int] = Attempts(1, wake, log)
        attempts.start(7, failing(), "delivery 7")
        await asyncio.wait_for(wake.wait(), 5)
        assert attempts.free == 1

    with caplog.at_level(logging.ERROR, logger="tests.attempts"):
        asyncio.run(main())
    (record,) = caplog.records
    assert record.getMessage() == "delivery 7 failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


def test_stop_cancels_what_is_under_way() -> None:
    async def main() -> None:
        attempts: Attempts[int] = Attempts(3, asyncio.Event(), log)
        for key in range(3):
            attempts.start(key, asyncio.sleep(3600), f"attempt {key}")
        await attempts.stop()
        assert attempts.free == 3

    asyncio.run(asyncio.wait_for(main(), 10))
