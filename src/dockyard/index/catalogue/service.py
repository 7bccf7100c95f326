"""Reading the catalogue: a repository's tags, one page at a time, for those who may pull it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from dockyard.auth.scopes import PULL
from dockyard.db.engine import Database
from dockyard.index.catalogue import repository
from dockyard.index.errors import Invalid, NotFound
from dockyard.index.names import canonical
from dockyard.index.repositories.permissions import Identity
from dockyard.index.repositories.service import access_in
from dockyard.index.tables import as_utc, catalogue_tags, repository_settings

TAG_ORDERS = ("name", "last_push")
MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    digest: str
    media_type: str
    size: int | None
    platforms: list[dict[str, Any]]
    pushed_at: datetime
    pushed_by: str | None


@dataclass(frozen=True, slots=True)
class TagPage:
    total: int
    tags: list[Tag]


async def tags(
    database: Database,
    identity: Identity | None,
    name: str,
    page: int,
    per_page: int,
    order: str,
) -> TagPage:
    if order not in TAG_ORDERS:
        raise Invalid(f"sort must be one of {', '.join(TAG_ORDERS)}")

    def read(connection: Connection) -> TagPage:
        found, total = _pullable(connection, identity, name)
        offset = (page - 1) * per_page
        rows = repository.tag_page(connection, found, order == "name", offset, per_page)
        return TagPage(total, [_tag(row) for row in rows])

    return await database.run(read)


async def tag(database: Database, identity: Identity | None, name: str, tag: str) -> Tag:
    """One tag of a repository `identity` may pull; NotFound otherwise."""

    def read(connection: Connection) -> Tag:
        found, _ = _pullable(connection, identity, name)
        t = catalogue_tags.c
        query = select(catalogue_tags).where(t.repository_id == found, t.tag == tag)
        row = connection.execute(query).first()
        if row is None:
            raise NotFound(f"{name} has no tag {tag!r}")
        return _tag(row)

    return await database.run(read)


def _pullable(connection: Connection, identity: Identity | None, name: str) -> tuple[int, int]:
    """The settings id of `name` and its tag count when `identity` may pull it; NotFound (as
    for none) else."""
    access = access_in(connection, identity, [name])[name]
    s = repository_settings.c
    found = connection.execute(select(s.id, s.tag_count).where(s.name == canonical(name))).first()
    if found is None or PULL not in access.actions:
        raise NotFound(f"no repository {name!r}")
    return int(found.id), int(found.tag_count)


def _tag(row: Any) -> Tag:
    return Tag(
        row.tag,
        row.digest,
        row.media_type,
        row.size,
        json.loads(row.platforms),
        as_utc(row.pushed_at),
        row.pushed_by,
    )
