"""Serve the app with Granian: HTTP/1.1, uvloop, files sent outside Python (pathsend)."""

from __future__ import annotations

import logging
import os

from granian.constants import HTTPModes, Interfaces, Loops
from granian.server import Server

from dockyard.app import SETTINGS_VARIABLE
from dockyard.auth.factory import create_auth
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.supervision import mark_supervisor

log = logging.getLogger("dockyard")


def prepare(settings: Settings) -> None:
    """Create the data directory and bring the database schema up to date, once."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Here, before any worker starts: unusable auth files stop start-up with the key named,
    # and a token signing key is generated once, not raced for by the workers.
    create_auth(settings)
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()
    if settings.auth.mode == "index":
        from dockyard.index.bootstrap import ensure_admin

        ensure_admin(settings)


def serve(settings: Settings) -> None:
    prepare(settings)
    os.environ[SETTINGS_VARIABLE] = settings.model_dump_json()
    mark_supervisor()  # workers stop by themselves if this process is killed
    log.info(
        "serving on http://%s (data in %s, storage %s)",
        settings.http.addr,
        settings.data_dir.resolve(),
        settings.storage.driver,
    )
    Server(
        "dockyard.app:app_from_environment",
        factory=True,
        address=settings.http.host,
        port=settings.http.port,
        interface=Interfaces.ASGI,
        workers=settings.http.workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        log_level=settings.log.level,  # type: ignore[arg-type]
        log_access=False,
    ).serve()
