"""The statements of search (index/search/repository.py runs them), built once per shape.

A statement's text depends on few things: the database, which kinds of repositories the caller
may see, whether a namespace is given, the kind of text, the order. Everything else (the text,
the caller's namespaces and collaborations, page bounds) is a named parameter, so each shape
is built, and its cache key computed, once per process: building them anew took as long as
running them (docs/decisions/0016-search-speed.md).

Parameters, by name: `words` (the text, lowercase), `ends` / `starts` / `component` /
`anywhere` (LIKE patterns: the name ends with `/words`, starts with them, has a component
starting with them, holds them), `following` (the least text after every text that starts
with `words`), `phrase` (SQLite's FTS5 query), `pairs` (SQLite: an FTS5 query of the trigrams
that start with a two-character text), `squeezed` (PostgreSQL: a LIKE
pattern of the text without separators), `namespace`, `namespaces`, `collaborator` (the
caller's user id), `bound` (MAX_COUNTED), `counted` (how many matches a first pass reads),
`probed` (PROBED), `paired` (PAIRED), and each statement's `limit` and `offset`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnCollection,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    TextClause,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import array

from dockyard.index.repositories.repository import collaborations
from dockyard.index.tables import repository_settings as settings

# The trigram indexes find a text of three characters or more; shorter ones are looked for in
# every row (a bounded scan, docs/api.md).
TRIGRAM = 3
# What PostgreSQL's trigram indexes of migration 0009 take out of names and descriptions:
# pg_trgm makes trigrams of alphanumeric runs only, so `nginx-proxy` would otherwise be looked
# up as "nginx" and "proxy", each in thousands of rows. Squeezed, it has trigrams of its own.
# Spaces stay: without them, common words side by side in descriptions make common trigrams.
SEPARATORS = "-_./"
# PostgreSQL: what joins a repository's name, description and full description in the
# searched text of migration 0028. A text without it is in the searched text exactly when a
# column holds it; one with it may also straddle two columns there, so it is checked in each.
SEGMENTS = "\n"
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
# What orders them.
_ORDERED = (
    settings.c.id,
    settings.c.name,
    settings.c.pull_count,
    settings.c.star_count,
    settings.c.last_push_at,
)
_SEPARATORS_SQL = literal_column(f"'{SEPARATORS}'", String)
_fts = table("repository_search", column("rowid"))
_SEARCH_TEXT = literal_column("repository_settings.search_text", String)  # PostgreSQL (0028)
_fts_names = table("repository_search_names", column("rowid"))  # names alone (migration 0027)
# SQLite: the trigram table's terms (migration 0032), and the columns' last two characters as
# its indexes hold them.
_fts_terms = table("repository_search_terms", column("term"), column("doc"))
LAST_PAIRS = tuple(
    literal_column(f"lower(substr(repository_settings.{name}, -2))", String)
    for name in ("name", "description", "full_description")
)
# Names of three components and of four or more, as migration 0025's partial indexes name them
# (the same expressions, letter for letter, or the indexes are not used).
_SLASHES = "length(repository_settings.name) - length(replace(repository_settings.name, '/', ''))"
THREE_COMPONENTS = text(f"{_SLASHES} = 2")
FOUR_COMPONENTS = text(f"{_SLASHES} >= 3")
# Ways to find some rows through an index: each a FROM clause and a condition on it.
Sources = list[tuple[Any, ColumnElement[bool] | TextClause]]


@dataclass(frozen=True, slots=True)
class Shape:
    """What a search's statements depend on besides their parameters."""

    dialect: str
    everything: bool  # the caller sees every repository
    public: bool  # ... or the public ones
    namespaces: bool  # ... and those of some namespaces
    collaborator: bool  # ... and those the caller collaborates on
    in_namespace: bool  # the search is within one namespace
    has_text: bool  # a text is given
    trigram: bool  # the text is long enough for the trigram indexes
    bigram: bool  # PostgreSQL: the text is two characters, as migration 0030's index holds
    pairs: bool  # SQLite: the text is two characters few hold, found as migration 0032 says
    paired_names: bool  # SQLite: the text is two characters: names holding it found so too
    squeezed: bool  # PostgreSQL: the text holds a separator, and squeezed is still a trigram
    segments: bool  # PostgreSQL: the text holds SEGMENTS


