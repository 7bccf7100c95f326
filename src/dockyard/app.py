"""The whole Dockyard process as one ASGI application, built from resolved settings.

Server workers are separate processes: they rebuild the app from the settings that
`dockyard serve` resolved and handed over in the environment.
"""

from __future__ import annotations

import os

from starlette.types import ASGIApp

from dockyard.config import Settings
from dockyard.registry.app import create_registry_app
from dockyard.registry.middleware import RegistryMiddleware
from dockyard.supervision import watch_supervisor

SETTINGS_VARIABLE = "DOCKYARD_RESOLVED_SETTINGS"


def create_app(settings: Settings) -> ASGIApp:
    return RegistryMiddleware(create_registry_app(settings), access_log=settings.log.access)


def app_from_environment() -> ASGIApp:
    """Granian's factory target in each worker process."""
    from dockyard.logs import configure_logging

    settings = Settings.model_validate_json(os.environ[SETTINGS_VARIABLE])
    configure_logging(settings.log.level)
    watch_supervisor()
    return create_app(settings)
