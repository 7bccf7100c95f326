"""The rules of stars and comments.

- Only what a caller may pull exists for them: on a repository they may not pull every call
  answers NotFound, as for one that does not exist.
- Starring, unstarring and writing comments need a signed-in person (the endpoints check that
  the credentials may change things); reading stars and comments is for whoever may pull,
  anonymous included on a public repository.
- A comment is edited by its author only; deleted by its author, the repository's
  administrators and site administrators (who administer every repository).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection, Row

from dockyard.db.engine import Database
from dockyard.index.community import repository
from dockyard.index.errors import Forbidden, Invalid, NotFound
from dockyard.index.repositories.permissions import Identity
from dockyard.index.repositories.service import pullable_in, readable_by
from dockyard.index.tables import as_utc
from dockyard.kit.numbers import parse_decimal

T = TypeVar("T")
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_COMMENT = 5_000


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # from 1
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    items: list[T]
    more: bool  # whether a next page holds anything


def _listing(rows: list[T], page: Page) -> Listing[T]:
    """Rows read with one more than the page holds, to know whether another page follows."""
    return Listing(rows[: page.size], len(rows) > page.size)


@dataclass(frozen=True, slots=True)
class Starred:
    name: str
    description: str
    visibility: str
    star_count: int
    pull_count: int
    starred_at: datetime


@dataclass(frozen=True, slots=True)
class Stargazer:
    username: str
    starred_at: datetime


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    author: str
    body: str
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def of(cls, row: Row[tuple[object, ...]]) -> Comment:
        created, updated = row.created_at, row.updated_at
        assert isinstance(created, datetime)
        return cls(
            int(str(row.id)),
            str(row.author),
            str(row.body),
            as_utc(created),
            as_utc(updated) if isinstance(updated, datetime) else None,
        )


def _now() -> datetime:
    return datetime.now(UTC)


async def star(database: Database, who: Identity, name: str) -> None:
    """Star `name`; starring it again changes nothing."""

    def change(connection: Connection) -> None:
        found = pullable_in(connection, who, name)
        repository.add_star(connection, found.id, who.user_id, _now())

    await database.run(change)


async def unstar(database: Database, who: Identity, name: str) -> None:
    """Take the star back; without one, nothing changes."""

    def change(connection: Connection) -> None:
        found = pullable_in(connection, who, name)
        repository.remove_star(connection, found.id, who.user_id)

    await database.run(change)


async def has_starred(database: Database, who: Identity, name: str) -> bool:
    """Whether `who` starred `name` (a repository they may pull; NotFound otherwise)."""

    def read(connection: Connection) -> bool:
        found = pullable_in(connection, who, name)
        return repository.has_star(connection, found.id, who.user_id)

    return await database.run(read)


async def starred(database: Database, who: Identity, page: Page) -> Listing[Starred]:
    """The repositories `who` starred and may still pull, newest star first."""

    def read(connection: Connection) -> Listing[Starred]:
        readable = readable_by(connection, who)
        rows = repository.starred(connection, who.user_id, readable, page.size + 1, page.offset)
        return _listing([_starred(row) for row in rows], page)

    return await database.run(read)


def _starred(row: Row[tuple[object, ...]]) -> Starred:
    at = row.starred_at
    assert isinstance(at, datetime)
    return Starred(
        str(row.name),
        str(row.description),
        str(row.visibility),
        int(str(row.star_count)),
        int(str(row.pull_count)),
        as_utc(at),
    )


async def stargazers(
    database: Database, who: Identity | None, name: str, page: Page
) -> Listing[Stargazer]:
    def read(connection: Connection) -> Listing[Stargazer]:
        found = pullable_in(connection, who, name)
        rows = repository.stargazers(connection, found.id, page.size + 1, page.offset)
        gazers = [Stargazer(str(r.username), as_utc(r.starred_at)) for r in rows]
        return _listing(gazers, page)

    return await database.run(read)


# Comment ids are 32-bit integers in PostgreSQL: a larger one names no comment.
MAX_COMMENT_ID = 2**31 - 1


def comment_id(text: str) -> int:
    """A comment's id as a path names it; NotFound when it cannot name one."""
    found = parse_decimal(text, MAX_COMMENT_ID + 1)
    if found is None or not 1 <= found <= MAX_COMMENT_ID:
        raise NotFound(f"no comment {text[:40]!r}")
    return found


def check_comment(text: str) -> None:
    """1 to MAX_COMMENT characters, not only white space. Kept as given: clients show it as
    text (the server never renders it, so markup in it is inert here)."""
    if not text.strip():
        raise Invalid("a comment needs some text")
    if len(text) > MAX_COMMENT:
        raise Invalid(f"a comment is at most {MAX_COMMENT:,} characters")


async def comments(
    database: Database, who: Identity | None, name: str, page: Page
) -> Listing[Comment]:
    """The repository's comments, newest first."""

    def read(connection: Connection) -> Listing[Comment]:
        found = pullable_in(connection, who, name)
        rows = repository.comments_of(connection, found.id, page.size + 1, page.offset)
        return _listing([Comment.of(row) for row in rows], page)

    return await database.run(read)


async def add_comment(database: Database, who: Identity, name: str, text: str) -> Comment:
    check_comment(text)

    def change(connection: Connection) -> Comment:
        found = pullable_in(connection, who, name)
        added = repository.add_comment(connection, found.id, who.user_id, text, _now())
        return _comment(connection, found.id, added)

    return await database.run(change)


async def edit_comment(
    database: Database, who: Identity, name: str, comment_id: int, text: str
) -> Comment:
    check_comment(text)

    def change(connection: Connection) -> Comment:
        found = pullable_in(connection, who, name)
        row = _comment_row(connection, found.id, comment_id)
        if int(str(row.user_id)) != who.user_id:
            raise Forbidden("only its author may edit a comment")
        repository.edit_comment(connection, comment_id, text, _now())
        return _comment(connection, found.id, comment_id)

    return await database.run(change)


async def delete_comment(database: Database, who: Identity, name: str, comment_id: int) -> None:
    def change(connection: Connection) -> None:
        found = pullable_in(connection, who, name)
        row = _comment_row(connection, found.id, comment_id)
        # Site administrators hold the admin role on every repository.
        if int(str(row.user_id)) != who.user_id and found.role != "admin":
            raise Forbidden("only its author and the repository's administrators may delete it")
        repository.delete_comment(connection, comment_id)

    await database.run(change)


def _comment_row(
    connection: Connection, repository_id: int, comment_id: int
) -> Row[tuple[object, ...]]:
    row = repository.comment(connection, repository_id, comment_id)
    if row is None:
        raise NotFound(f"no comment {comment_id}")
    return row


def _comment(connection: Connection, repository_id: int, comment_id: int) -> Comment:
    return Comment.of(_comment_row(connection, repository_id, comment_id))