@cache
def empty_text_page(shape: Shape, order: str) -> Select[Any]:
    """A page of everything the caller may see, in `order`, with how many there are (up to
    `bound`) as `matches`. The page walks the name index in order and stops after the page;
    the count, sent along (one round trip), is a query in which the visibility filter may
    drive."""
    counted = select(settings.c.id).where(*_allowed(shape, driving=True)).limit(_bound())
    matches = select(func.count()).select_from(counted.subquery()).scalar_subquery()
    return _page(_allowed(shape, driving=False), _order(shape, order), matches)


@cache
def first_matches(shape: Shape, order: str) -> tuple[Select[Any], Select[Any]]:
    """The page of the first `counted` matches the index hands out (SQLite walks its text
    index, PostgreSQL its heap, only that far), ordered, with their number as `matches` and
    how many of them are public as `public_matches`; and their number alone, for a page past
    the end. They are counted and ordered by the columns an order reads, and only the page's
    rows are read whole: carrying 1,000 descriptions through the sort took as long as finding
    them (SQLite, a common word: 3.9 against 2.7 ms)."""
    some = _some_matches(shape).subquery()
    ordering = _order(shape, order, some.c)
    public = func.sum(case((some.c.visibility == "public", 1), else_=0))
    firsts = (
        select(
            some.c.id,
            func.count().over().label("matches"),
            public.over().label("public_matches"),
        )
        .order_by(*ordering)
        .limit(_limit())
        .offset(_offset())
        .subquery()
    )
    page = (
        select(*_COLUMNS[:-1], firsts.c.matches, firsts.c.public_matches)
        .select_from(firsts.join(settings, settings.c.id == firsts.c.id))
        .order_by(*_order(shape, order))
    )
    return page, select(func.count()).select_from(some)


@cache
def all_matches_page(shape: Shape, order: str) -> Select[Any]:
    """A page of every match in `order` (by pulls or last push: every match is sorted)."""
    return _page([*_allowed(shape, driving=False), _matching(shape)], _order(shape, order))


@cache
def description_only_page(shape: Shape) -> Select[Any]:
    """A page, by name, of the matches whose name does not hold the text."""
    conditions = [*_allowed(shape, driving=False), _matching(shape), _not_in_name(shape)]
    return _page(conditions, [settings.c.name])


@dataclass(frozen=True, slots=True)
class Rank:
    """The statements that find a page of one rank of name matches by name: `probed` among
    the first PROBED names, `windows` through indexes that hold all the rank's names (up to
    `bound` through each, with the most one gave as `fullest`; None where no index helps),
    and `walked` along the names in order."""

    probed: Select[Any]
    windows: Select[Any] | None
    walked: Select[Any]


@cache
def ranks(shape: Shape) -> tuple[Rank, ...]:
    """Name matches by relevance, best first: names equal to the text or whose last component
    is (through the indexes of names and of their last components: there are few, so they are
    only walked); names a component of which starts with it; names that hold it elsewhere."""
    words = bindparam("words", type_=String)
    equal = or_(settings.c.name == words, last_component(shape.dialect) == words)
    allowed = _allowed(shape, driving=False)

    def starting(name: ColumnElement[str]) -> list[ColumnElement[bool]]:
        exact, starts, _ = _ranks(shape, name)
        return [starts, ~exact]

    def anywhere(name: ColumnElement[str]) -> list[ColumnElement[bool]]:
        _, starts, holds = _ranks(shape, name)
        return [holds, ~starts]

    walked = _page([*allowed, equal], [settings.c.name])
    return (
        Rank(walked, None, walked),
        _rank(shape, allowed, starting, _starts_found(shape)),
        _rank(shape, allowed, anywhere, _names_found(shape)),
    )


