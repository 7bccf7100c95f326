"""SQL for users."""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, Row, func, insert, select

from dockyard.index.tables import organisations, users


def by_name(connection: Connection, username: str) -> Row[tuple[object, ...]] | None:
    return connection.execute(select(users).where(users.c.username == username)).first()


def name_taken(connection: Connection, name: str) -> bool:
    """Users and organisations share one space of namespaces."""
    user = connection.execute(select(users.c.id).where(users.c.username == name)).first()
    org = connection.execute(select(organisations.c.id).where(organisations.c.name == name)).first()
    return user is not None or org is not None


def insert_user(
    connection: Connection, username: str, email: str, password_hash: str, is_admin: bool
) -> int:
    result = connection.execute(
        insert(users).values(
            username=username,
            email=email,
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=datetime.datetime.now(datetime.UTC),
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users)).scalar_one())
