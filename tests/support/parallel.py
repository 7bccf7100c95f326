"""Many clients released at once, against one server or spread over several."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx

from tests.support.servers import DockyardServer

T = TypeVar("T")


def together(
    workers: int, task: Callable[[httpx.Client, int], T], *servers: DockyardServer
) -> list[T]:
    """Run task(client, i) in `workers` threads, each with its own connection (to server
    i modulo the number of servers), released at once."""
    start = threading.Barrier(workers)

    def run(i: int) -> T:
        with httpx.Client(base_url=servers[i % len(servers)].url, timeout=60) as client:
            start.wait()
            return task(client, i)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, range(workers)))