def _rank(
    shape: Shape,
    allowed: list[ColumnElement[bool]],
    of_rank: Callable[[ColumnElement[str]], list[ColumnElement[bool]]],
    found: Sources,
) -> Rank:
    """A rank's statements; `of_rank(name)`: the conditions on a name of the rank."""
    by_name = [settings.c.name]
    conditions = [*allowed, *of_rank(settings.c.name)]
    walked = _page(conditions, by_name)
    if not found:
        return Rank(walked, None, walked)
    probed = _probed(shape, allowed, of_rank)
    # Each its own subquery: SQLite takes no LIMIT on a member of a UNION. Only ids and names
    # go through the union, and the page is read whole after (a two-letter text's windows:
    # 12.5 ms with every column). Each window tells how many rows it gave (`held`): one that
    # gave `bound` may have left some of the rank's names out.
    windows = []
    for source, where in found:
        held = (
            select(settings.c.id, settings.c.name)
            .select_from(source)
            .where(where, *conditions)
            .limit(_bound())
            .subquery()
        )
        windows.append(select(held.c.id, held.c.name, func.count().over().label("held")))
    window = windows[0].subquery() if len(windows) == 1 else union_all(*windows).subquery()
    if len(windows) > 1:  # a name in several windows, once
        names = (window.c.id, window.c.name)
        window = select(*names, func.max(window.c.held).label("held")).group_by(*names).subquery()
    firsts = (
        select(window.c.id, func.max(window.c.held).over().label("fullest"))
        .order_by(window.c.name)
        .limit(_limit())
        .subquery()
    )
    first = (
        select(*_COLUMNS[:-1], firsts.c.fullest)
        .select_from(firsts.join(settings, settings.c.id == firsts.c.id))
        .order_by(settings.c.name)
    )
    return Rank(probed, first, walked)


def _probed(
    shape: Shape,
    allowed: list[ColumnElement[bool]],
    of_rank: Callable[[ColumnElement[str]], list[ColumnElement[bool]]],
) -> Select[Any]:
    """A page of the rank's rows among the first `probed` names."""
    if shape.dialect == "sqlite":
        # SQLite tests the name's conditions on the name index's entries as it walks them.
        probed = bindparam("probed", type_=Integer)
        last = select(settings.c.name).order_by(settings.c.name).offset(probed - 1).limit(1)
        conditions = [
            *allowed,
            *of_rank(settings.c.name),
            settings.c.name <= last.scalar_subquery(),
        ]
        return _page(conditions, [settings.c.name])
    # PostgreSQL reads a row from the table before it tests what its index does not answer:
    # the names alone first (an index-only scan), and only the rank's rows from the table.
    # The start of a common word's rank 2: 1.6 against 3 ms.
    names = (
        select(settings.c.name)
        .order_by(settings.c.name)
        .limit(bindparam("probed", type_=Integer))
        .subquery()
    )
    return _page(
        [*allowed, *of_rank(names.c.name)],
        [settings.c.name],
        source=names.join(settings, settings.c.name == names.c.name),
    )


