"""kit/pace: work that keeps its pace ends as it would, work that falls behind is cancelled
and TooSlow raised, and a rate of 0 sets no pace."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.kit import pace


def test_work_that_moves_its_bytes_in_time_gives_its_result() -> None:
    async def main() -> str:
        moved = [0]

        async def work() -> str:
            for _ in range(4):
                await asyncio.sleep(0.3)
                moved[0] += 1000  # 1,000 bytes in 0.3 s, above 100 a second
            return "done"

        return await pace.kept_up(work(), 100, lambda: moved[0], 0)

    assert asyncio.run(main()) == "done"


def test_work_that_falls_behind_is_cancelled() -> None:
    cancelled = []

    async def main() -> None:
        async def trickle() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        await pace.kept_up(trickle(), 1000, lambda: 10, 500)  # behind after half a second

    with pytest.raises(pace.TooSlow) as caught:
        asyncio.run(main())
    assert cancelled == [True]
    assert caught.value.moved == 10 and 0.5 <= caught.value.elapsed < 5


def test_a_rate_of_zero_sets_no_pace() -> None:
    async def main() -> str:
        async def slow() -> str:
            await asyncio.sleep(1.2)  # past two watches, nothing moved
            return "done"

        return await pace.kept_up(slow(), 0, lambda: 0, 0)

    assert asyncio.run(main()) == "done"
