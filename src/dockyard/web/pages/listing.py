"""Repositories listed on a page (explore, search, namespaces): what search found, with the
catalogue's activity (last push) read in one go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dockyard.db.engine import Database
from dockyard.index.repositories import service as repositories
from dockyard.index.repositories.permissions import Identity
from dockyard.index.search import service as search


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    description: str
    visibility: str
    star_count: int
    pull_count: int
    last_push_at: datetime | None


async def rows(database: Database, who: Identity | None, hits: list[search.Hit]) -> list[Row]:
    infos = await repositories.infos(database, who, [hit.name for hit in hits])
    return [
        Row(
            hit.name,
            hit.description,
            hit.visibility,
            hit.star_count,
            hit.pull_count,
            infos[hit.name].last_push_at if hit.name in infos else None,
        )
        for hit in hits
    ]


async def find(
    database: Database, who: Identity | None, query: search.Query
) -> tuple[search.Results, list[Row]]:
    found = await search.search(database, who, query)
    return found, await rows(database, who, found.hits)