def _starts_found(shape: Shape) -> Sources:
    """Where indexes find the names a component of which starts with the text (and some
    others: the rank's conditions decide)."""

    # Ranges of indexes in code point order, each holding one component's start: the
    # namespace's, the second's (the name after the namespace), the last one's of a name of
    # three (the last component, in migration 0025's index for such names only: of two, it is
    # the second), and the middle ones of a name of four or more, in 0025's partial index of
    # those names, read whole: few names have them. 1,000 names through them took 0.4 ms where
    # SQLite's FTS5 trigram phrase took 2.5-4 ms (its trigrams are in every description) and
    # PostgreSQL's trigram indexes 5 ms (they do not tell where a component starts).
    def starting(expression: ColumnElement[str]) -> ColumnElement[bool]:
        if shape.dialect == "postgresql":
            expression = expression.collate("C")  # code point order, whatever the database's
        return and_(expression >= bindparam("words"), expression < bindparam("following"))

    middle = settings.c.name.like(bindparam("component"), escape="\\")
    return [
        (settings, starting(settings.c.name)),
        (settings, starting(after_namespace(shape.dialect))),
        (settings, and_(THREE_COMPONENTS, starting(last_component(shape.dialect)))),
        (settings, and_(FOUR_COMPONENTS, middle)),
    ]


def _names_found(shape: Shape) -> Sources:
    """Where the name's text index finds the names that hold the text; none if it cannot."""
    names = _fts_names.join(settings, settings.c.id == _fts_names.c.rowid)
    if shape.paired_names:
        # Two characters: the names with a trigram that starts with them, or that end with
        # them (migration 0032). Without them, a common pair that few names hold (`y.`, in
        # descriptions' ends) walked every name: 26-40 -> 7-14 ms.
        started = text("repository_search_names MATCH :pairs")
        return [(names, started), (settings, LAST_PAIRS[0] == bindparam("words", type_=String))]
    if not shape.trigram:
        return []
    if shape.dialect == "sqlite":
        return [(names, text("repository_search_names MATCH :phrase"))]
    return [(settings, _holding(shape, settings.c.name))]


def last_component(dialect: str) -> ColumnElement[str]:
    """The name's last component (`nginx` of `library/nginx`), as migrations 0016 and 0025
    index it: the same expression, letter for letter, or the index is not used."""
    if dialect == "sqlite":
        return literal_column(
            "substr(repository_settings.name,"
            " length(rtrim(repository_settings.name,"
            " replace(repository_settings.name, '/', ''))) + 1)",
            String,
        )
    return literal_column("split_part(repository_settings.name, '/', -1)", String)


def after_namespace(dialect: str) -> ColumnElement[str]:
    """The name after its namespace (`nginx/alpine` of `acme/nginx/alpine`), as migration 0025
    indexes it."""
    find = "instr" if dialect == "sqlite" else "strpos"
    return literal_column(
        f"substr(repository_settings.name, {find}(repository_settings.name, '/') + 1)", String
    )


def _page(
    conditions: list[ColumnElement[bool]],
    ordering: Sequence[ColumnElement[Any]],
    matches: ColumnElement[int] | None = None,
    source: Any = settings,
) -> Select[Any]:
    """Rows meeting `conditions` in `ordering`, `limit` of them from `offset` on; with
    `matches` alongside, so that it costs no round trip of its own."""
    extra = [matches.label("matches")] if matches is not None else []
    return (
        select(*_COLUMNS[:-1], *extra)
        .select_from(source)
        .where(*conditions)
        .order_by(*ordering)
        .limit(_limit())
        .offset(_offset())
    )


def _limit() -> Any:
    return bindparam("limit", type_=Integer)


def _offset() -> Any:
    return bindparam("offset", type_=Integer)


def _bound() -> Any:
    return bindparam("bound", type_=Integer)


def _paired() -> Any:
    return bindparam("paired", type_=Integer)


def _some_matches(shape: Shape) -> Select[Any]:
    """Up to `counted` allowed repositories that hold the text, in no order: what orders them,
    and their visibility."""
    allowed = _allowed(shape, driving=False)
    counted = bindparam("counted", type_=Integer)
    columns = (*_ORDERED, settings.c.visibility)
    if shape.dialect != "sqlite" or not shape.trigram or shape.in_namespace:
        # (In a namespace, its index drives: the text index's matches elsewhere are many.)
        return select(*columns).where(*allowed, _matching(shape)).limit(counted)
    # Joined from the text index rather than `id IN (...)`, which would collect every match
    # before the first is read: the index hands out its matches one by one, and reading stops
    # at `counted`.
    return (
        select(*columns)
        .select_from(_fts.join(settings, settings.c.id == _fts.c.rowid))
        .where(text("repository_search MATCH :phrase"))
        .where(*allowed)
        .limit(counted)
    )


