"""SQL for search: text matches through the indexes of migration 0006 (an FTS5 trigram table on
SQLite, pg_trgm GIN indexes on PostgreSQL) and of names (0016, 0025), the caller's visibility
filter, an order, a page. The statements are index/search/statements.py's; this module decides
which run, with which values.

Search is a read model over the repository settings: it reads their table and keeps its own
text index of it (docs/decisions/0014-search.md). How much a search reads is bounded as
docs/decisions/0016-search-speed.md says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, text

from dockyard.index.repositories.service import Readable
from dockyard.index.search import common, statements
from dockyard.index.search.statements import SEGMENTS, SEPARATORS, TRIGRAM, Shape

# Matches beyond this many are neither counted nor paged to (narrow the search instead): a
# search that matches most repositories reads this many of them and its name matches, not every
# match (docs/decisions/0016-search-speed.md).
MAX_COUNTED = 1_000
# How many matches beyond MAX_COUNTED a first pass reads for a caller who also sees private
# repositories: enough to tell, most of the time, that MAX_COUNTED of them are public, and so
# to remember a common text for everyone (common.py) as anonymous's searches do. Without it, a
# process that served only signed-in searches counted every common text every time (the first
# pass: 6-10 ms of such a search's 12-20 on either database).
PRIVATE_ALLOWANCE = 100
# How many names, in order, a common rank is looked for in before its indexes are read: a
# rank that one name in ten or more meets fills a page of 25 from them (about 0.5 ms where
# reading 1,000 through a common trigram and sorting them took 3-15 ms).
PROBED = 2_000
# SQLite, a text shorter than a trigram, whose rank indexes hold wide ranges of names
# (thousands start with two letters): how many names a walk may be expected to read instead
# of them. When the probe's names promise the page within so many, they are walked at once:
# two letters 7.4 -> 2.9 ms at the median, 13.3 -> 9.3 at p95, none slower by more than 0.2
# ms, where the windows read up to 4,000 rows to learn the rank was common, and then walked
# all the same. (PostgreSQL reads each walked name's row from the table: some two letters
# took 55 instead of 8 ms; it keeps the windows.)
WALKED = 10_000
# SQLite, a two-character text: found through migration 0032's indexes when they hold fewer
# than this many rows for it (a row once per trigram starting with it, and once per column ending
# with it), else by reading rows until MAX_COUNTED hold it. Either costs about a microsecond a
# row: through the indexes, every row they hold; reading, 35-45 ms for 100,000 rows over the
# share that hold the text. They cost the same, about 8 ms, near 8,000 rows (a pair that few
# hold: 30-45 -> 0.5-1 ms; docs/decisions/0016-search-speed.md).
PAIRED = 8_000


# SET LOCAL, all in one round trip, and the search generation and the text's shared one
# (common.py).
_PLANNER_SETTINGS = text(
    "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),"
    " set_config('plan_cache_mode', 'force_generic_plan', true),"
    f" (SELECT generation FROM search_generation WHERE id = 1), {common.SHARED_SQL}"
)


@dataclass(frozen=True, slots=True)
class Found:
    name: str
    namespace: str
    description: str
    visibility: str
    pull_count: int
    star_count: int


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
    dialect = connection.dialect.name
    values = _values(readable, words, namespace)
    pairs = dialect == "sqlite" and len(words) == TRIGRAM - 1 and _rare_pair(connection, values)
    shape = _shape(dialect, readable, words, namespace, pairs)
    # Pages stop at MAX_COUNTED: no query ever needs more than the first `wanted` in order.
    wanted = min(offset + limit, MAX_COUNTED)
    if not words:
        page = statements.empty_text_page(shape, order)
        rows = _rows(connection, page, values, wanted, offset)
        if rows or offset == 0:
            return _total(rows), _found(rows)
        return _total(_rows(connection, page, values, 1, 0)), []  # the count rides along
    # Common texts are remembered for whoever sees every public repository (common.py).
    remembers = namespace is None and (readable.public or readable.everything)
    if dialect == "postgresql" and (shape.trigram or shape.bigram):
        # The planner prices `lower(...) LIKE` as nearly free and reads the whole table rather
        # than the trigram indexes for a text in a few thousand rows: 130 ms instead of 10. A
        # table read all the same then costs 10^10 to the planner, which would compile the
        # statement (JIT, 40-600 ms) for that price: off too, for this transaction only. And
        # once psycopg has prepared a statement (its fifth run on a connection), its plan is
        # kept: planning anew for every search cost 0.3-1.4 ms a statement (a rank's windows:
        # 1.4 ms, more than running them), for plans that differed in estimates only. The
        # same for two characters (0030's index of pairs): 114 pairs' searches, median 6.3-7.6
        # -> 5.2-6.1 ms in process, first passes 12.1-12.9 -> 9.1-10.5.
        settings = connection.execute(_PLANNER_SETTINGS, {"words": words, "bound": MAX_COUNTED})
        generation, shared = settings.one()[-2:]
    elif remembers:
        generation, shared = common.state(connection, words, MAX_COUNTED)
    else:
        generation = shared = None
    if remembers and common.is_common(connection, words, MAX_COUNTED, generation, shared):
        # Its first MAX_COUNTED matches would be read only to be counted (the most of a
        # common text's time: 6-9 ms of 12-20 on either database).
        total = MAX_COUNTED
        if wanted <= offset:
            return total, []
    else:
        # The first MAX_COUNTED matches the index hands out (and PRIVATE_ALLOWANCE more):
        # fewer, and they are all, counted and ordered in this one pass; as many, and the text
        # is common, and the page is found otherwise.
        first, count = statements.first_matches(shape, order)
        matches = _rows(connection, first, values, wanted, offset)
        if matches or offset == 0:
            total = _total(matches)
        else:
            total = int(connection.execute(count, values).scalar_one())
        total = min(total, MAX_COUNTED)
        if remembers and matches and matches[0].public_matches >= MAX_COUNTED:
            common.remember(connection, words, MAX_COUNTED, generation)
        if total < MAX_COUNTED or wanted <= offset:
            return total, _found(matches)
    if order != "relevance":
        # By pulls or by last push, every match is sorted whatever their number (docs/
        # decisions/0016-search-speed.md).
        page = statements.all_matches_page(shape, order)
        return total, _found(_rows(connection, page, values, wanted, offset))
    # Many matches. Name matches come before description-only ones, so the page is the first
    # `wanted` name matches by rank, then description-only ones by name if too few.
    rows = _name_matches_by_rank(connection, shape, values, wanted)
    if len(rows) < wanted:
        page = statements.description_only_page(shape)
        rows += _rows(connection, page, values, wanted - len(rows), 0)
    return total, _found(rows[offset:])


def _name_matches_by_rank(
    connection: Connection, shape: Shape, values: dict[str, Any], wanted: int
) -> list[Any]:
    """The first `wanted` name matches by relevance, rank by rank, each rank's first ones by
    name. Ranking every name match at once cost 15-45 ms for the start of a common word, which
    20,000 names hold."""
    rows: list[Any] = []
    walks = shape.dialect == "sqlite" and not shape.trigram
    for rank in statements.ranks(shape):
        if len(rows) < wanted:
            rows += _first_by_name(connection, rank, values, wanted - len(rows), walks)
    return rows


def _first_by_name(
    connection: Connection,
    rank: statements.Rank,
    values: dict[str, Any],
    wanted: int,
    walks: bool,
) -> list[Any]:
    """The first `wanted` rows of `rank` by name. The first PROBED names are looked at first:
    a rank that many names meet has its page there. Else up to MAX_COUNTED rows are read
    through each of its indexes, which together hold all its names, and sorted; when one gives
    as many (and may have left some out), one name in a hundred or more is of the rank, and
    walking the names in order finds `wanted` of them soon. Where no index helps, the names
    are walked; and, where `walks`, when the probe found the rank dense enough (WALKED)."""
    if rank.windows is not None:
        rows = _rows(connection, rank.probed, values, wanted, 0)
        if len(rows) == wanted:
            return rows
        if not walks or len(rows) * WALKED < wanted * PROBED:
            rows = _rows(connection, rank.windows, values, wanted, 0)
            if not rows or rows[0].fullest < MAX_COUNTED:
                return rows
    return _rows(connection, rank.walked, values, wanted, 0)


def _rare_pair(connection: Connection, values: dict[str, Any]) -> bool:
    """SQLite, a two-character text: whether fewer than PAIRED rows have a trigram that starts
    with it or a column that ends with it. `values` get those trigrams as the FTS5 query
    `pairs` (for the names that hold the text, whether rare or not)."""
    terms = connection.execute(statements.pair_terms(), values).all()
    # With no trigram, the text alone: FTS5 finds nothing for a text shorter than one.
    values["pairs"] = " OR ".join(_phrase(term) for term, _ in terms) or _phrase(values["words"])
    held: int = sum(doc for _, doc in terms)
    if held >= PAIRED:
        return False
    ends: int = connection.execute(statements.pair_ends(), values).scalar_one()
    return held + ends < PAIRED


def _rows(
    connection: Connection, statement: Select[Any], values: dict[str, Any], wanted: int, offset: int
) -> list[Any]:
    """The rows of `statement` from `offset` up to `wanted`."""
    if wanted <= offset:
        return []
    page = {"limit": wanted - offset, "offset": offset}
    return list(connection.execute(statement, {**values, **page}))


def _public_only(readable: Readable) -> bool:
    """The caller sees the public repositories and nothing else (as anonymous does)."""
    return readable == Readable(False, True, frozenset(), None)


def _total(rows: list[Any]) -> int:
    """How many match, as the page's rows tell (none, if a first page has no rows)."""
    return int(rows[0].matches) if rows else 0


