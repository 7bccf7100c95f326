"""SQL for search: text matches through the indexes of migration 0006 (an FTS5 trigram table on
SQLite, pg_trgm GIN indexes on PostgreSQL), the caller's visibility filter, an order, a page.

Search is a read model over the repository settings: it reads their table and keeps its own
text index of it (docs/decisions/0014-search.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    String,
    case,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)

from dockyard.index.repositories.service import Readable
from dockyard.index.tables import repository_settings as settings

# The trigram indexes find a text of three characters or more; shorter ones are looked for in
# every row (a bounded scan, docs/api.md).
TRIGRAM = 3
# Matches beyond this many are neither counted nor paged to (narrow the search instead): a
# search that matches most repositories costs what counting this many costs, not the whole table.
MAX_COUNTED = 10_000
_fts = table("repository_search", column("rowid"))


@dataclass(frozen=True, slots=True)
class Found:
    name: str
    namespace: str
    description: str
    visibility: str
    pull_count: int


def find(
    connection: Connection,
    readable: Readable,
    words: str,
    namespace: str | None,
    order: str,
    limit: int,
    offset: int,
) -> tuple[int, list[Found]]:
    """How many repositories match (counted up to MAX_COUNTED), and those of one page in
    `order`; a page past MAX_COUNTED is empty."""
    conditions = _conditions(connection.dialect.name, readable, words, namespace)
    columns: list[ColumnElement[Any]] = [
        settings.c.name,
        settings.c.namespace,
        settings.c.description,
        settings.c.visibility,
        settings.c.pull_count,
    ]
    if words:
        # Matches are found and ranked whole anyway: count them in the same pass.
        columns.append(func.count().over().label("matches"))
    query = (
        select(*columns)
        .where(*conditions)
        .order_by(*_order(words, order))
        .limit(max(0, min(limit, MAX_COUNTED - offset)))
        .offset(offset)
    )
    if connection.dialect.name == "postgresql" and len(words) >= TRIGRAM:
        # The planner prices `lower(...) LIKE` as nearly free and reads the whole table rather
        # than the trigram indexes for a text in a few thousand rows: 130 ms instead of 10.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = list(connection.execute(query)) if offset < MAX_COUNTED else []
    if rows and words:
        total = min(int(rows[0].matches), MAX_COUNTED)
    else:
        counted = select(settings.c.id).where(*conditions).limit(MAX_COUNTED).subquery()
        total = int(connection.execute(select(func.count()).select_from(counted)).scalar_one())
    found = [
        Found(row.name, row.namespace, row.description, row.visibility, int(row.pull_count))
        for row in rows
    ]
    return total, found


def _conditions(
    dialect: str, readable: Readable, words: str, namespace: str | None
) -> list[ColumnElement[bool]]:
    # On SQLite the visibility filter must never drive the query: SQLite's planner (without
    # statistics) would rather collect every public row through the visibility index than walk
    # the text index's few matches or the name index in order, stopping after one page.
    sqlite = dialect == "sqlite"
    conditions = []
    visible = _visible(readable, unindexed=sqlite)
    if visible is not None:
        conditions.append(visible)
    if namespace is not None:
        conditions.append(settings.c.namespace == namespace)
    if words:
        conditions.append(_matching(dialect, words))
    return conditions


def _column(name: str, unindexed: bool) -> ColumnElement[str]:
    """A column of the settings; `unindexed`: as SQLite's `+column`, which no index serves."""
    if unindexed:
        return literal_column(f"+repository_settings.{name}", String)
    return settings.c[name]


def _visible(readable: Readable, unindexed: bool) -> ColumnElement[bool] | None:
    if readable.everything:
        return None
    parts: list[ColumnElement[bool]] = []
    if readable.public:
        parts.append(_column("visibility", unindexed) == "public")
    if readable.namespaces:
        parts.append(_column("namespace", unindexed).in_(sorted(readable.namespaces)))
    if readable.ids:
        column = literal_column("+repository_settings.id", Integer) if unindexed else settings.c.id
        parts.append(column.in_(sorted(readable.ids)))
    return or_(*parts) if parts else false()


def _matching(dialect: str, words: str) -> ColumnElement[bool]:
    """Name or description holds `words` (lowercase), whatever the case."""
    if dialect == "sqlite":
        if len(words) >= TRIGRAM:
            phrase = '"' + words.replace('"', '""') + '"'
            found = select(_fts.c.rowid).where(text("repository_search MATCH :phrase"))
            return settings.c.id.in_(found.params(phrase=phrase))
        return or_(
            func.instr(func.lower(settings.c.name), words) > 0,
            func.instr(func.lower(settings.c.description), words) > 0,
        )
    pattern = "%" + _like(words) + "%"
    return or_(
        func.lower(settings.c.name).like(pattern, escape="\\"),
        func.lower(settings.c.description).like(pattern, escape="\\"),
    )


def _order(words: str, order: str) -> list[ColumnElement[object]]:
    """Every order ends with the (unique) name, so pages never overlap."""
    if order == "last_push":
        # Repositories never pushed (set up by their administrators) last.
        return [settings.c.last_push_at.desc().nulls_last(), settings.c.name]
    if order == "pulls":
        return [settings.c.pull_count.desc(), settings.c.name]
    if order != "relevance" or not words:
        # Stars are 0 everywhere until they can be given.
        return [settings.c.name]
    name, escaped = settings.c.name, _like(words)

    def like(pattern: str) -> ColumnElement[bool]:
        return name.like(pattern, escape="\\")

    rank = case(
        (or_(name == words, like("%/" + escaped)), 0),  # the name, or its last component
        (or_(like(escaped + "%"), like("%/" + escaped + "%")), 1),  # a component's start
        (like("%" + escaped + "%"), 2),
        else_=3,  # the description only
    )
    return [rank, name]


def _like(words: str) -> str:
    """`words` as a LIKE pattern matching exactly them."""
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