def _allowed(shape: Shape, driving: bool) -> list[ColumnElement[bool]]:
    """What the caller may see (in the namespace). `driving`: the visibility filter may drive
    the query. In a query that has a text or walks names in order, on SQLite it must not:
    SQLite's planner (without statistics) would rather collect every public row through the
    visibility index than walk the text index's few matches or the name index in order,
    stopping after one page. Counting every visible row, it should."""
    conditions = []
    visible = _visible(shape, unindexed=shape.dialect == "sqlite" and not driving)
    if visible is not None:
        conditions.append(visible)
    if shape.in_namespace:
        conditions.append(settings.c.namespace == bindparam("namespace"))
    return conditions


def _column(name: str, unindexed: bool) -> ColumnElement[str]:
    """A column of the settings; `unindexed`: as SQLite's `+column`, which no index serves."""
    if unindexed:
        return literal_column(f"+repository_settings.{name}", String)
    return settings.c[name]


def _visible(shape: Shape, unindexed: bool) -> ColumnElement[bool] | None:
    if shape.everything:
        return None
    parts: list[ColumnElement[bool]] = []
    if shape.public:
        parts.append(_column("visibility", unindexed) == "public")
    if shape.namespaces:
        namespaces = bindparam("namespaces", type_=String, expanding=True)
        parts.append(_column("namespace", unindexed).in_(namespaces))
    if shape.collaborator:
        parts.append(_collaborating(unindexed))
    return or_(*parts) if parts else false()


def _collaborating(unindexed: bool) -> ColumnElement[bool]:
    """The caller collaborates on the repository: a subquery of the collaborators, which the
    database runs once per search."""
    column = literal_column("+repository_settings.id", Integer) if unindexed else settings.c.id
    return column.in_(collaborations(bindparam("collaborator", type_=Integer)))


def _matching(shape: Shape) -> ColumnElement[bool]:
    """The name or a description (short or full) holds the text (lowercase), whatever the
    case."""
    words = bindparam("words", type_=String)
    if shape.dialect == "sqlite":
        if shape.trigram:
            found = select(_fts.c.rowid).where(text("repository_search MATCH :phrase"))
            return settings.c.id.in_(found)
        # SQLite's LIKE ignores the case of ASCII letters, as its lower() folds only those: the
        # same matches, without a lowered copy of every description (a two-letter text's first
        # 1,000 matches: 6 ms where instr(lower(...)) took 18).
        anywhere = bindparam("anywhere", type_=String)
        liked = or_(
            *(
                column.like(anywhere, escape="\\")
                for column in (settings.c.name, settings.c.description, settings.c.full_description)
            )
        )
        if not shape.pairs:
            return liked  # every row is read, until the first `counted` matches
        # The rows with a trigram that starts with the pair, or a column that ends with it;
        # LIKE then keeps those that hold it as it does (FTS5 also folds non-ASCII letters).
        started = select(_fts.c.rowid).where(text("repository_search MATCH :pairs"))
        return and_(or_(settings.c.id.in_(started), *(end == words for end in LAST_PAIRS)), liked)
    # Migration 0028's searched text: the columns lowercase already, so each row read costs no
    # lower() (about 1.5 microseconds a column), and one trigram index finds them all.
    if shape.bigram:
        # Exact: the searched text holds the two characters if one of its pairs is them.
        texts = array([cast(words, Text)])
        held: ColumnElement[bool] = func.dockyard_bigrams(_SEARCH_TEXT).op(
            "@>", is_comparison=True
        )(texts)
    elif not shape.trigram:
        # One character: every row is read (nearly every row holds it: the first 1,000
        # matches come soon).
        held = func.strpos(_SEARCH_TEXT, words) > 0
    else:
        held = _holding(shape, _SEARCH_TEXT, lowercase=True)
    if not shape.segments:
        return held
    return and_(
        held,
        or_(
            *(
                func.strpos(func.lower(column), words) > 0
                for column in (settings.c.name, settings.c.description, settings.c.full_description)
            )
        ),
    )


