"""SQL for search: text matches through the indexes of migration 0006 (an FTS5 trigram table on
SQLite, pg_trgm GIN indexes on PostgreSQL), the caller's visibility filter, an order, a page.

Search is a read model over the repository settings: it reads their table and keeps its own
text index of it (docs/decisions/0012-search.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    case,
    column,
    false,
    func,
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
_fts = table("repository_search", column("rowid"))


@dataclass(frozen=True, slots=True)
class Found:
    name: str
    namespace: str
    description: str
    visibility: str


def find(
    connection: Connection,
    readable: Readable,
    words: str,
    namespace: str | None,
    order: str,
    limit: int,
    offset: int,
) -> tuple[int, list[Found]]:
    """How many repositories match, and those of one page in `order`."""
    conditions = _conditions(connection, readable, words, namespace)
    count = select(func.count()).select_from(settings).where(*conditions)
    total = int(connection.execute(count).scalar_one())
    if offset >= total:
        return total, []
    query: Select[tuple[str, str, str, str]] = (
        select(settings.c.name, settings.c.namespace, settings.c.description, settings.c.visibility)
        .where(*conditions)
        .order_by(*_order(words, order))
        .limit(limit)
        .offset(offset)
    )
    return total, [
        Found(row.name, row.namespace, row.description, row.visibility)
        for row in connection.execute(query)
    ]


def _conditions(
    connection: Connection, readable: Readable, words: str, namespace: str | None
) -> list[ColumnElement[bool]]:
    conditions = []
    visible = _visible(readable)
    if visible is not None:
        conditions.append(visible)
    if namespace is not None:
        conditions.append(settings.c.namespace == namespace)
    if words:
        conditions.append(_matching(connection.dialect.name, words))
    return conditions


def _visible(readable: Readable) -> ColumnElement[bool] | None:
    if readable.everything:
        return None
    parts: list[ColumnElement[bool]] = []
    if readable.public:
        parts.append(settings.c.visibility == "public")
    if readable.namespaces:
        parts.append(settings.c.namespace.in_(sorted(readable.namespaces)))
    if readable.ids:
        parts.append(settings.c.id.in_(sorted(readable.ids)))
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
        # No push times yet (the catalogue comes from registry events): the newest first.
        return [settings.c.created_at.desc(), settings.c.name]
    if order != "relevance" or not words:
        # Stars and pulls are 0 everywhere until the catalogue counts them.
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
