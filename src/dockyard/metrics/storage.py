"""Storage calls as the metrics see them: each driver method's count, outcome and time, by
driver. A wrapper around the configured driver, made only when metrics are on."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from dockyard.metrics import families
from dockyard.storage.base import NotFound, StorageDriver


class MeasuredDriver:
    """Stands in for `driver`: every coroutine and async iterator it offers is measured; the
    rest (local paths) passes through. It follows the driver's interface as it grows, since it
    wraps by kind rather than by name."""

    def __init__(self, driver: StorageDriver, name: str) -> None:
        self._driver = driver
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._driver, attribute)
        if inspect.iscoroutinefunction(found):
            return self._call(attribute, found)
        if inspect.isasyncgenfunction(found) or _returns_iterator(self._driver, attribute):
            return self._stream(attribute, found)
        return found

    def _call(self, operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def measured(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "error"
            try:
                result = await method(*args, **kwargs)
                outcome = "ok"
                return result
            except NotFound:
                outcome = "ok"  # an answer, not a failure of the store
                raise
            finally:
                self._count(operation, outcome, started)

        return measured

    def _stream(self, operation: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def measured(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            started = time.perf_counter()
            outcome = "error"
            try:
                async for item in method(*args, **kwargs):
                    yield item
                outcome = "ok"
            except NotFound:
                outcome = "ok"
                raise
            finally:
                self._count(operation, outcome, started)

        return measured

    def _count(self, operation: str, outcome: str, started: float) -> None:
        families.storage_operations.labels(self._name, operation, outcome).inc()
        families.storage_seconds.labels(self._name, operation).observe(
            time.perf_counter() - started
        )


def _returns_iterator(driver: StorageDriver, attribute: str) -> bool:
    """`read`, `list`: plain methods that return an async iterator (the interface's)."""
    declared = getattr(StorageDriver, attribute, None)
    annotation = str(getattr(declared, "__annotations__", {}).get("return", ""))
    return "AsyncIterator" in annotation


def measured(driver: StorageDriver, name: str) -> StorageDriver:
    # The wrapper offers every method of the interface (by delegation): typed as the driver.
    return cast(StorageDriver, MeasuredDriver(driver, name))
