"""Which failures say a dependency is away (503, retry) and which are bugs (500, traceback)."""

from __future__ import annotations

import errno
import sqlite3

import opendal.exceptions
import psycopg
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from dockyard.kit.unavailable import DATABASE, STORAGE, away


def _sqlalchemy_error(sql: str) -> OperationalError:
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text(sql))
    return raised.value


def test_a_database_that_refuses_connections_is_away() -> None:
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect("host=127.0.0.1 port=1 connect_timeout=2")
    assert away(raised.value) == DATABASE


def test_a_locked_sqlite_database_is_away_but_a_wrong_statement_is_a_bug() -> None:
    locked = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    locked.__cause__ = locked.orig
    assert away(locked) == DATABASE
    assert away(_sqlalchemy_error("SELECT * FROM no_such_table")) is None


def test_an_object_store_that_cannot_be_reached_or_fails_on_its_side_is_away() -> None:
    assert away(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")) == STORAGE
    slow_down = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
    assert away(ClientError(slow_down, "PutObject")) == STORAGE  # type: ignore[arg-type]
    # Refused credentials (keys rotated or revoked) are the operator's to mend, as EACCES is.
    denied = {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    assert away(ClientError(denied, "PutObject")) == STORAGE  # type: ignore[arg-type]
    missing = {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}
    assert away(ClientError(missing, "GetObject")) is None  # type: ignore[arg-type]
    # The same through opendal (Azure, GCS, Swift).
    assert away(opendal.exceptions.PermissionDenied("Access was denied")) == STORAGE
    assert away(opendal.exceptions.NotFound("not found")) is None


def test_a_failing_disk_is_away_but_a_missing_file_is_not() -> None:
    assert away(OSError(errno.EIO, "Input/output error")) == STORAGE
    assert away(OSError(errno.ENOSPC, "No space left on device")) == STORAGE
    assert away(FileNotFoundError(errno.ENOENT, "gone")) is None
    assert away(ValueError("a bug")) is None


def test_the_cause_of_a_wrapped_failure_is_read() -> None:
    try:
        try:
            raise OSError(errno.EIO, "Input/output error")
        except OSError as exc:
            raise RuntimeError("writing the blob failed") from exc
    except RuntimeError as wrapped:
        assert away(wrapped) == STORAGE
