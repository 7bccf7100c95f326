"""The whole Dockyard process as one ASGI application, built from resolved settings.

Server workers are separate processes: they rebuild the app from the settings that
`dockyard serve` resolved and handed over in the environment.
"""

from __future__ import annotations

import gc
import os

from starlette.types import ASGIApp

from dockyard.config import Settings
from dockyard.health import HealthMiddleware, Readiness
from dockyard.kit.forwarded import ForwardedMiddleware
from dockyard.metrics import exposition as metrics
from dockyard.metrics import switch
from dockyard.ratelimits.accounts import CLASSES
from dockyard.ratelimits.uploads import UploadConcurrencyMiddleware
from dockyard.registry.app import create_registry_app
from dockyard.registry.middleware import BodyRate, RegistryMiddleware
from dockyard.registry.state import Registry
from dockyard.supervision import watch_supervisor

SETTINGS_VARIABLE = "DOCKYARD_RESOLVED_SETTINGS"


def create_app(settings: Settings) -> ASGIApp:
    if metrics.enable_in_worker(settings):
        switch.turn_on()  # before the database and the storage are made: they are measured
    registry_app = create_registry_app(settings)
    registry: Registry = registry_app.state.registry
    app: ASGIApp = _rate_limited(registry_app, settings)
    app = UploadConcurrencyMiddleware(app, settings.http.limits.max_uploads_per_client)
    app = RegistryMiddleware(
        app,
        # Access lines are INFO records: a quieter level leaves them out, as it always did.
        access_log=settings.log.access and settings.log.level in ("debug", "info"),
        measured=switch.on,
        log_format=settings.log.format,
        body_rate=_body_rate(settings),
    )
    if switch.on and settings.http.debug.metrics_on_main:
        app = metrics.MetricsMiddleware(app, settings)
    app = HealthMiddleware(app, Readiness(registry.database, registry.driver))
    if settings.http.trusted_proxies:
        # Outermost: everything inside sees the client, scheme and host the proxy was given.
        app = ForwardedMiddleware(app, settings.http.trusted_proxies)
    return app


def _rate_limited(app: ASGIApp, settings: Settings) -> ASGIApp:
    """The app behind the request limits, if any are configured (`limits` imported only then).
    Inside the access log, so that refusals are logged like any answer."""
    rules = settings.ratelimits
    if not any(getattr(rules, name).model_dump(exclude_defaults=True) for name in CLASSES):
        return app
    from dockyard.ratelimits.requests import RateLimitMiddleware, RequestLimiter
    from dockyard.ratelimits.storage import request_storage

    return RateLimitMiddleware(app, RequestLimiter(rules, request_storage(settings)))


def _body_rate(settings: Settings) -> BodyRate | None:
    limits = settings.http.limits
    if not limits.min_body_bytes_per_second:
        return None
    return BodyRate(limits.min_body_bytes_per_second, limits.body_rate_window_seconds)


def app_from_environment() -> ASGIApp:
    """Granian's factory target in each worker process."""
    from dockyard.logs import configure_logging

    settings = Settings.model_validate_json(os.environ[SETTINGS_VARIABLE])
    configure_logging(settings.log.level, settings.log.format)
    watch_supervisor()
    app = create_app(settings)
    # What is built so far (the modules, the app, its routes and settings) lives as long as the
    # worker: moved out of the collector's reach, a full collection traverses only what came
    # after, instead of pausing every request in flight for 60-100 ms every few thousand.
    gc.collect()
    gc.freeze()
    return app
