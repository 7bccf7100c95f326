"""The rules of access tokens: what each scope allows, expiry, revocation, who they prove.

A personal access token is used as its owner's password (`docker login -u alice`); a robot
account signs in as `alice+NAME` with its secret. Either way the token's subject is
`alice+NAME`, so the policy can cap every later grant by the token's scopes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dockyard.auth.scopes import DELETE, PULL, PUSH
from dockyard.db.engine import Database, refers_to_a_deleted_row
from dockyard.db.locks import hold
from dockyard.index.accounts.service import User
from dockyard.index.errors import Conflict, Invalid, NotFound
from dockyard.index.hashing import TOKEN_PREFIX, hash_token, new_token_secret
from dockyard.index.limits import AccountLimits, refuse_beyond
from dockyard.index.names import is_valid_account_name
from dockyard.index.tokens import repository

# Token scopes and the registry actions each allows (`write` without `read` could not push:
# a manifest PUT needs pull too).
SCOPE_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({PULL}),
    "write": frozenset({PULL, PUSH}),
    "delete": frozenset({DELETE}),
}
KINDS = ("personal", "robot")
SEPARATOR = "+"  # `alice+ci`: a robot of alice's, or the subject of one of her tokens
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    kind: str
    scopes: tuple[str, ...]
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    revoked: bool

    @classmethod
    def from_row(cls, row: Any) -> TokenInfo:
        return cls(
            row.name,
            row.kind,
            tuple(row.scopes.split(",")),
            utc(row.created_at),
            None if row.expires_at is None else utc(row.expires_at),
            row.revoked_at is not None,
        )


@dataclass(frozen=True, slots=True)
class Credential:
    """Who a token proves: its owner, capped to `actions`."""

    subject: str
    user_id: int
    username: str
    is_admin: bool
    actions: frozenset[str]


def parse_scopes(text: str | list[str]) -> tuple[str, ...]:
    listed = text.split(",") if isinstance(text, str) else text
    scopes = tuple(dict.fromkeys(s.strip() for s in listed if s.strip()))
    unknown = [s for s in scopes if s not in SCOPE_ACTIONS]
    if not scopes or unknown:
        raise Invalid(f"token scopes must be some of {', '.join(SCOPE_ACTIONS)}")
    return scopes


def actions_of(scopes: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(SCOPE_ACTIONS[s] for s in scopes if s in SCOPE_ACTIONS))


async def create_token(
    database: Database,
    owner: User,
    name: str,
    scopes: tuple[str, ...],
    expires_days: int | None,
    kind: str,
    limits: AccountLimits | None,
) -> str:
    """The new token's secret: shown once, only its hash is kept. `limits`: None for the
    operator's command, which is not bound by them."""
    if not is_valid_account_name(name):
        raise Invalid(f"token name {name!r}: 2 to 64 lowercase letters, digits, '.', '_', '-'")
    if kind not in KINDS:
        raise Invalid(f"token kind must be one of {', '.join(KINDS)}")
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise Invalid(f"expires_days must be 1 to {MAX_DAYS}")
    expires_at = None
    if expires_days is not None:
        expires_at = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=expires_days)
    secret = new_token_secret()

    def insert(connection: Connection) -> None:
        if limits is not None:
            # Counted then inserted: held, or creations at once all pass the count.
            hold(connection, f"access tokens of {owner.id}")
            ended = datetime.datetime.now(datetime.UTC) - limits.tokens_kept
            repository.delete_ended(connection, owner.id, ended)
            held = repository.count_of_user(connection, owner.id)
            kept = f"; a revoked or expired one counts for {_days(limits.tokens_kept)} after"
            refuse_beyond(held, limits.tokens_per_user, owner.username,
                          "access tokens and robots", "tokens_per_user", kept)  # fmt: skip
        repository.insert_token(
            connection, owner.id, name, kind, hash_token(secret), ",".join(scopes), expires_at
        )

    try:
        await database.run(insert)
    except IntegrityError as exc:
        if refers_to_a_deleted_row(exc):
            raise
        raise Conflict(f"{owner.username} already has a token named {name!r}") from None
    return secret


async def list_tokens(database: Database, owner: User) -> list[TokenInfo]:
    return [TokenInfo.from_row(row) for row in await database.run(repository.of_user, owner.id)]


async def revoke_token(database: Database, owner: User, name: str) -> None:
    if not await database.run(repository.revoke, owner.id, name):
        raise NotFound(f"{owner.username} has no active token named {name!r}")


def _days(span: datetime.timedelta) -> str:
    days = span.total_seconds() / 86400
    return f"{days:g} days" if days >= 1 else f"{span.total_seconds():g} seconds"


def looks_like_token(password: str) -> bool:
    return password.startswith(TOKEN_PREFIX)


async def check_token(database: Database, login: str, secret: str) -> Credential | None:
    """The credential if `secret` is a live token of the account `login` names: the owner's
    name for a personal token, `owner+name` for a robot."""
    row = await database.read(repository.by_secret, hash_token(secret))
    if row is None or not _live(row):
        return None
    if row.kind == "robot" and login != f"{row.username}{SEPARATOR}{row.name}":
        return None
    if row.kind == "personal" and login != row.username:
        return None
    return _credential(row)


def credential_in(connection: Connection, subject: str) -> Credential | None:
    """The credential a token's subject (`owner+name`) names, if that token is still live."""
    username, _, name = subject.partition(SEPARATOR)
    row = repository.by_name(connection, username, name)
    if row is None or not _live(row):
        return None
    return _credential(row)


def _credential(row: Any) -> Credential:
    return Credential(
        f"{row.username}{SEPARATOR}{row.name}",
        row.user_id,
        row.username,
        bool(row.is_admin),
        actions_of(tuple(row.scopes.split(","))),
    )


def _live(row: Any) -> bool:
    """Neither revoked nor expired, and its owner not disabled (a disable suspends tokens;
    deleting the owner deletes them)."""
    if row.revoked_at is not None or row.disabled_at is not None:
        return False
    return row.expires_at is None or utc(row.expires_at) > datetime.datetime.now(datetime.UTC)


def utc(value: datetime.datetime) -> datetime.datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
