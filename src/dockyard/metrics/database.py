"""The database as the metrics see it: statement time at the driver, connections in use."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event

from dockyard.metrics import families

_STARTED = "dockyard_metrics_started"


def measure(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "checkout", _checked_out)
    event.listen(engine, "checkin", _checked_in)


def _before(connection: Any, *_args: Any) -> None:
    connection.info[_STARTED] = time.perf_counter()


def _after(connection: Any, *_args: Any) -> None:
    started = connection.info.pop(_STARTED, None)
    if started is not None:
        families.database_query_seconds.observe(time.perf_counter() - started)


def _checked_out(*_args: Any) -> None:
    families.database_connections_in_use.inc()


def _checked_in(*_args: Any) -> None:
    families.database_connections_in_use.dec()
