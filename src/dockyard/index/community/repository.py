"""SQL for stars and comments. Every function takes a connection inside a transaction."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    delete,
    false,
    insert,
    or_,
    select,
    true,
    update,
)

from dockyard.db.upserts import conflict_insert
from dockyard.index.repositories.permissions import PUBLIC
from dockyard.index.repositories.repository import collaborations
from dockyard.index.repositories.service import Readable
from dockyard.index.tables import comments, repository_settings, stars, users

settings = repository_settings.c


def add_star(connection: Connection, repository: int, user_id: int, at: datetime) -> bool:
    """Star once; False when the user had already starred it. The count moves only with a
    row really inserted: a concurrent star of the same pair waits on the key and inserts
    nothing, and `star_count + 1` is one atomic update, on SQLite and PostgreSQL alike."""
    inserted = connection.execute(
        conflict_insert(connection, stars)
        .values(repository_id=repository, user_id=user_id, created_at=at)
        .on_conflict_do_nothing(index_elements=["repository_id", "user_id"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT here.
        .returning(stars.c.user_id)
    ).first()
    if inserted is None:
        return False
    _count_stars(connection, repository, +1)
    return True


def remove_star(connection: Connection, repository: int, user_id: int) -> bool:
    """Unstar; False when there was no star (so the count stays)."""
    removed = connection.execute(
        delete(stars)
        .where(stars.c.repository_id == repository, stars.c.user_id == user_id)
        .returning(stars.c.user_id)
    ).first()
    if removed is None:
        return False
    _count_stars(connection, repository, -1)
    return True


def has_star(connection: Connection, repository: int, user_id: int) -> bool:
    query = select(stars.c.user_id).where(
        stars.c.repository_id == repository, stars.c.user_id == user_id
    )
    return connection.execute(query).first() is not None


def _count_stars(connection: Connection, repository: int, change: int) -> None:
    connection.execute(
        update(repository_settings)
        .where(settings.id == repository)
        .values(star_count=settings.star_count + change)
    )


def starred(
    connection: Connection, user_id: int, readable: Readable, limit: int, offset: int
) -> list[Row[tuple[object, ...]]]:
    """The repositories the user starred and may pull, newest star first."""
    query = (
        select(
            settings.name,
            settings.description,
            settings.visibility,
            settings.star_count,
            settings.pull_count,
            stars.c.created_at.label("starred_at"),
        )
        .select_from(stars.join(repository_settings, settings.id == stars.c.repository_id))
        .where(stars.c.user_id == user_id, _visible(readable))
        .order_by(stars.c.created_at.desc(), stars.c.repository_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(connection.execute(query))


def _visible(readable: Readable) -> ColumnElement[bool]:
    """`readable` as a condition on repository_settings."""
    if readable.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if readable.public:
        parts.append(settings.visibility == PUBLIC)
    if readable.namespaces:
        parts.append(settings.namespace.in_(sorted(readable.namespaces)))
    if readable.collaborator is not None:
        parts.append(settings.id.in_(collaborations(readable.collaborator)))
    return or_(*parts) if parts else false()


def stargazers(
    connection: Connection, repository: int, limit: int, offset: int
) -> list[Row[tuple[object, ...]]]:
    """Who starred the repository, newest first."""
    query = (
        select(users.c.username, stars.c.created_at.label("starred_at"))
        .select_from(stars.join(users, users.c.id == stars.c.user_id))
        .where(stars.c.repository_id == repository)
        .order_by(stars.c.created_at.desc(), stars.c.user_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(connection.execute(query))


def add_comment(
    connection: Connection, repository: int, user_id: int, text: str, at: datetime
) -> int:
    added = connection.execute(
        insert(comments).values(repository_id=repository, user_id=user_id, body=text, created_at=at)
    )
    key = added.inserted_primary_key
    assert key is not None
    return int(key[0])


_COMMENT = select(
    comments.c.id,
    comments.c.user_id,
    users.c.username.label("author"),
    comments.c.body,
    comments.c.created_at,
    comments.c.updated_at,
).select_from(comments.join(users, users.c.id == comments.c.user_id))


def comment(
    connection: Connection, repository: int, comment_id: int
) -> Row[tuple[object, ...]] | None:
    query = _COMMENT.where(comments.c.id == comment_id, comments.c.repository_id == repository)
    return cast("Row[tuple[object, ...]] | None", connection.execute(query).first())


def comments_of(
    connection: Connection, repository: int, limit: int, offset: int
) -> list[Row[tuple[object, ...]]]:
    """A repository's comments, newest first."""
    query = (
        _COMMENT.where(comments.c.repository_id == repository)
        .order_by(comments.c.created_at.desc(), comments.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(connection.execute(query))


def edit_comment(connection: Connection, comment_id: int, text: str, at: datetime) -> None:
    connection.execute(
        update(comments).where(comments.c.id == comment_id).values(body=text, updated_at=at)
    )


def delete_comment(connection: Connection, comment_id: int) -> None:
    connection.execute(delete(comments).where(comments.c.id == comment_id))


def forget_user(connection: Connection, user_id: int) -> None:
    """Remove the user's stars (each repository's count following) and comments."""
    removed = connection.execute(
        delete(stars).where(stars.c.user_id == user_id).returning(stars.c.repository_id)
    )
    # In id order: two transactions updating the same counts never wait on each other in turn.
    for repository in sorted(int(found) for found in removed.scalars()):
        _count_stars(connection, repository, -1)
    connection.execute(delete(comments).where(comments.c.user_id == user_id))


def forget_repository(connection: Connection, repository: int) -> None:
    """Remove the repository's stars and comments (before its settings row goes)."""
    connection.execute(delete(stars).where(stars.c.repository_id == repository))
    connection.execute(delete(comments).where(comments.c.repository_id == repository))