def _holding(
    shape: Shape, column: ColumnElement[str], lowercase: bool = False
) -> ColumnElement[bool]:
    """PostgreSQL: `column` holds the text, whatever the case (`lowercase`: as it is), as a
    trigram index finds it."""
    lowered = column if lowercase else func.lower(column)
    if not shape.squeezed:
        return lowered.like(bindparam("anywhere"), escape="\\")
    # A text across separators: holding it implies holding it squeezed, which the squeezed
    # indexes (0009's of names, 0028's of the searched text) find by its own trigrams; strpos
    # then keeps exactly the rows that hold it. (Without a separator, the plain indexes are as
    # selective and cheaper to recheck.) strpos, not LIKE: no index serves it, so the planner
    # cannot prefer the plain index, which would look the text up by its (common) words.
    # The separators as literals, not parameters: once psycopg prepares the statement (its
    # fifth run), PostgreSQL may plan it generically, and a parameter there no longer matches
    # the index's expression: every row was read (600 ms).
    indexed = func.translate(lowered, _SEPARATORS_SQL, literal_column("''"))
    return and_(
        indexed.like(bindparam("squeezed"), escape="\\"),
        func.strpos(lowered, bindparam("words", type_=String)) > 0,
    )


@cache
def pair_terms() -> Select[Any]:
    """SQLite: the trigrams that start with a two-character text (`words` up to `following`),
    and in how many rows each is."""
    terms = _fts_terms.c
    return select(terms.term, terms.doc).where(
        terms.term >= bindparam("words", type_=String),
        terms.term < bindparam("following", type_=String),
    )


@cache
def pair_ends() -> Select[Any]:
    """SQLite: how many columns end with a two-character text, up to `paired` per column."""
    words = bindparam("words", type_=String)
    counts = [
        select(func.count())
        .select_from(select(settings.c.id).where(end == words).limit(_paired()).subquery())
        .scalar_subquery()
        for end in LAST_PAIRS
    ]
    return select(counts[0] + counts[1] + counts[2])


def _not_in_name(shape: Shape) -> ColumnElement[bool]:
    """The name does not hold the text: a filter for rows already found, which no index
    serves. Names are lowercase ASCII (the distribution spec's grammar), where lower(), LIKE
    and FTS5's case folding change nothing: name matches and these part the matches exactly."""
    position = func.instr if shape.dialect == "sqlite" else func.strpos
    return position(settings.c.name, bindparam("words", type_=String)) == 0


def _order(
    shape: Shape, order: str, columns: ColumnCollection[str, ColumnElement[Any]] = settings.c
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
    if order != "relevance" or not shape.has_text:
        return [columns.name]
    exact, starting, anywhere = _ranks(shape, columns.name)
    # The description only (3) first: most matches of a common text are, and for them one
    # test of the name decides instead of all five (each implies the next).
    rank = case((~anywhere, 3), (exact, 0), (starting, 1), else_=2)
    return [rank, columns.name]


def _ranks(
    shape: Shape, name: ColumnElement[str]
) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """What ranks a name match, best first: the name is the text or ends with it as its last
    component; a component starts with it; it is anywhere in it. Each implies the next."""

    def like(pattern: str) -> ColumnElement[bool]:
        return name.like(bindparam(pattern, type_=String), escape="\\")

    return (
        or_(name == bindparam("words", type_=String), like("ends")),
        or_(like("starts"), like("component")),
        like("anywhere"),
    )
