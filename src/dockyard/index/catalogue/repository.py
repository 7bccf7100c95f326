"""The catalogue's SQL. Every function takes a connection inside a transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, func, select, update

from dockyard.db.upserts import conflict_insert
from dockyard.index import community
from dockyard.index.catalogue.describe import Description
from dockyard.index.names import namespace_of
from dockyard.index.repositories.removal import forget_in
from dockyard.index.repositories.repository import insert_settings
from dockyard.index.tables import catalogue_tags, repository_settings

settings = repository_settings.c


def ensure_repository(connection: Connection, name: str, visibility: str) -> int:
    """The id of repository `name` (canonical), made with `visibility` if new."""
    return insert_settings(connection, name, namespace_of(name), visibility)


def pushed(connection: Connection, repository: int, at: datetime) -> None:
    connection.execute(
        update(repository_settings)
        .where(
            settings.id == repository,
            (settings.last_push_at.is_(None)) | (settings.last_push_at < at),
        )
        .values(last_push_at=at)
    )


def put_tag(
    connection: Connection,
    repository: int,
    tag: str,
    digest: str,
    media_type: str,
    description: Description,
    actor: str | None,
    at: datetime,
) -> None:
    values = {
        "digest": digest,
        "media_type": media_type,
        "size": description.size,
        "platforms": json.dumps([p.to_json() for p in description.platforms]),
        "pushed_at": at,
        "pushed_by": actor[:255] if actor else None,
    }
    statement = conflict_insert(connection, catalogue_tags).values(
        repository_id=repository, tag=tag, **values
    )
    connection.execute(
        statement.on_conflict_do_update(index_elements=["repository_id", "tag"], set_=values)
    )


def repository_id(connection: Connection, name: str) -> int | None:
    found = connection.execute(select(settings.id).where(settings.name == name)).scalar()
    return None if found is None else int(found)


def delete_tags(
    connection: Connection, repository: int, tag: str | None, digest: str | None
) -> None:
    """Forget the tag, or every tag on the digest."""
    t = catalogue_tags.c
    statement = delete(catalogue_tags).where(t.repository_id == repository)
    if tag is not None:
        statement = statement.where(t.tag == tag)
    else:
        statement = statement.where(t.digest == digest)
    connection.execute(statement)


def forget_repository(connection: Connection, name: str) -> None:
    """Forget the repository: its tags, stars, comments, settings and collaborators."""
    found = repository_id(connection, name)
    if found is not None:
        connection.execute(delete(catalogue_tags).where(catalogue_tags.c.repository_id == found))
        community.forget_repository(connection, found)
        forget_in(connection, name)


def count_tags(connection: Connection, repositories: Iterable[int]) -> None:
    """Set the tag count of each repository from its tags."""
    for repository in sorted(set(repositories)):
        counted = (
            select(func.count())
            .where(catalogue_tags.c.repository_id == repository)
            .scalar_subquery()
        )
        connection.execute(
            update(repository_settings).where(settings.id == repository).values(tag_count=counted)
        )


def tag_page(
    connection: Connection, repository: int, by_name: bool, offset: int, limit: int
) -> list[Row[Any]]:
    """One page of the repository's tags, by name or newest first (ties by name)."""
    return list(connection.execute(tag_page_query(repository, by_name, offset, limit)))


def tag_page_query(repository: int, by_name: bool, offset: int, limit: int) -> Select[Any]:
    """The primary key or ix_catalogue_tags_newest walks the tags in the page's order, so a page
    reads the rows it skips and its own, and sorts nothing."""
    t = catalogue_tags.c
    ordering = [t.tag] if by_name else [t.pushed_at.desc(), t.tag]
    return (
        select(catalogue_tags)
        .where(t.repository_id == repository)
        .order_by(*ordering)
        .offset(offset)
        .limit(limit)
    )


def count_pulls(connection: Connection, pulls: dict[str, tuple[int, datetime]]) -> None:
    """Add pulls to repositories (canonical name → how many and when the last was)."""
    for name in sorted(pulls):
        count, last = pulls[name]
        connection.execute(
            update(repository_settings)
            .where(settings.name == name)
            .values(
                pull_count=settings.pull_count + count,
                last_pull_at=func.coalesce(
                    func.max(settings.last_pull_at, last)
                    if connection.dialect.name == "sqlite"
                    else func.greatest(settings.last_pull_at, last),
                    last,
                ),
            )
        )
