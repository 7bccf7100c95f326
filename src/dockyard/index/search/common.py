"""Texts known to be common: each matched at least MAX_COUNTED public repositories when the
settings' search generation (migration 0026) had a value, and still does while it has it.

Matches only grow as repositories are added; the changes that can take one out of a text's
public matches (a deletion; a new name, description or visibility) move the generation in
their own transaction. A search that finds its text common at the generation it read before
looking needs no first pass: its count is MAX_COUNTED, and its page is found rank by rank
(docs/decisions/0016-search-speed.md). Everyone who may see the public repositories sees at
least as many matches, so it holds for them too.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, select

from dockyard.index.tables import search_generation

# Texts remembered per database; past this many, they are forgotten all at once (a search
# then counts its matches again, and remembers them anew).
MAX_REMEMBERED = 10_000

_GENERATION = select(search_generation.c.generation).where(search_generation.c.id == 1)
# By database (its engine), (text, the count bound) -> the generation the text was common at.
_remembered: WeakKeyDictionary[Engine, dict[tuple[str, int], int]] = WeakKeyDictionary()


def generation(connection: Connection) -> int | None:
    """The search generation; None if its row is gone (then nothing is remembered)."""
    found: int | None = connection.execute(_GENERATION).scalar_one_or_none()
    return found


def is_common(connection: Connection, words: str, bound: int, at: int | None) -> bool:
    """Whether `words` matched at least `bound` public repositories at generation `at`
    (None: the generation's row is gone, and nothing is known)."""
    return at is not None and _texts(connection).get((words, bound)) == at


def remember(connection: Connection, words: str, bound: int, at: int | None) -> None:
    """`words` matched at least `bound` public repositories in a read that began after the
    generation `at` was read."""
    if at is None:
        return
    texts = _texts(connection)
    if len(texts) >= MAX_REMEMBERED:
        texts.clear()
    texts[(words, bound)] = at


def _texts(connection: Connection) -> dict[tuple[str, int], int]:
    return _remembered.setdefault(connection.engine, {})
