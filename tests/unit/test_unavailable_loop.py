"""A dependency's failure that asyncio itself reports (a library's task whose exception nobody
retrieved) is noted once, without a traceback; anything else keeps asyncio's report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import aiohttp
import pytest

from dockyard.kit import unavailable

LOST = "Task exception was never retrieved"


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.AbstractEventLoop]:
    monkeypatch.setattr(unavailable, "_last_logged", {})  # nothing noted yet in this process
    loop = asyncio.new_event_loop()
    unavailable.quiet_loop_errors(loop)
    yield loop
    loop.close()


def test_an_object_store_connection_lost_in_a_forgotten_task_is_noted_once(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        reset = aiohttp.ClientConnectionResetError("Cannot write to closing transport")
        loop.call_exception_handler({"message": LOST, "exception": reset})
    (record,) = caplog.records
    assert record.name == "dockyard.unavailable"
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "the storage is unavailable" in record.getMessage()
    assert "ClientConnectionResetError" in record.getMessage()


def test_any_other_failure_keeps_asyncios_report(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    loop.call_exception_handler({"message": LOST, "exception": ValueError("a bug")})
    (record,) = caplog.records
    assert record.name == "asyncio"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
