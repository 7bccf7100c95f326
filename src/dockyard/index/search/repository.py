"""SQL for search: text matches through the indexes of migration 0006 (an FTS5 trigram table on
SQLite, pg_trgm GIN indexes on PostgreSQL), the caller's visibility filter, an order, a page.

Search is a read model over the repository settings: it reads their table and keeps its own
text index of it (docs/decisions/0014-search.md). How much a search reads is bounded as
docs/decisions/0016-search-speed.md says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnCollection,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Subquery,
    TextClause,
    and_,
    any_,
    bindparam,
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
# search that matches most repositories reads this many of them and its name matches, not every
# match (docs/decisions/0016-search-speed.md).
MAX_COUNTED = 1_000
# How many names, in order, a common rank is looked for in before its text index is read: a
# rank that one name in ten or more meets fills a page of 25 from them (about 0.5 ms where
# reading 1,000 through a common trigram and sorting them took 3-15 ms).
PROBED = 2_000
# What PostgreSQL's trigram indexes of migration 0009 take out of names and descriptions:
# pg_trgm makes trigrams of alphanumeric runs only, so `nginx-proxy` would otherwise be looked
# up as "nginx" and "proxy", each in thousands of rows. Squeezed, it has trigrams of its own.
# Spaces stay: without them, common words side by side in descriptions make common trigrams.
SEPARATORS = "-_./"
# What a search answers with, and what it orders by.
_COLUMNS = (
    settings.c.name,
    settings.c.namespace,
    settings.c.description,
    settings.c.visibility,
    settings.c.pull_count,
    settings.c.star_count,
    settings.c.last_push_at,
)
_SEPARATORS_SQL = literal_column(f"'{SEPARATORS}'", String)
_fts = table("repository_search", column("rowid"))
# SQLite, as migration 0025 indexes them (the same expressions, letter for letter, or the
# indexes are not used; the partial indexes' conditions literals): the name after its
# namespace (`nginx/alpine` of `acme/nginx/alpine`), and names of three and of four components
# or more.
AFTER_NAMESPACE = literal_column(
    "substr(repository_settings.name, instr(repository_settings.name, '/') + 1)", String
)
THREE_COMPONENTS = text("repository_settings.name GLOB '*/*/*'")
FOUR_COMPONENTS = text("repository_settings.name GLOB '*/*/*/*'")


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
    allowed = _allowed(dialect, readable, namespace, driving=False)
    # Pages stop at MAX_COUNTED: no query ever needs more than the first `wanted` in order.
    wanted = min(offset + limit, MAX_COUNTED)
    if not words:
        # The page walks the name index in order and stops after `wanted`; the count, sent
        # along (one round trip), is a query in which the visibility filter may drive.
        counted = _counted(_allowed(dialect, readable, namespace, driving=True))
        rows = _rows(connection, allowed, _order(words, order), wanted, offset, counted)
        return _total(connection, rows, offset, counted), _found(rows)
    if dialect == "postgresql" and len(words) >= TRIGRAM:
        # The planner prices `lower(...) LIKE` as nearly free and reads the whole table rather
        # than the trigram indexes for a text in a few thousand rows: 130 ms instead of 10.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    # The first MAX_COUNTED matches the index hands out (SQLite walks its text index,
    # PostgreSQL its heap, only that far): fewer, and they are all, counted and ordered in
    # this one pass; as many, and the text is common, and the page is found otherwise.
    some = _some_matches(dialect, allowed, namespace, words).subquery()
    first = (
        select(*some.c, func.count().over().label("matches"))
        .order_by(*_order(words, order, some.c))
        .limit(max(0, wanted - offset))
        .offset(offset)
    )
    rows = list(connection.execute(first))
    total = _total(connection, rows, offset, some)
    if total < MAX_COUNTED or wanted <= offset:
        return total, _found(rows)
    matching = [*allowed, _matching(dialect, words)]
    if order != "relevance":
        # By pulls or by last push, every match is sorted whatever their number (docs/
        # decisions/0016-search-speed.md).
        return total, _found(_rows(connection, matching, _order(words, order), wanted, offset))
    # Many matches. Name matches come before description-only ones, so the page is the first
    # `wanted` name matches by rank, then description-only ones by name if too few.
    rows = _name_matches_by_rank(connection, allowed, dialect, words, wanted)
    if len(rows) < wanted:
        description_only = [*matching, _not_in_name(dialect, words)]
        rows += _rows(connection, description_only, [settings.c.name], wanted - len(rows))
    return total, _found(rows[offset:])


def _name_matches_by_rank(
    connection: Connection,
    allowed: list[ColumnElement[bool]],
    dialect: str,
    words: str,
    wanted: int,
) -> list[Any]:
    """The first `wanted` name matches by relevance, rank by rank: the names equal to `words`
    through the indexes of names and of their last components, then each lesser rank's first
    ones by name. Ranking every name match at once cost 15-45 ms for the start of a common
    word, which 20,000 names hold."""
    exact, starting, anywhere = _ranks(settings.c.name, words)
    equal = or_(settings.c.name == words, last_component(dialect) == words)
    ranks = [
        ([equal], []),
        ([starting, ~exact], _starts_found(dialect, words)),
        ([anywhere, ~starting], _names_found(dialect, words)),
    ]
    rows: list[Any] = []
    for conditions, found in ranks:
        if len(rows) < wanted:
            more = _first_by_name(connection, [*allowed, *conditions], found, wanted - len(rows))
            rows += more
    return rows


# Ways to find some rows through a text index: each a FROM clause and a condition on it.
Sources = list[tuple[Any, ColumnElement[bool] | TextClause]]


def _first_by_name(
    connection: Connection,
    conditions: list[ColumnElement[bool]],
    found: Sources,
    wanted: int,
) -> list[Any]:
    """The first `wanted` rows meeting `conditions` by name. The first PROBED names are
    looked at first: a rank that many names meet has its page there. Else up to MAX_COUNTED
    rows are read through each of `found`, which together hold all that meet them, and
    sorted; when one gives as many, one name in a hundred or more meets them, and walking the
    names in order finds `wanted` of them soon. With no `found`, the names are walked."""
    if found:
        last_probed = select(settings.c.name).order_by(settings.c.name).offset(PROBED - 1).limit(1)
        probed = [*conditions, settings.c.name <= last_probed.scalar_subquery()]
        rows = _rows(connection, probed, [settings.c.name], wanted)
        if len(rows) == wanted:
            return rows
        # Each its own subquery: SQLite takes no LIMIT on a member of a UNION.
        windows = [
            select(
                *select(*_COLUMNS)
                .select_from(source)
                .where(where, *conditions)
                .limit(MAX_COUNTED)
                .subquery()
                .c
            )
            for source, where in found
        ]
        union = windows[0] if len(windows) == 1 else windows[0].union(*windows[1:])
        window = union.subquery()
        first = (
            select(*window.c, func.count().over().label("matches"))
            .order_by(window.c.name)
            .limit(wanted)
        )
        rows = list(connection.execute(first))
        if not rows or rows[0].matches < MAX_COUNTED:
            return rows
    return _rows(connection, conditions, [settings.c.name], wanted)


def _starts_found(dialect: str, words: str) -> Sources:
    """Where indexes find the names a component of which starts with `words` (and some
    others: the rank's conditions decide)."""
    pattern = "%/" + _like(words) + "%"
    if dialect == "postgresql":
        # pg_trgm marks where words start: both patterns are looked up by the trigrams of a
        # word that begins with `words`, which few names have even for a common text.
        name = func.lower(settings.c.name)
        starts = or_(name.like(_like(words) + "%", escape="\\"), name.like(pattern, escape="\\"))
        return [(settings, starts)]
    # Ranges of indexes (binary order is code point order), each holding one component's
    # start: the namespace's in the name's; the second's in 0025's after the namespace; the
    # last's of a name of three (0016's, in 0025's part for such names, so that the two-part
    # names most registries hold are not read twice); the middle ones of a name of four or more
    # in 0025's partial index of those, read whole: few names have them. 1,000 names through
    # them took 0.4 ms where a phrase of the FTS5 trigram table took 2.5-4 ms: its trigrams are
    # in every description.
    following = words[:-1] + chr(ord(words[-1]) + 1)

    def starting(expression: ColumnElement[str]) -> ColumnElement[bool]:
        return and_(expression >= words, expression < following)

    return [
        (settings, starting(settings.c.name)),
        (settings, starting(AFTER_NAMESPACE)),
        (settings, and_(THREE_COMPONENTS, starting(last_component(dialect)))),
        (settings, and_(FOUR_COMPONENTS, settings.c.name.like(pattern, escape="\\"))),
    ]


def _names_found(dialect: str, words: str) -> Sources:
    """Where the name's text index finds the names that hold `words`; none if it cannot."""
    if len(words) < TRIGRAM:
        return []
    if dialect == "sqlite":
        phrase = text("repository_search MATCH :name_phrase").bindparams(
            name_phrase=_phrase(words, "name")
        )
        return [(_fts.join(settings, settings.c.id == _fts.c.rowid), phrase)]
    return [(settings, _holding(settings.c.name, words))]


def last_component(dialect: str) -> ColumnElement[str]:
    """The name's last component (`nginx` of `library/nginx`), as migration 0016 indexes it:
    the same expression, letter for letter, or the index is not used."""
    if dialect == "sqlite":
        return literal_column(
            "substr(repository_settings.name,"
            " length(rtrim(repository_settings.name,"
            " replace(repository_settings.name, '/', ''))) + 1)",
            String,
        )
    return literal_column("split_part(repository_settings.name, '/', -1)", String)


def _rows(
    connection: Connection,
    conditions: list[ColumnElement[bool]],
    ordering: list[ColumnElement[object]],
    wanted: int,
    offset: int = 0,
    counted: Select[int] | None = None,
) -> list[Any]:
    """The first `wanted` rows meeting `conditions` in `ordering`, from `offset` on; with
    `counted` alongside as `matches`, so that it costs no round trip of its own."""
    if wanted <= offset:
        return []
    extra = [counted.scalar_subquery().label("matches")] if counted is not None else []
    query = (
        select(
            settings.c.name,
            settings.c.namespace,
            settings.c.description,
            settings.c.visibility,
            settings.c.pull_count,
            settings.c.star_count,
            *extra,
        )
        .where(*conditions)
        .order_by(*ordering)
        .limit(wanted - offset)
        .offset(offset)
    )
    return list(connection.execute(query))


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


def _total(
    connection: Connection, rows: list[Any], offset: int, counted: Select[int] | Subquery
) -> int:
    """How many match: told by the page's rows; a first page without any says none do; only a
    page past the end asks `counted` (a count query, or the subquery to count)."""
    if rows:
        return int(rows[0].matches)
    if offset == 0:
        return 0
    query = counted if isinstance(counted, Select) else select(func.count()).select_from(counted)
    return int(connection.execute(query).scalar_one())


def _counted(conditions: list[ColumnElement[bool]]) -> Select[int]:
    """How many rows meet `conditions`, up to MAX_COUNTED."""
    matching = select(settings.c.id).where(*conditions).limit(MAX_COUNTED).subquery()
    return select(func.count()).select_from(matching)


def _some_matches(
    dialect: str, allowed: list[ColumnElement[bool]], namespace: str | None, words: str
) -> Select[Any]:
    """Up to MAX_COUNTED allowed repositories that hold `words`, in no order."""
    columns = _COLUMNS
    if dialect != "sqlite" or len(words) < TRIGRAM or namespace is not None:
        # (In a namespace, its index drives: the text index's matches elsewhere are many.)
        matching = [*allowed, _matching(dialect, words)]
        return select(*columns).where(*matching).limit(MAX_COUNTED)
    # Joined from the text index rather than `id IN (...)`, which would collect every match
    # before the first is read: the index hands out its matches one by one, and reading stops
    # at MAX_COUNTED.
    return (
        select(*columns)
        .select_from(_fts.join(settings, settings.c.id == _fts.c.rowid))
        .where(text("repository_search MATCH :phrase").bindparams(phrase=_phrase(words)))
        .where(*allowed)
        .limit(MAX_COUNTED)
    )


def _allowed(
    dialect: str, readable: Readable, namespace: str | None, driving: bool
) -> list[ColumnElement[bool]]:
    """What the caller may see (in `namespace`). `driving`: the visibility filter may drive
    the query. In a query that has a text or walks names in order, on SQLite it must not:
    SQLite's planner (without statistics) would rather collect every public row through the
    visibility index than walk the text index's few matches or the name index in order,
    stopping after one page. Counting every visible row, it should."""
    conditions = []
    visible = _visible(readable, unindexed=dialect == "sqlite" and not driving, dialect=dialect)
    if visible is not None:
        conditions.append(visible)
    if namespace is not None:
        conditions.append(settings.c.namespace == namespace)
    return conditions


def _column(name: str, unindexed: bool) -> ColumnElement[str]:
    """A column of the settings; `unindexed`: as SQLite's `+column`, which no index serves."""
    if unindexed:
        return literal_column(f"+repository_settings.{name}", String)
    return settings.c[name]


def _visible(readable: Readable, unindexed: bool, dialect: str) -> ColumnElement[bool] | None:
    if readable.everything:
        return None
    parts: list[ColumnElement[bool]] = []
    if readable.public:
        parts.append(_column("visibility", unindexed) == "public")
    if readable.namespaces:
        parts.append(_column("namespace", unindexed).in_(sorted(readable.namespaces)))
    if readable.ids:
        parts.append(_among_ids(sorted(readable.ids), unindexed, dialect))
    return or_(*parts) if parts else false()


def _among_ids(ids: list[int], unindexed: bool, dialect: str) -> ColumnElement[bool]:
    """The id is one of `ids`, sent as one parameter: hundreds of ids as that many
    bind parameters made a query text that the driver parsed and the server planned afresh each
    time (3-5 ms a search on PostgreSQL)."""
    if dialect == "postgresql":
        return settings.c.id == any_(bindparam("readable_ids", ids, type_=ARRAY(Integer)))
    listed = func.json_each(bindparam("readable_ids", json.dumps(ids))).table_valued("value")
    column = literal_column("+repository_settings.id", Integer) if unindexed else settings.c.id
    return column.in_(select(listed.c.value))


def _matching(dialect: str, words: str) -> ColumnElement[bool]:
    """The name or a description (short or full) holds `words` (lowercase), whatever the
    case."""
    if dialect == "sqlite":
        if len(words) >= TRIGRAM:
            found = select(_fts.c.rowid).where(text("repository_search MATCH :phrase"))
            return settings.c.id.in_(found.params(phrase=_phrase(words)))
        return or_(
            func.instr(settings.c.name, words) > 0,
            func.instr(func.lower(settings.c.description), words) > 0,
            func.instr(func.lower(settings.c.full_description), words) > 0,
        )
    if len(words) < TRIGRAM:
        # Every row is read: names are lowercase (the distribution spec's grammar), so spare
        # them lower(), which costs more than the comparison.
        return or_(
            func.strpos(settings.c.name, words) > 0,
            func.strpos(func.lower(settings.c.description), words) > 0,
            func.strpos(func.lower(settings.c.full_description), words) > 0,
        )
    return or_(
        _holding(settings.c.name, words),
        _holding(settings.c.description, words),
        _holding(settings.c.full_description, words),
    )


def _holding(column: ColumnElement[str], words: str) -> ColumnElement[bool]:
    """PostgreSQL: `column` holds `words`, whatever the case, as a trigram index finds it."""
    pattern = "%" + _like(words) + "%"
    squeezed = _squeezed(words)
    if squeezed == words or len(squeezed) < TRIGRAM:
        return func.lower(column).like(pattern, escape="\\")
    # A text across separators: holding it implies holding it squeezed, which migration 0009's
    # indexes find by its own trigrams; strpos then keeps exactly the rows that hold it. (Without
    # a separator, 0006's indexes are as selective and cheaper to recheck.) strpos, not LIKE: no
    # index serves it, so the planner cannot prefer 0006's index, which would look the text up
    # by its (common) words.
    # The separators as literals, not parameters: once psycopg prepares the statement (its
    # fifth run), PostgreSQL may plan it generically, and a parameter there no longer matches
    # the index's expression: every row was read (600 ms).
    indexed = func.translate(func.lower(column), _SEPARATORS_SQL, literal_column("''"))
    return and_(
        indexed.like("%" + _like(squeezed) + "%", escape="\\"),
        func.strpos(func.lower(column), words) > 0,
    )


def _phrase(words: str, column: str | None = None) -> str:
    """An FTS5 query for `words` as they are (in `column`)."""
    phrase = '"' + words.replace('"', '""') + '"'
    return phrase if column is None else f"{column} : {phrase}"


def _matching_name(dialect: str, words: str) -> ColumnElement[bool]:
    """The name holds `words` (the matches ranked before the description-only ones), through
    the name's text index."""
    if dialect == "sqlite":
        if len(words) >= TRIGRAM:
            found = select(_fts.c.rowid).where(text("repository_search MATCH :name_phrase"))
            return settings.c.id.in_(found.params(name_phrase=_phrase(words, "name")))
        return func.instr(settings.c.name, words) > 0
    if len(words) < TRIGRAM:
        return func.strpos(settings.c.name, words) > 0
    return _holding(settings.c.name, words)


def _not_in_name(dialect: str, words: str) -> ColumnElement[bool]:
    """The name does not hold `words`: a filter for rows already found, which no index serves.
    Names are lowercase ASCII (the distribution spec's grammar), where lower(), LIKE and FTS5's
    case folding change nothing: name matches and these part the matches exactly."""
    if dialect == "sqlite":
        return func.instr(settings.c.name, words) == 0
    return func.strpos(settings.c.name, words) == 0


def _squeezed(words: str) -> str:
    """`words` without SEPARATORS, as the PostgreSQL trigram indexes hold names and descriptions."""
    return words.translate({ord(c): None for c in SEPARATORS})


def _order(
    words: str, order: str, columns: ColumnCollection[str, ColumnElement[Any]] = settings.c
) -> list[ColumnElement[object]]:
    """Every order ends with the (unique) name, so pages never overlap. `columns`: the
    settings' or a subquery's."""
    if order == "last_push":
        # Repositories never pushed (set up by their administrators) last.
        return [columns.last_push_at.desc().nulls_last(), columns.name]
    if order == "pulls":
        return [columns.pull_count.desc(), columns.name]
    if order == "stars":
        return [columns.star_count.desc(), columns.name]
    if order != "relevance" or not words:
        return [columns.name]
    exact, starting, anywhere = _ranks(columns.name, words)
    rank = case((exact, 0), (starting, 1), (anywhere, 2), else_=3)  # 3: the description only
    return [rank, columns.name]


def _ranks(
    name: ColumnElement[str], words: str
) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """What ranks a name match, best first: the name is `words` or ends with them as its last
    component; a component starts with them; they are anywhere in it. Each implies the next."""
    escaped = _like(words)

    def like(pattern: str) -> ColumnElement[bool]:
        return name.like(pattern, escape="\\")

    return (
        or_(name == words, like("%/" + escaped)),
        or_(like(escaped + "%"), like("%/" + escaped + "%")),
        like("%" + escaped + "%"),
    )


def _like(words: str) -> str:
    """`words` as a LIKE pattern matching exactly them."""
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
