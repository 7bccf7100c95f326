"""Where the numbers are collected and served: the workers' files in one directory, read by
the supervisor's debug listener (`http.debug.addr`, as Distribution's) or by `GET /metrics` on
the main address (`http.debug.metrics_on_main`). Neither is on by default: the metrics say who
pushes what and how much, which is not for everyone."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.config import DebugSettings, Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger("dockyard.metrics")

DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
PATH = "/metrics"


def wanted(debug: DebugSettings) -> bool:
    return bool(debug.addr) or debug.metrics_on_main


def prepare(settings: Settings) -> None:
    """In the supervisor, before any worker starts: the directory the workers write their
    numbers to (a fresh one, removed at exit), and the debug listener."""
    if not wanted(settings.http.debug):
        return
    directory = tempfile.mkdtemp(prefix="dockyard-metrics-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    # Read by prometheus_client when first imported, here and in every worker it forks.
    os.environ[DIRECTORY_VARIABLE] = directory
    if settings.http.debug.addr:
        from prometheus_client import start_http_server

        host, _, port = settings.http.debug.addr.rpartition(":")
        start_http_server(int(port), host.strip("[]"), registry=collecting(settings))
        log.info("metrics on http://%s%s", settings.http.debug.addr, PATH)


def collecting(settings: Settings) -> CollectorRegistry:
    """Every worker's numbers summed, and the queues as the database has them now."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(QueueCollector(settings))
    return registry


class QueueCollector:
    """The event outbox's backlog per endpoint and the webhook deliveries waiting and failed,
    read from the database at each scrape (every node sees the same queues)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._database: Any = None

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from dockyard.db.engine import Database
        from dockyard.kit.unavailable import log_failure
        from dockyard.registry.events import outbox

        if self._database is None:
            self._database = Database(self._settings.database_url, pool_size=1)
        backlog = GaugeMetricFamily(
            "dockyard_events_backlog", "Events waiting for an endpoint", labels=["endpoint"]
        )
        failed = GaugeMetricFamily(
            "dockyard_events_failed",
            "Events waiting whose delivery failed at least once",
            labels=["endpoint"],
        )
        oldest = GaugeMetricFamily(
            "dockyard_events_oldest_seconds",
            "Age of the oldest event waiting for an endpoint",
            labels=["endpoint"],
        )
        try:
            with self._database.engine.connect() as connection:
                statuses = outbox.statuses(connection)
        except Exception as exc:
            log_failure(log, "reading the event queues for metrics failed", exc)
            return
        moment = datetime.now(UTC)
        for status in statuses:
            backlog.add_metric([status.name], status.backlog)
            failed.add_metric([status.name], status.failed)
            if status.oldest is not None:
                age = moment - status.oldest.replace(tzinfo=status.oldest.tzinfo or UTC)
                oldest.add_metric([status.name], age.total_seconds())
        yield from (backlog, failed, oldest)


def enable_in_worker(settings: Settings) -> bool:
    """In a worker: whether to measure (the supervisor prepared the directory)."""
    return wanted(settings.http.debug) and DIRECTORY_VARIABLE in os.environ


async def endpoint_body(registry: CollectorRegistry) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    # Reading the workers' files and the queues blocks: off the event loop.
    return await asyncio.to_thread(generate_latest, registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Answers `GET /metrics` on the main address (`http.debug.metrics_on_main`); everything
    else goes on to `app`."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self._settings = settings
        self._registry: CollectorRegistry | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if self._registry is None:
            self._registry = collecting(self._settings)
        body, content_type = await endpoint_body(self._registry)
        await Response(body, media_type=content_type)(scope, receive, send)
