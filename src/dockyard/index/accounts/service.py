"""The rules of accounts: valid names, one namespace per name, argon2 passwords."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dockyard.db.engine import Database
from dockyard.index.accounts import repository
from dockyard.index.errors import Conflict, Invalid, NotFound
from dockyard.index.hashing import (
    MIN_PASSWORD_LENGTH,
    check_remembered,
    decoy_hash,
    hash_password,
    verify_password,
)
from dockyard.index.names import RESERVED, is_valid_account_name
from dockyard.index.tables import as_utc

# argon2 takes any length; a bound keeps one sign-up from hashing megabytes.
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    email: str
    is_admin: bool
    disabled: bool = False  # by a site administrator: it proves nothing until enabled again

    @classmethod
    def from_row(cls, row: Any) -> User:
        disabled = row.disabled_at is not None
        return cls(row.id, row.username, row.email, bool(row.is_admin), disabled)


def check_new_name(name: str, what: str) -> None:
    if not is_valid_account_name(name):
        raise Invalid(
            f"{what} name {name!r} must be 2 to 64 characters: lowercase letters and digits,"
            " separated by single '.', '_' or '-'"
        )
    if name in RESERVED:
        raise Invalid(f"{what} name {name!r} is reserved")


def check_name_free(connection: Connection, name: str, *, taking_repositories: bool) -> None:
    """Conflict unless `name` may become a new user's or organisation's namespace: not held,
    and holding no repositories unless `taking_repositories` (a site administrator's choice).
    Those an administrator pushed or replicated there, a mirror cached there, or a token pushed
    there after its account was deleted, would otherwise be any newcomer's to push over and
    delete."""
    if repository.name_taken(connection, name):
        raise Conflict(f"the name {name!r} is taken")
    if not taking_repositories and repository.repository_count(connection, name):
        raise Conflict(
            f"the name {name!r} is taken: repositories are kept under it"
            " (a site administrator may delete them or transfer them elsewhere)"
        )


async def create_user(
    database: Database,
    username: str,
    email: str,
    password: str,
    is_admin: bool = False,
    *,
    taking_repositories: bool = False,
) -> User:
    """A new account; `taking_repositories`: it may be made over repositories already kept
    under its name, and own them (site administrators decide that, not a sign-up)."""
    check_new_name(username, "user")
    if "@" not in email or len(email) > 255:
        raise Invalid("email must be an e-mail address")
    password_hash = await new_password_hash(password)

    def insert(connection: Any) -> int:
        check_name_free(connection, username, taking_repositories=taking_repositories)
        return repository.insert_user(connection, username, email, password_hash, is_admin)

    try:
        user_id = await database.run(insert)
    except IntegrityError:
        raise Conflict(f"the name {username!r} is taken") from None
    return User(user_id, username, email, is_admin)


async def new_password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return await asyncio.to_thread(hash_password, password)


async def find_user(database: Database, username: str) -> User | None:
    row = await database.read(repository.by_name, username)
    return None if row is None else User.from_row(row)


async def check_password(database: Database, username: str, password: str) -> User | None:
    """The enabled user if `password` is theirs; argon2 runs off the event loop. An unknown
    user costs one verification too (against a decoy), so timing tells no names apart."""
    row = await database.read(repository.by_name, username)
    if row is None:
        await asyncio.to_thread(verify_password, decoy_hash(), password)
        return None
    if not await check_remembered(row.password_hash, password):
        return None
    user = User.from_row(row)
    return None if user.disabled else user


async def user_count(database: Database) -> int:
    return await database.run(repository.count)


@dataclass(frozen=True, slots=True)
class Listed:
    """An account as the site administration lists it."""

    username: str
    email: str
    is_admin: bool
    disabled: bool
    created_at: datetime


async def list_users(
    database: Database, actor: User, prefix: str, page: int, per_page: int
) -> tuple[list[Listed], bool]:
    """A page of the accounts (site administrators only; NotFound for others, who learn
    nothing), and whether more follow."""
    if not actor.is_admin:
        raise NotFound("no such page")
    rows = await database.run(repository.page_of_users, prefix, (page - 1) * per_page, per_page + 1)
    found = [
        Listed(
            str(row.username),
            str(row.email),
            bool(row.is_admin),
            row.disabled_at is not None,
            as_utc(row.created_at),
        )
        for row in rows[:per_page]
    ]
    return found, len(rows) > per_page