def _found(rows: list[Any]) -> list[Found]:
    return [
        Found(
            row.name,
            row.namespace,
            row.description,
            row.visibility,
            int(row.pull_count),
            int(row.star_count),
        )
        for row in rows
    ]


def _shape(
    dialect: str, readable: Readable, words: str, namespace: str | None, pairs: bool
) -> Shape:
    squeezed = _squeezed(words)
    return Shape(
        dialect=dialect,
        everything=readable.everything,
        public=readable.public,
        namespaces=bool(readable.namespaces),
        collaborator=readable.collaborator is not None,
        in_namespace=namespace is not None,
        has_text=bool(words),
        trigram=len(words) >= TRIGRAM,
        bigram=dialect == "postgresql" and len(words) == TRIGRAM - 1,
        pairs=pairs,
        paired_names=dialect == "sqlite" and len(words) == TRIGRAM - 1,
        squeezed=dialect == "postgresql" and squeezed != words and len(squeezed) >= TRIGRAM,
        segments=dialect == "postgresql" and SEGMENTS in words,
    )


def _values(readable: Readable, words: str, namespace: str | None) -> dict[str, Any]:
    """The parameters of the statements (statements.py names them)."""
    escaped = _like(words)
    return {
        "words": words,
        "ends": "%/" + escaped,
        "starts": escaped + "%",
        "component": "%/" + escaped + "%",
        "anywhere": "%" + escaped + "%",
        "following": words[:-1] + chr(ord(words[-1]) + 1) if words else "",
        "phrase": _phrase(words),
        "squeezed": "%" + _like(_squeezed(words)) + "%",
        "namespace": namespace,
        "namespaces": sorted(readable.namespaces),
        "collaborator": readable.collaborator,
        "bound": MAX_COUNTED,
        "counted": MAX_COUNTED + (0 if _public_only(readable) else PRIVATE_ALLOWANCE),
        "probed": PROBED,
        "paired": PAIRED,
    }


def _phrase(words: str) -> str:
    """An FTS5 query for `words` as they are."""
    return '"' + words.replace('"', '""') + '"'


def _squeezed(words: str) -> str:
    """`words` without SEPARATORS, as the PostgreSQL trigram indexes hold names and descriptions."""
    return words.translate({ord(c): None for c in SEPARATORS})


def _like(words: str) -> str:
    """`words` as a LIKE pattern matching exactly them."""
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
