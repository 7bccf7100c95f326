"""Common texts remembered (dockyard.index.search.common), on a real SQLite and PostgreSQL: a
text found in MAX_COUNTED public repositories or more is not counted again until a change
that can take a repository out of its matches (migration 0026's triggers); the answers are
the same with and without the memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index.repositories.service import Readable
from dockyard.index.search import common, repository, service, statements
from dockyard.index.tables import repository_settings, search_common_texts, search_generation

COMMON = 5  # MAX_COUNTED here
ANONYMOUS = Readable(False, True, frozenset(), None)
ADMINISTRATOR = Readable(True, True, frozenset(), None)
settings = repository_settings.c


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    monkeypatch.setattr(repository, "MAX_COUNTED", COMMON)
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'r.db'}")
        yield from _filled(database)
        return
    postgres = request.getfixturevalue("postgres")
    with postgres.database() as url:
        yield from _filled(Database(url))


def _filled(database: Database) -> Iterator[Database]:
    """Eight public repositories whose description holds "kettle", three private ones (two in
    the namespace `ann`), and one that holds something else."""
    upgrade(database.engine)
    rows = [_row(f"pub{i}/tea-{i}", "public", "A kettle of fish.") for i in range(8)] + [
        _row("ann/kettle", "private", "Hers."),
        _row("ann/pot", "private", "A kettle too."),
        _row("bob/kettles", "private", "His."),
        _row("pub9/other", "public", "Nothing to see."),
    ]
    with database.engine.begin() as connection:
        connection.execute(insert(repository_settings), rows)
    try:
        yield database
    finally:
        database.dispose()


def _row(name: str, visibility: str, description: str) -> dict[str, object]:
    return {
        "name": name,
        "namespace": name.split("/")[0],
        "visibility": visibility,
        "description": description,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }


def _search(
    database: Database, readable: Readable, words: str = "kettle", offset: int = 0
) -> tuple[int, list[str]]:
    with database.engine.begin() as connection:
        total, found = repository.find(connection, readable, words, None, "relevance", 3, offset)
    return total, [hit.name for hit in found]


def _forgotten(database: Database, readable: Readable, offset: int = 0) -> tuple[int, list[str]]:
    """The answer as a search that remembers nothing finds it."""
    common._remembered.clear()
    return _search(database, readable, offset=offset)


def test_a_common_text_is_counted_once_then_remembered_for_everyone(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = Readable(False, True, frozenset({"ann"}), None)
    expected = {
        (readable, offset): _forgotten(database, readable, offset)
        for readable in (ANONYMOUS, ann, ADMINISTRATOR)
        for offset in (0, 3, 6)
    }
    assert expected[(ANONYMOUS, 0)] == (COMMON, ["pub0/tea-0", "pub1/tea-1", "pub2/tea-2"])
    assert expected[(ann, 0)][1] == ["ann/kettle", "ann/pot", "pub0/tea-0"]
    _search(database, ANONYMOUS)  # found common, and remembered
    _uncounted(monkeypatch)
    for (readable, offset), answer in expected.items():
        assert _search(database, readable, offset=offset) == answer


def test_only_what_anonymous_sees_makes_a_text_common(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four public matches and two private ones of ann's: common to ann, but not to
    anonymous, whom ann's search must not teach otherwise."""
    with database.engine.begin() as connection:
        _delete(connection, [f"pub{i}/tea-{i}" for i in range(4, 8)])
    ann = Readable(False, True, frozenset({"ann"}), None)
    common._remembered.clear()
    _search(database, ann)
    _uncounted(monkeypatch)
    with pytest.raises(AssertionError, match="counted"):
        _search(database, ANONYMOUS)


