"""Search's SQL on a real SQLite and PostgreSQL: whichever way a page is found (one pass over a
few matches; rank by rank through the text and name indexes when there are many), it is the
slice of every visible match in relevance order, as a plain sort of them all would give.

MAX_COUNTED is lowered so that a few hundred repositories make texts "common": the paths that
100,000 repositories take in bench/search_bench.py are taken here with texts of every kind.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.index.repositories.service import Readable
from dockyard.index.search import repository
from dockyard.index.tables import repository_settings
from tests.support.postgres import PostgresServer

COMMON = 40  # MAX_COUNTED here
PROBED = 60  # and PROBED: a page of a common rank is often, not always, in the first names
WALKED = 120  # and WALKED: a short text's rank is walked at once, or not, by how dense it is
WORDS = ["nor", "norv", "or", "ab", "abc", "x_y", "nor-ab", "b", "zed", "ornament"]


def _repositories() -> list[dict[str, object]]:
    """Names of two to four components and descriptions made of WORDS, so that texts fall in
    every rank, often."""
    rng = random.Random(5)
    rows: dict[str, dict[str, object]] = {}
    namespaces = ["nor", "abc", "ornate", "zed", "nor1", "b"]
    while len(rows) < 400:
        parts = [rng.choice(namespaces)]
        parts += ["-".join(rng.sample(WORDS, rng.randint(1, 2))) for _ in range(rng.randint(1, 3))]
        name = "/".join(parts)
        description = " ".join(rng.choice(WORDS).upper() for _ in range(rng.randint(0, 4)))
        rows[name] = {
            "name": name,
            "namespace": parts[0],
            "visibility": rng.choice(["public", "public", "private"]),
            "description": description,
            "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
    return list(rows.values())


ROWS = _repositories()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    def filled(url: str) -> Database:
        database = Database(url)
        upgrade(database.engine)
        with database.engine.begin() as connection:
            connection.execute(insert(repository_settings), ROWS)
        return database

    if request.param == "sqlite":
        database = filled(f"sqlite:///{tmp_path_factory.mktemp('ranking') / 'r.db'}")
        yield database
        database.dispose()
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    with postgres.database() as url:
        database = filled(url)
        yield database
        database.dispose()


def _rank(name: str, words: str) -> int:
    last = name.rsplit("/", 1)[-1]
    if name == words or last == words:
        return 0
    if name.startswith(words) or f"/{words}" in name:
        return 1
    return 2 if words in name else 3


def _expected(words: str, public_only: bool, wanted: int, offset: int) -> tuple[int, list[str]]:
    matches = [
        str(row["name"])
        for row in ROWS
        if (not public_only or row["visibility"] == "public")
        and (words in str(row["name"]) or words in str(row["description"]).lower())
    ]
    ordered = sorted(matches, key=lambda name: (_rank(name, words), name))
    return min(len(matches), COMMON), ordered[offset:wanted]


_TEXTS = st.one_of(
    st.sampled_from(
        [*WORDS, "n", "o", "r", "/n", "nor/", "r-a", "v-", "orv", "x_", "_y", "%", "bc", "ed", "ze"]
    ),
    st.text(alphabet="norvab-_/xyz", min_size=1, max_size=4),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    words=_TEXTS,
    limit=st.integers(1, 30),
    page=st.integers(0, 3),
    public_only=st.booleans(),
    paired=st.sampled_from([0, 25, 10_000]),
)
def test_a_page_is_the_slice_of_every_match_by_rank_then_name(
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    words: str,
    limit: int,
    page: int,
    public_only: bool,
    paired: int,
) -> None:
    monkeypatch.setattr(repository, "MAX_COUNTED", COMMON)
    monkeypatch.setattr(repository, "PROBED", PROBED)
    monkeypatch.setattr(repository, "WALKED", WALKED)
    # SQLite finds two characters through its indexes of them, or by reading rows.
    monkeypatch.setattr(repository, "PAIRED", paired)
    readable = Readable(not public_only, True, frozenset(), None)
    offset = page * limit
    with database.engine.begin() as connection:
        total, found = repository.find(
            connection, readable, words, None, "relevance", limit, offset
        )
    expected_total, expected = _expected(words, public_only, min(offset + limit, COMMON), offset)
    assert total == expected_total
    assert [hit.name for hit in found] == expected


@pytest.mark.parametrize(
    ("words", "found"),
    [
        ("upper\nfront", ["dock/upper"]),  # within the full description
        ("per\nfro", ["dock/upper"]),
        ("upper\nlast", []),  # the end of the name and the start of the description
        ("line.\nupper", []),  # the end of the description and the start of the full one
        ("ne.\nup", []),
        ("upper-last", []),  # as above, the separator squeezed out
        ("line.", ["dock/upper"]),
    ],
)
def test_a_text_is_found_within_a_column_never_across_two(
    database: Database, words: str, found: list[str]
) -> None:
    """PostgreSQL searches the columns joined by line feeds (migration 0028): a text holding
    one is checked in each column."""
    row = {
        **ROWS[0],
        "name": "dock/upper",
        "namespace": "dock",
        "description": "Last line.",
        "full_description": "Upper\nFront matter",
    }
    with database.engine.connect() as connection:
        connection.execute(insert(repository_settings), [row])
        total, hits = repository.find(
            connection, Readable(True, True, frozenset(), None), words, None, "relevance", 25, 0
        )
        connection.rollback()
    assert (total, [hit.name for hit in hits]) == (len(found), found)


@pytest.mark.parametrize("paired", [0, 10_000])
def test_two_characters_are_found_wherever_a_column_holds_them_in_any_case(
    database: Database, monkeypatch: pytest.MonkeyPatch, paired: int
) -> None:
    """A column that is the two characters, ends with them or holds them; never two columns
    that hold one each, side by side. SQLite finds them through its indexes of trigrams and
    of columns' last characters (migration 0032) when few rows hold them, else by reading."""
    monkeypatch.setattr(repository, "PAIRED", paired)
    base = {**ROWS[0], "namespace": "dock", "visibility": "public"}
    texts = {
        "dock/whole": ("QZ", ""),
        "dock/end": ("The end: Qz", ""),
        "dock/full-end": ("", "Line one.\nLine two qZ"),
        "dock/inside-qzt": ("", ""),
        "dock/across": ("ends in q", "z starts this"),
        "dock/name-endq": ("z, then", ""),
    }
    rows = [
        {**base, "name": name, "description": description, "full_description": full}
        for name, (description, full) in texts.items()
    ]
    with database.engine.connect() as connection:
        connection.execute(insert(repository_settings), rows)
        total, hits = repository.find(
            connection, Readable(True, True, frozenset(), None), "qz", None, "relevance", 25, 0
        )
        connection.rollback()
    found = ["dock/end", "dock/full-end", "dock/inside-qzt", "dock/whole"]
    assert (total, sorted(hit.name for hit in hits)) == (4, found)


def test_names_holding_two_characters_are_found_through_their_trigrams_and_their_ends(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many matches (MAX_COUNTED lowered to 2), so name matches come first, rank by rank, and
    the probe of the first names finds none (PROBED lowered to 1): SQLite finds the names that
    hold the two characters through the trigrams that start with them, and the names that end
    with them through migration 0032's index."""
    monkeypatch.setattr(repository, "MAX_COUNTED", 2)
    monkeypatch.setattr(repository, "PROBED", 1)
    base = {**ROWS[0], "namespace": "dock", "visibility": "public", "full_description": ""}
    texts = {"dock/inside-qzt": "", "dock/name-qz": "", "dock/end": "Ends in qz", "dock/b": "qz"}
    rows = [{**base, "name": name, "description": text} for name, text in texts.items()]
    with database.engine.connect() as connection:
        connection.execute(insert(repository_settings), rows)
        total, hits = repository.find(
            connection, Readable(True, True, frozenset(), None), "qz", None, "relevance", 25, 0
        )
        connection.rollback()
    assert (total, [hit.name for hit in hits]) == (2, ["dock/inside-qzt", "dock/name-qz"])
