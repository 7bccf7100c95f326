"""Texts known to be common: each matched at least MAX_COUNTED public repositories when the
settings' search generation (migration 0026) had a value, and still does while it has it.

Matches only grow as repositories are added; the changes that can take one out of a text's
public matches (a deletion; a new name, description or visibility) move the generation in
their own transaction. A search that finds its text common at the generation it read before
looking needs no first pass: its count is MAX_COUNTED, and its page is found rank by rank
(docs/decisions/0016-search-speed.md). Everyone who may see the public repositories sees at
least as many matches, so it holds for them too.

Each process remembers what it learned, and shares it through the database (migration 0029)
with every other process and node: a search reads the shared value with the generation, in
the same statement; what a search learned is written after it, in the background, so that no
search waits for a write (on SQLite, for the write lock).
"""

from __future__ import annotations

import asyncio
import logging
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from dockyard.db.engine import Database
from dockyard.db.upserts import conflict_insert
from dockyard.index.tables import search_common_texts as shared
from dockyard.index.tables import search_generation

log = logging.getLogger("dockyard.search")

# Texts remembered per database, in each process and in the shared table; past this many, they
# are forgotten all at once (a search then counts its matches again, and remembers them anew).
MAX_REMEMBERED = 10_000
# Longer texts are remembered by their process only (the shared table's key is a name's length:
# a text that long in a thousand repositories is rare).
MAX_SHARED_TEXT = 255

_GENERATION = select(search_generation.c.generation).where(search_generation.c.id == 1)
_SHARED = select(shared.c.generation).where(
    shared.c.text == bindparam("words"), shared.c.bound == bindparam("bound")
)
# The generation, and the one the text was shared at (None if it was not), in one statement.
_STATE = select(_GENERATION.scalar_subquery(), _SHARED.scalar_subquery())
# As _SHARED, for a statement written as text (PostgreSQL's planner settings).
SHARED_SQL = "(SELECT generation FROM search_common_texts WHERE text = :words AND bound = :bound)"
# By database (its engine), (text, the count bound) -> the generation the text was common at:
# what this process knows, and what it learned and has yet to share.
_remembered: WeakKeyDictionary[Engine, dict[tuple[str, int], int]] = WeakKeyDictionary()
_learned: WeakKeyDictionary[Engine, dict[tuple[str, int], int]] = WeakKeyDictionary()
_sharing: set[asyncio.Task[None]] = set()


def state(connection: Connection, words: str, bound: int) -> tuple[int | None, int | None]:
    """The search generation (None if its row is gone: then nothing is remembered), and the
    generation at which `words` was shared as common (None if it was not)."""
    generation, shared_at = connection.execute(_STATE, {"words": words, "bound": bound}).one()
    return generation, shared_at


def generation(connection: Connection) -> int | None:
    """The search generation; None if its row is gone (then nothing is remembered)."""
    found: int | None = connection.execute(_GENERATION).scalar_one_or_none()
    return found


def is_common(
    connection: Connection, words: str, bound: int, at: int | None, shared_at: int | None
) -> bool:
    """Whether `words` matched at least `bound` public repositories at generation `at` (None:
    the generation's row is gone, and nothing is known), as this process remembers or as
    another shared (`shared_at`)."""
    if at is None:
        return False
    texts = _texts(_remembered, connection.engine)
    if texts.get((words, bound)) == at:
        return True
    if shared_at != at:
        return False
    _keep(texts, (words, bound), at)
    return True


def remember(connection: Connection, words: str, bound: int, at: int | None) -> None:
    """`words` matched at least `bound` public repositories in a read that began after the
    generation `at` was read: remembered, and shared by the next `share`."""
    if at is None:
        return
    _keep(_texts(_remembered, connection.engine), (words, bound), at)
    if len(words) <= MAX_SHARED_TEXT:
        _keep(_texts(_learned, connection.engine), (words, bound), at)


def share(database: Database) -> asyncio.Task[None] | None:
    """Writes what this process learned since it last shared, in the background; the task, or
    None if there was nothing to share."""
    learned = _learned.pop(database.engine, None)
    if not learned:
        return None
    task = asyncio.create_task(_store(database, learned))
    _sharing.add(task)  # a task nothing refers to may be collected before it ends
    task.add_done_callback(_sharing.discard)
    return task


async def _store(database: Database, learned: dict[tuple[str, int], int]) -> None:
    try:
        await database.in_thread(_write, learned)
    except SQLAlchemyError as exc:
        # Another search learns them again; the answers never depended on it.
        log.warning("search: could not share %d common texts: %s", len(learned), exc)


def _write(connection: Connection, learned: dict[tuple[str, int], int]) -> None:
    """Texts at an older generation than the newest learned can never be common again: they
    go (and are not written); past MAX_REMEMBERED, all go. A text already shared at a newer
    generation keeps it."""
    newest = max(learned.values())
    connection.execute(delete(shared).where(shared.c.generation < newest))
    if connection.execute(select(func.count()).select_from(shared)).scalar_one() >= MAX_REMEMBERED:
        connection.execute(delete(shared))
    for (words, bound), at in learned.items():
        if at < newest:
            continue
        statement = conflict_insert(connection, shared).values(
            text=words, bound=bound, generation=at
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[shared.c.text, shared.c.bound],
                set_={"generation": statement.excluded.generation},
                where=and_(shared.c.generation < statement.excluded.generation),
            )
        )


def _keep(texts: dict[tuple[str, int], int], key: tuple[str, int], at: int) -> None:
    if len(texts) >= MAX_REMEMBERED:
        texts.clear()
    texts[key] = at


def _texts(
    memory: WeakKeyDictionary[Engine, dict[tuple[str, int], int]], engine: Engine
) -> dict[tuple[str, int], int]:
    return memory.setdefault(engine, {})
