"""SQL for access tokens."""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, Row, insert, select, update

from dockyard.index.tables import access_tokens, users


def insert_token(
    connection: Connection,
    user_id: int,
    name: str,
    kind: str,
    secret_hash: str,
    scopes: str,
    expires_at: datetime.datetime | None,
) -> None:
    connection.execute(
        insert(access_tokens).values(
            user_id=user_id,
            name=name,
            kind=kind,
            secret_hash=secret_hash,
            scopes=scopes,
            expires_at=expires_at,
            created_at=datetime.datetime.now(datetime.UTC),
        )
    )


def by_secret(connection: Connection, secret_hash: str) -> Row[tuple[object, ...]] | None:
    """The token with this secret and its owner's name, admin flag and disabled time."""
    query = (
        select(access_tokens, users.c.username, users.c.is_admin, users.c.disabled_at)
        .join(users, users.c.id == access_tokens.c.user_id)
        .where(access_tokens.c.secret_hash == secret_hash)
    )
    return connection.execute(query).first()


def by_name(connection: Connection, username: str, name: str) -> Row[tuple[object, ...]] | None:
    query = (
        select(access_tokens, users.c.username, users.c.is_admin, users.c.disabled_at)
        .join(users, users.c.id == access_tokens.c.user_id)
        .where(users.c.username == username, access_tokens.c.name == name)
    )
    return connection.execute(query).first()


def of_user(connection: Connection, user_id: int) -> list[Row[tuple[object, ...]]]:
    query = (
        select(access_tokens)
        .where(access_tokens.c.user_id == user_id)
        .order_by(access_tokens.c.name)
    )
    return list(connection.execute(query))


def revoke(connection: Connection, user_id: int, name: str) -> bool:
    result = connection.execute(
        update(access_tokens)
        .where(
            access_tokens.c.user_id == user_id,
            access_tokens.c.name == name,
            access_tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.datetime.now(datetime.UTC))
    )
    return result.rowcount > 0
