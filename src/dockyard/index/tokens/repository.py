"""SQL for access tokens."""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, or_, select, update

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


# The two lookups of every request signed in with an access token, built once (building them
# anew cost as much as running them on SQLite): the token, with its owner's name, admin flag and
# disabled time, by its secret's hash, and by its owner and name (a token's subject).
_TOKENS = select(access_tokens, users.c.username, users.c.is_admin, users.c.disabled_at).join(
    users, users.c.id == access_tokens.c.user_id
)
_BY_SECRET = _TOKENS.where(access_tokens.c.secret_hash == bindparam("secret_hash"))
_BY_NAME = _TOKENS.where(
    users.c.username == bindparam("username"), access_tokens.c.name == bindparam("name")
)


def by_secret(connection: Connection, secret_hash: str) -> Row[tuple[object, ...]] | None:
    """The token with this secret and its owner's name, admin flag and disabled time."""
    return connection.execute(_BY_SECRET, {"secret_hash": secret_hash}).first()


def by_name(connection: Connection, username: str, name: str) -> Row[tuple[object, ...]] | None:
    return connection.execute(_BY_NAME, {"username": username, "name": name}).first()


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


def count_of_user(connection: Connection, user_id: int) -> int:
    query = select(func.count()).select_from(access_tokens)
    return int(connection.execute(query.where(access_tokens.c.user_id == user_id)).scalar_one())


def delete_ended(connection: Connection, user_id: int, before: datetime.datetime) -> None:
    """The user's tokens revoked or expired before `before`."""
    connection.execute(
        delete(access_tokens).where(
            access_tokens.c.user_id == user_id,
            or_(access_tokens.c.revoked_at < before, access_tokens.c.expires_at < before),
        )
    )
