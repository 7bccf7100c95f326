"""Search: which repositories match a text, of those the caller may pull, one page at a time.

A text matches a repository when its name or description holds it, whatever the case; an empty
text matches everything. The visibility filter is part of the query, so counts and pages only
ever hold what the caller may pull.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from dockyard.db.engine import Database
from dockyard.index.errors import Invalid
from dockyard.index.identity import identity_in
from dockyard.index.names import LIBRARY
from dockyard.index.repositories import service as repositories
from dockyard.index.repositories.permissions import Identity
from dockyard.index.search import common, repository

ORDERS = ("relevance", "stars", "pulls", "last_push")
MAX_PER_PAGE = 100
# Longer than any name or description: such a text matches nothing.
MAX_TEXT = 4096


@dataclass(frozen=True, slots=True)
class Query:
    text: str = ""
    page: int = 1
    per_page: int = 25
    namespace: str | None = None
    order: str = "relevance"


@dataclass(frozen=True, slots=True)
class Hit:
    name: str
    namespace: str
    description: str
    visibility: str
    pull_count: int
    star_count: int

    @property
    def is_official(self) -> bool:
        return self.namespace == LIBRARY


@dataclass(frozen=True, slots=True)
class Results:
    query: Query
    total: int
    hits: list[Hit]

    @property
    def pages(self) -> int:
        return -(-self.total // self.query.per_page)


async def search(
    database: Database, identity: Identity | None, query: Query, subject: str | None = None
) -> Results:
    """`subject`, instead of `identity`: whom a Bearer token or Basic credentials proved,
    looked up in the search's own transaction (on PostgreSQL, one transaction and its round
    trips fewer than identity_of's first)."""
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise Invalid(f"a page holds 1 to {MAX_PER_PAGE} results")
    if query.page < 1:
        raise Invalid("pages are numbered from 1")
    if query.order not in ORDERS:
        raise Invalid(f"sort must be one of {', '.join(ORDERS)}")
    words = query.text.strip().lower()
    if len(words) > MAX_TEXT or "\0" in words:
        return Results(query, 0, [])  # no name or description holds it

    def read(connection: Connection) -> Results:
        searcher = identity if subject is None else identity_in(connection, subject)
        readable = repositories.readable_by(connection, searcher)
        offset = (query.page - 1) * query.per_page
        total, rows = repository.find(
            connection, readable, words, query.namespace, query.order, query.per_page, offset
        )
        hits = [
            Hit(
                row.name,
                row.namespace,
                row.description,
                row.visibility,
                row.pull_count,
                row.star_count,
            )
            for row in rows
        ]
        return Results(query, total, hits)

    results = await database.run(read)
    common.share(database)  # what it learned, for every process, in the background
    return results
