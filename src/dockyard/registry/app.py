"""The registry as an ASGI application: routes, error answers, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dockyard.auth.factory import Auth, create_auth
from dockyard.config import Settings
from dockyard.kit import unavailable
from dockyard.kit.errors import NOT_FOUND_PAGE, ErrorCode, error_response
from dockyard.registry.collection.collector import collect_on_schedule
from dockyard.registry.errors import RegistryError
from dockyard.registry.events.delivery import Deliverer
from dockyard.registry.middleware import SlowBody
from dockyard.registry.policies.retention import retain_on_schedule
from dockyard.registry.replication.receiver import ReplicationReceiver
from dockyard.registry.routes import registry_routes, v1_routes
from dockyard.registry.state import Registry
from dockyard.supervision import stop_if_supervisor_stopping

log = logging.getLogger("dockyard.registry")


def create_registry_app(settings: Settings) -> Starlette:
    registry = Registry.from_settings(settings)

    auth = create_auth(settings)
    for receiver in auth.event_receivers(registry):
        registry.events.add_local(receiver)
    if settings.replication.rules:
        # Fed the pushes by the outbox; its copies run beside the deliveries (the Deliverer).
        replication = ReplicationReceiver(
            settings.replication, registry.database, settings.http.port
        )
        registry.events.add_local(replication)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        unavailable.quiet_loop_errors(asyncio.get_running_loop())
        registry.mirrors.prepare()
        purging = asyncio.create_task(_purge_stale_uploads(registry, settings))
        collecting = None
        if settings.registry.gc.enabled:
            collecting = asyncio.create_task(collect_on_schedule(registry, settings.registry.gc))
        retention = settings.registry.retention
        policies = [asyncio.create_task(registry.tag_pulls.flush_on_schedule(registry.database))]
        if retention.enabled:
            policies.append(asyncio.create_task(retain_on_schedule(registry, retention)))
        deliverer = Deliverer(settings.notifications, registry.database, registry.events)
        # Also with no endpoint: writing buffered pulls is its job (there are none then).
        delivering = asyncio.create_task(deliverer.run())
        stop_if_supervisor_stopping()
        yield
        purging.cancel()
        delivering.cancel()
        if collecting is not None:
            collecting.cancel()
        for task in policies:
            task.cancel()
        with contextlib.suppress(Exception):
            await registry.tag_pulls.flush(registry.database)
        await registry.events.flush_pulls()
        await deliverer.close()
        await registry.mirrors.close()
        await registry.driver.close()
        await registry.cache.close()
        registry.database.dispose()
        auth.close()

    app = Starlette(
        routes=_routes(auth, registry, standalone=settings.auth.mode != "index"),
        lifespan=lifespan,
        exception_handlers={
            RegistryError: registry_error,
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            Exception: server_error,
        },
    )
    app.state.registry = registry
    return app


def _routes(auth: Auth, registry: Registry, standalone: bool) -> list[BaseRoute]:
    routes: list[BaseRoute] = [*registry_routes(auth.access)]
    # Standalone: no index in front decides who may do what (`auth.mode` none, htpasswd, token).
    routes.extend(v1_routes(auth.access, standalone))
    if auth.token_service is not None:
        # The standalone token server, for this registry and any other that trusts its key.
        routes.append(Route("/token", auth.token_service.endpoint, methods=["GET", "POST"]))
    routes.extend(auth.routes)
    # Last: the web UI's pages at / match only what no route above took.
    routes.extend(auth.pages(registry))
    return routes


async def _purge_stale_uploads(registry: Registry, settings: Settings) -> None:
    age = timedelta(hours=settings.registry.upload_purge_after_hours)
    interval = settings.registry.upload_purge_interval_minutes * 60
    while True:
        try:
            purged = await registry.uploads.purge_stale(age)
            if purged:
                log.info("purged %d stale upload sessions", purged)
        except Exception as exc:
            # A failed round (database away) must not end the loop: the next one retries.
            unavailable.log_failure(log, "purging stale uploads failed", exc)
        await asyncio.sleep(interval)


async def registry_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    return exc.response()


# Paths of the APIs: their 404s stay JSON whoever asks.
_API_PATHS = ("/v2/", "/v1/", "/api/", "/token", "/static/")


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong method) in the spec's error format; a
    browser's GET of a path no route has gets the web UI's page, when there is one."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and _from_a_browser(request):
        for route in request.app.routes:
            if getattr(route, "name", None) == NOT_FOUND_PAGE:
                page: Response = await route.endpoint(request)
                return page
    code = ErrorCode.UNSUPPORTED if exc.status_code == 405 else ErrorCode.NAME_UNKNOWN
    message = "method not allowed" if exc.status_code == 405 else "no such endpoint"
    error = RegistryError(code, message, status=exc.status_code, headers=dict(exc.headers or {}))
    return await registry_error(request, error)


def _from_a_browser(request: Request) -> bool:
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith(_API_PATHS)
    )


async def client_gone(request: Request, exc: Exception) -> Response:
    """The body ended before its Content-Length: the client closed its side, or went away. Not
    the server's error: if the client still listens, it learns what it did."""
    if isinstance(exc, SlowBody):
        log.info("cut a body slower than the minimum rate: %s %s", request.method, request.url.path)
        limits = "its minimum rate (http.limits.min_body_bytes_per_second)"
        return await registry_error(
            request, RegistryError(ErrorCode.REQUEST_TIMEOUT, f"the body came slower than {limits}")
        )
    log.debug("client went away during %s %s", request.method, request.url.path)
    error = RegistryError(
        ErrorCode.SIZE_INVALID, "the request body ended before its Content-Length"
    )
    return await registry_error(request, error)


async def server_error(request: Request, exc: Exception) -> Response:
    dependency = unavailable.away(exc)
    if dependency is not None:
        unavailable.note(dependency, exc, f"{request.method} {request.url.path}")
        return unavailable.unavailable_response(dependency)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ErrorCode.UNKNOWN)