def test_a_signed_in_search_that_saw_enough_public_matches_teaches_it(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ann sees two private matches besides the eight public ones, among the first COMMON the
    index hands out (four public ones are written anew, after hers): her first pass reads
    PRIVATE_ALLOWANCE more, finds COMMON of them public, and remembers the text for everyone."""
    moved = [f"pub{i}/tea-{i}" for i in range(4)]
    with database.engine.begin() as connection:
        _delete(connection, moved)
        rows = [_row(name, "public", "A kettle of fish.") for name in moved]
        connection.execute(insert(repository_settings), rows)
    monkeypatch.setattr(repository, "PRIVATE_ALLOWANCE", 5)
    ann = Readable(False, True, frozenset({"ann"}), None)
    expected = _forgotten(database, ANONYMOUS)
    common._remembered.clear()
    assert _search(database, ann)[0] == COMMON
    _uncounted(monkeypatch)
    assert _search(database, ANONYMOUS) == expected


def test_what_one_process_learned_every_other_knows(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes are two engines on one database: what one search learned is written in
    the background for the other, which then does not count. Once the generation moved, the
    next text shared takes the stale ones away."""
    other = Database(database.engine.url.render_as_string(hide_password=False))
    try:
        expected = _forgotten(database, ANONYMOUS)
        asyncio.run(_learn(database, "kettle"))
        assert _shared(database) == ["kettle"]
        with monkeypatch.context() as patched:
            _uncounted(patched)
            assert _search(other, ANONYMOUS) == expected
        with database.engine.begin() as connection:
            _describe(connection, ["pub9/other"])  # moves the generation
            rows = [_row(f"new{i}/pot", "public", "A pot.") for i in range(COMMON)]
            connection.execute(insert(repository_settings), rows)
        asyncio.run(_learn(database, "pot"))
        assert _shared(database) == ["pot"]
    finally:
        other.dispose()


async def _learn(database: Database, words: str) -> None:
    """A search through the service, and the time for its background write."""
    common._remembered.clear()
    await service.search(database, None, service.Query(words))
    for _ in range(500):
        if words in _shared(database):
            return
        await asyncio.sleep(0.01)


def _shared(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(select(search_common_texts.c.text)).scalars())


def _uncounted(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, a search that counts its matches fails."""

    def counting(*_: object) -> None:
        raise AssertionError("the matches were counted")

    monkeypatch.setattr(statements, "first_matches", counting)


def _delete(connection: Connection, names: list[str]) -> None:
    connection.execute(delete(repository_settings).where(settings.name.in_(names)))


def _hide(connection: Connection, names: list[str]) -> None:
    hidden = update(repository_settings).where(settings.name.in_(names))
    connection.execute(hidden.values(visibility="private"))


def _describe(connection: Connection, names: list[str]) -> None:
    described = update(repository_settings).where(settings.name.in_(names))
    connection.execute(described.values(description="A pot of tea."))


def _rename(connection: Connection, names: list[str]) -> None:
    """A rename keeps the matches here, and moves the generation all the same."""
    for name in names:
        renamed = update(repository_settings).where(settings.name == name)
        connection.execute(renamed.values(name=name + "x"))


@pytest.mark.parametrize("change", [_delete, _hide, _describe, _rename])
def test_a_change_that_can_take_matches_away_makes_it_counted_again(
    database: Database, change: Callable[[Connection, list[str]], None]
) -> None:
    assert _search(database, ANONYMOUS)[0] == COMMON
    before = _generation(database)
    with database.engine.begin() as connection:
        change(connection, [f"pub{i}/tea-{i}" for i in range(4)])
    assert _generation(database) > before
    kept = 8 if change is _rename else 4
    assert _search(database, ANONYMOUS)[0] == min(kept, COMMON)
    assert _search(database, ANONYMOUS) == _forgotten(database, ANONYMOUS)


def test_additions_and_counts_keep_it(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _search(database, ANONYMOUS)
    before = _generation(database)
    with database.engine.begin() as connection:
        connection.execute(insert(repository_settings), [_row("new/kettle", "public", "New.")])
        counted = update(repository_settings).where(settings.name == "pub1/tea-1")
        connection.execute(counted.values(pull_count=9, star_count=2, tag_count=3))
        connection.execute(counted.values(last_push_at=datetime.now(UTC)))
        unchanged = update(repository_settings).where(settings.name == "pub2/tea-2")
        connection.execute(unchanged.values(description="A kettle of fish."))
    assert _generation(database) == before
    expected = _forgotten(database, ANONYMOUS)
    assert expected[1][0] == "new/kettle"  # a name match comes first
    _uncounted(monkeypatch)
    assert _search(database, ANONYMOUS) == expected


def test_one_database_teaches_another_nothing(
    database: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _search(database, ANONYMOUS)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        upgrade(other.engine)
        with other.engine.begin() as connection:
            connection.execute(insert(repository_settings), [_row("a/kettle", "public", "")])
        assert _search(other, ANONYMOUS) == (1, ["a/kettle"])
    finally:
        other.dispose()


def _generation(database: Database) -> int:
    with database.engine.connect() as connection:
        found = common.generation(connection)
    assert found is not None
    return found


def test_without_its_counter_search_counts_every_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator who deleted the counter's row gets answers, only slower."""
    with database.engine.begin() as connection:
        connection.execute(delete(search_generation))
    expected = _search(database, ANONYMOUS)
    assert expected[0] == COMMON
    _uncounted(monkeypatch)
    with pytest.raises(AssertionError, match="counted"):
        _search(database, ANONYMOUS)
