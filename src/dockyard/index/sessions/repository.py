"""SQL for web sessions."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from dockyard.index.tables import users, web_sessions


def insert_session(
    connection: Connection,
    id_hash: str,
    user_id: int,
    csrf_token: str,
    created_at: datetime.datetime,
    expires_at: datetime.datetime,
) -> None:
    connection.execute(
        insert(web_sessions).values(
            id_hash=id_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def with_user(connection: Connection, id_hash: str) -> Any:
    """The session and the account it is for, in one read."""
    s, u = web_sessions.c, users.c
    query = (
        select(
            s.user_id,
            s.csrf_token,
            s.created_at,
            s.expires_at,
            u.username,
            u.is_admin,
            u.disabled_at,
            u.credentials_changed_at,
        )
        .join(users, u.id == s.user_id)
        .where(s.id_hash == id_hash)
    )
    return connection.execute(query).first()


def delete_one(connection: Connection, id_hash: str) -> None:
    connection.execute(delete(web_sessions).where(web_sessions.c.id_hash == id_hash))


def delete_of_user(connection: Connection, user_id: int) -> None:
    connection.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


def delete_expired(connection: Connection, now: datetime.datetime) -> int:
    result = connection.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
    return int(result.rowcount or 0)
