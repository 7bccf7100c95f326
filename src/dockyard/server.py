"""Serve the app with Granian: HTTP/1.1 (and HTTP/2 over TLS), uvloop, files sent outside
Python (pathsend)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
from granian.http import HTTP1Settings
from granian.server import Server
from granian.server.common import AbstractServer

from dockyard.app import SETTINGS_VARIABLE
from dockyard.auth.factory import create_auth
from dockyard.config import CannotStart, Settings, TlsSettings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.metrics.exposition import prepare as prepare_metrics
from dockyard.storage.factory import create_driver
from dockyard.supervision import begin_draining, begin_stopping, draining, mark_supervisor
from dockyard.tls import ServedFiles, TlsFilesWatcher
from dockyard.tls import prepare as prepare_tls

log = logging.getLogger("dockyard")


def prepare(settings: Settings) -> None:
    """Create the data directory (and a filesystem storage's root) and bring the database
    schema up to date, once; CannotStart, with the reason in a line, when they cannot be used
    (the workers failed on them one after another, each with a traceback)."""
    _writable_directory("--data", settings.data_dir)
    if settings.storage.driver == "filesystem":
        _writable_directory("storage.root", settings.storage_root)
    elif settings.storage.driver != "memory":
        _object_store_answers(settings)
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


def _warn_of_a_default_mirror_open_to_sign_up(settings: Settings) -> None:
    """Said at each start, since the operator may not have read docs/operations.md: the
    names a default rule mirrors are also names anyone may sign up with."""
    if settings.auth.mode != "index" or not settings.index.signup_enabled:
        return
    if any(rule.default for rule in settings.mirrors):
        log.warning(
            "a default mirror rule with index.signup_enabled: anyone who signs up with a name"
            " nothing was cached under yet (bitnami, say) serves their own pushes under it in"
            " place of the upstream's; give the upstream a prefix rule, or turn sign-up off"
            " (docs/operations.md, Mirrors)"
        )


def _writable_directory(key: str, path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CannotStart(f"{key}: cannot create the directory {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CannotStart(f"{key}: the directory {path} cannot be written")


def _object_store_answers(settings: Settings) -> None:
    """The object store answers the readiness probe's lookup: credentials it refuses, a bucket
    or container that is not there, or no store at that address stop start-up with the store's
    reason in a line (the server started, then failed every push with a traceback). Asked from
    a child process: opendal's runtime, started here, would not survive the fork of the
    workers (their requests to the store hung)."""
    context = multiprocessing.get_context("fork")
    answer, answering = context.Pipe(duplex=False)
    child = context.Process(target=_probe_store, args=(settings, answering), daemon=True)
    child.start()
    answering.close()
    try:
        said: str = answer.recv()
    except EOFError:
        said = "the check ended without an answer"
    finally:
        child.join()
    if said:
        raise CannotStart(
            f"storage.{settings.storage.driver}: the object store cannot be used: {said}"
        )


def _probe_store(settings: Settings, answering: Connection) -> None:
    driver = create_driver(settings.storage, settings.storage_root)

    async def probe() -> None:
        try:
            await driver.check()
        finally:
            await driver.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        answering.send(" ".join(str(exc).split())[:300] or type(exc).__name__)
    else:
        answering.send("")


def serve(settings: Settings) -> None:
    prepare(settings)
    _warn_of_a_default_mirror_open_to_sign_up(settings)
    prepare_metrics(settings)  # before the workers start: they write where it says
    tls = settings.http.tls
    served = prepare_tls(tls, settings.data_dir) if tls.enabled else None
    os.environ[SETTINGS_VARIABLE] = settings.model_dump_json()
    mark_supervisor()  # workers stop by themselves if this process is killed
    log.info(
        "serving on %s://%s with %d worker%s (data in %s, storage %s)",
        "https" if served else "http",
        settings.http.addr,
        settings.http.workers,
        "" if settings.http.workers == 1 else "s",
        settings.data_dir.resolve(),
        settings.storage.driver,
    )
    server = Server(
        "dockyard.app:app_from_environment",
        factory=True,
        address=settings.http.host,
        port=settings.http.port,
        interface=Interfaces.ASGI,
        workers=settings.http.workers,
        loop=Loops.uvloop,
        # HTTP/2 where TLS negotiates it (ALPN), HTTP/1.1 otherwise; plain HTTP stays 1.1.
        http=HTTPModes.auto if served else HTTPModes.http1,
        log_level=settings.log.level,  # type: ignore[arg-type]
        log_access=False,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(settings.http.limits.header_timeout_seconds * 1000),
            max_buffer_size=settings.http.limits.max_header_bytes,
        ),
        workers_kill_timeout=settings.http.shutdown_grace_seconds or None,
        **_tls_options(tls, served),
    )
    _drain_before_stopping(server, settings.http.drain_seconds)
    if served is not None:
        TlsFilesWatcher(tls, served, server.signal_handler_reload).start()
    server.serve()


def _tls_options(tls: TlsSettings, served: ServedFiles | None) -> dict[str, Any]:
    if served is None:
        return {}
    return {
        "ssl_cert": served.certificate,
        "ssl_key": served.key,
        "ssl_protocol_min": SSLProtocols(tls.minimum_version),
        "ssl_ca": served.client_cas,
        "ssl_client_verify": served.client_cas is not None,
    }


def _drain_before_stopping(server: AbstractServer[Any], seconds: float) -> None:
    """On SIGTERM or SIGINT: /readyz fails at once in every worker; the workers stop (Granian's
    graceful stop: no new connections, requests in flight finish) `seconds` later, or at a
    second signal."""
    granian_stop: Callable[..., None] = server.signal_handler_interrupt

    def stop(*args: Any) -> None:
        begin_stopping()  # for a worker still starting (supervision.stop_if_supervisor_stopping)
        granian_stop(*args)

    def drain_then_stop(*args: Any) -> None:
        if draining() or seconds == 0:
            begin_draining()
            stop(*args)
            return
        begin_draining()
        log.info("stopping: /readyz fails now, the workers stop in %g s", seconds)
        threading.Timer(seconds, stop, args).start()

    # Granian installs its handlers from these attributes when it starts.
    server.signal_handler_interrupt = drain_then_stop  # type: ignore[method-assign]
