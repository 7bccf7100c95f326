"""A dependency that is away (the database, the storage) is the client's to retry, not the
server's bug: such a failure answers 503 with `Retry-After` and the registry's error body, and
is logged once per interval with what failed, never as a traceback per request or per round of
background work. Service resumes by itself: the next request tries again (the database pool
replaces dead connections on checkout).

Exceptions are told apart by their classes' names along the MRO and the cause chain, so that
the storage libraries a configuration does not use are never imported here.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from typing import Any

from starlette.responses import Response

from dockyard.kit.errors import ErrorCode, error_response

DATABASE = "database"
STORAGE = "storage"
# What a 503 asks clients to wait, in seconds: long enough for a restart to begin answering.
RETRY_AFTER_SECONDS = 5
# At most one log line per dependency this often (with how many failures it stands for).
LOG_INTERVAL_SECONDS = 30.0

# SQLAlchemy's errors are told by the driver's that caused them (a SQL mistake is an
# OperationalError on SQLite too, and a bug), but for its own about connections.
_DATABASE_ERRORS = {
    "sqlalchemy.exc.TimeoutError",  # no connection free in the pool in time
    "sqlalchemy.exc.DisconnectionError",
    "psycopg.OperationalError",  # refused, lost, shutting down, a statement timed out
    "psycopg.InterfaceError",
    # A server that takes no writes: a standby (a failover under way, a primary demoted) or
    # one set `default_transaction_read_only`.
    "psycopg.errors.ReadOnlySqlTransaction",
}
# How SQLite says that the database, not the statement, failed.
_SQLITE_AWAY = (
    "database is locked",
    "database table is locked",
    "disk I/O error",
    "unable to open database file",
    "database or disk is full",
    "attempt to write a readonly database",
)
_STORAGE_ERRORS = {
    "botocore.exceptions.ConnectionError",  # endpoint refused, connect and read timeouts
    "botocore.exceptions.ConnectionClosedError",
    "botocore.exceptions.ReadTimeoutError",
    "aiohttp.client_exceptions.ClientConnectionError",
    "opendal.exceptions.Unexpected",  # OpenDAL's report of a service it could not reach
    "opendal.exceptions.RateLimited",
    # The store refuses Dockyard (a 401 or 403: a Swift token expired, keys that may not
    # write), as S3's 403 and a disk's EACCES below: the operator's to mend.
    "opendal.exceptions.PermissionDenied",
}
# A filesystem that fails this way is away (a lost mount, a full or read-only disk), where
# other OS errors (a file not there) are the caller's business.
_STORAGE_ERRNOS = {
    errno.EIO,
    errno.ENOSPC,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.ESTALE,
    errno.ENOTCONN,
    errno.EDQUOT,
}

log = logging.getLogger("dockyard.unavailable")
_last_logged: dict[str, float] = {}
_unlogged: dict[str, int] = {}


def away(exc: BaseException) -> str | None:
    """DATABASE or STORAGE if `exc` (or what caused it) says that dependency is unreachable;
    None for any other failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _classify(exc: BaseException) -> str | None:
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__}
    if names & _DATABASE_ERRORS or getattr(exc, "connection_invalidated", False):
        return DATABASE
    if "sqlite3.OperationalError" in names and str(exc).startswith(_SQLITE_AWAY):
        return DATABASE
    if names & _STORAGE_ERRORS or _s3_store_failed_or_refused(exc, names):
        return STORAGE
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return STORAGE
    return None


def _s3_store_failed_or_refused(exc: BaseException, names: set[str]) -> bool:
    """A botocore ClientError the store answered with a 5xx (SlowDown, InternalError), or with
    403: it refuses Dockyard's credentials (keys rotated or revoked, keys without the right to
    write), as a disk that refuses it (EACCES) is away too: the operator's to mend, not a
    traceback per request (the start-up lookup stops `dockyard serve` on the same refusal)."""
    if "botocore.exceptions.ClientError" not in names:
        return False
    response: Any = getattr(exc, "response", {})
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return isinstance(status, int) and (status >= 500 or status == 403)


def note(dependency: str, exc: BaseException, where: str) -> None:
    """Log that `dependency` failed, at most once per LOG_INTERVAL_SECONDS: the exception's
    class and the first line of its message (no statement, no parameters), not a traceback."""
    now = time.monotonic()
    last = _last_logged.get(dependency)
    if last is not None and now - last < LOG_INTERVAL_SECONDS:
        _unlogged[dependency] = _unlogged.get(dependency, 0) + 1
        return
    _last_logged[dependency] = now
    more = _unlogged.pop(dependency, 0)
    since = f" ({more} more failures since the last report)" if more else ""
    log.warning(
        "the %s is unavailable (%s, %s: %s)%s; answering 503 until it is back",
        dependency,
        where,
        type(exc).__name__,
        _first_line(exc),
        since,
    )


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy's own message appends the statement; the driver's error says what failed.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0][:200] if lines else ""


def unavailable_response(dependency: str) -> Response:
    return error_response(
        ErrorCode.UNAVAILABLE,
        f"the {dependency} is unavailable; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def log_failure(logger: logging.Logger, message: str, exc: BaseException) -> None:
    """For background work: a dependency away is noted once per interval; anything else is
    logged with its traceback, as the bug it is."""
    dependency = away(exc)
    if dependency is not None:
        note(dependency, exc, message)
    else:
        logger.error(message, exc_info=exc)


def quiet_loop_errors(loop: asyncio.AbstractEventLoop) -> None:
    """What asyncio reports outside any request or loop of ours, a dependency's failure in a
    library's own task that nobody awaited (aiohttp's writer of an S3 request body, when the
    connection closes under it: "Task exception was never retrieved"), is noted as any other
    such failure, once per interval; anything else still goes to asyncio's handler."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        dependency = away(exc) if isinstance(exc, BaseException) else None
        if dependency is None or exc is None:
            loop.default_exception_handler(context)
        else:
            note(dependency, exc, str(context.get("message", "a task of a library")))

    loop.set_exception_handler(handle)
