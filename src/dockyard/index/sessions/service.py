"""The rules of web sessions: a random id (only its SHA-256 kept), a CSRF token per session,
a fixed lifetime (expired rows swept at each sign-in), and an end whenever the account's
credentials end (sign-out, a password change or reset, a disable, the account's deletion:
dockyard.index.accounts.lifecycle calls `end_all_in`)."""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection

from dockyard.db.engine import Database
from dockyard.index.hashing import hash_token
from dockyard.index.repositories.permissions import Identity
from dockyard.index.sessions import repository
from dockyard.index.tables import as_utc


@dataclass(frozen=True, slots=True)
class Session:
    identity: Identity
    csrf_token: str
    expires_at: datetime.datetime


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def start(database: Database, identity: Identity, lifetime_seconds: int) -> str:
    """A new session for the account; its id (for the cookie), shown here only."""
    session_id = secrets.token_urlsafe(32)
    now = _now()
    expires = now + datetime.timedelta(seconds=lifetime_seconds)

    def insert(connection: Connection) -> None:
        # Each sign-in sweeps the expired rows (an indexed range): no background job needed.
        repository.delete_expired(connection, now)
        repository.insert_session(
            connection, hash_token(session_id), identity.user_id, secrets.token_urlsafe(32), now,
            expires,
        )  # fmt: skip

    await database.run(insert)
    return session_id


async def find(database: Database, session_id: str) -> Session | None:
    """The live session `session_id` names: not expired, its account enabled, no password change
    or disable since it started. None otherwise (the row goes, when there was one)."""
    id_hash = hash_token(session_id)
    row = await database.run(repository.with_user, id_hash)
    if row is None:
        return None
    created, expires, changed = row.created_at, row.expires_at, row.credentials_changed_at
    assert isinstance(created, datetime.datetime) and isinstance(expires, datetime.datetime)
    stale = isinstance(changed, datetime.datetime) and as_utc(changed) > as_utc(created)
    if as_utc(expires) <= _now() or row.disabled_at is not None or stale:
        await database.run(repository.delete_one, id_hash)
        return None
    identity = Identity(int(str(row.user_id)), str(row.username), bool(row.is_admin))
    return Session(identity, str(row.csrf_token), as_utc(expires))


async def end(database: Database, session_id: str) -> None:
    await database.run(repository.delete_one, hash_token(session_id))


def end_all_in(connection: Connection, user_id: int) -> None:
    """Every session of the account, inside the transaction that ends its credentials."""
    repository.delete_of_user(connection, user_id)
