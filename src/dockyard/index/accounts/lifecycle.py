"""The account lifecycle: password changes and resets, disabling, deletion.

Whatever ends an account's credentials ends them at once: a new password revokes its access
tokens and robots, ends its web sessions and moves `credentials_changed_at`, which refresh
tokens issued before it are checked against; a disabled account proves nothing anywhere; a
deleted one leaves no row behind that could (docs/decisions/0018-account-lifecycle.md).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection, Row

from dockyard.db.engine import Database
from dockyard.index.accounts import repository
from dockyard.index.accounts.service import User, new_password_hash
from dockyard.index.community.forgetting import forget_user
from dockyard.index.errors import Conflict, Forbidden, NotFound
from dockyard.index.hashing import verify_password
from dockyard.index.sessions.service import end_all_in as end_web_sessions


async def change_password(database: Database, user: User, old: str, new: str) -> None:
    """The account's own change: the old password proves it is its holder at the keyboard."""
    row = await database.run(repository.by_name, user.username)
    if row is None:
        raise NotFound("the account is gone")
    if not await asyncio.to_thread(verify_password, str(row.password_hash), old):
        raise Forbidden("the old password is wrong")
    await set_password(database, user.username, new)


async def reset_password(database: Database, actor: User, username: str, new: str) -> None:
    if not actor.is_admin:
        raise Forbidden("only site administrators may reset another's password")
    await set_password(database, username, new)


async def set_password(database: Database, username: str, new: str) -> None:
    """Also for `dockyard user passwd`, which needs no caller."""
    password_hash = await new_password_hash(new)

    def change(connection: Connection) -> None:
        user_id = _user(connection, username).id
        repository.set_password(connection, user_id, password_hash)
        end_web_sessions(connection, user_id)

    await database.run(change)


async def set_disabled(database: Database, actor: User, username: str, disabled: bool) -> None:
    if not actor.is_admin:
        raise Forbidden("only site administrators may disable or enable accounts")
    if disabled and username == actor.username:
        raise Conflict("you cannot disable your own account")

    def change(connection: Connection) -> None:
        admins = repository.lock_site_admins(connection)
        user = _user(connection, username)
        if disabled and user.is_admin:
            _keeps_a_site_admin(admins, user.id, "disabled")
        repository.set_disabled(connection, user.id, disabled)
        if disabled:
            end_web_sessions(connection, user.id)

    await database.run(change)


async def set_site_admin(database: Database, actor: User, username: str, admin: bool) -> None:
    """Promote to site administrator, or demote (never oneself, never the last one)."""
    if not actor.is_admin:
        raise Forbidden("only site administrators may promote or demote")
    if not admin and username == actor.username:
        raise Conflict("you cannot demote yourself: another site administrator may")

    def change(connection: Connection) -> None:
        admins = repository.lock_site_admins(connection)
        user = _user(connection, username)
        if not admin and user.is_admin:
            _keeps_a_site_admin(admins, user.id, "demoted")
        repository.set_admin(connection, user.id, admin)

    await database.run(change)


async def delete_account(database: Database, actor: User, username: str) -> None:
    """The account itself, or a site administrator, deletes it: refused while it holds
    repositories or is the last owner of an organisation, or the last site administrator."""
    if actor.username != username and not actor.is_admin:
        raise Forbidden("only the account itself or a site administrator may delete it")

    def remove(connection: Connection) -> None:
        repository.lock_namespace(connection, username)
        admins = repository.lock_site_admins(connection)
        user = _user(connection, username)
        repository.lock_user(connection, user.id)
        repository.lock_organisations_of(connection, user.id)
        if user.is_admin:
            _keeps_a_site_admin(admins, user.id, "deleted")
        held = repository.repository_count(connection, username)
        if held:
            raise Conflict(
                f"{username} still holds {held} {'repository' if held == 1 else 'repositories'}:"
                " delete them or transfer them to another namespace first"
            )
        owned = repository.sole_owner_of(connection, user.id)
        if owned:
            raise Conflict(
                f"{username} is the only owner of {', '.join(owned)}: make another member an"
                " owner or delete the organisation first"
            )
        forget_user(connection, user.id)  # stars (their counts follow) and comments
        end_web_sessions(connection, user.id)
        repository.delete_user(connection, user.id, username)

    await database.run(remove)


def _user(connection: Connection, username: str) -> User:
    row = repository.by_name(connection, username)
    if row is None:
        raise NotFound(f"no user {username!r}")
    return User.from_row(row)


def _keeps_a_site_admin(admins: list[Row[tuple[object, ...]]], leaving: int, how: str) -> None:
    """Someone must be left to administer the site, as an organisation keeps an owner."""
    others = [a for a in admins if a.id != leaving and a.disabled_at is None]
    if not others:
        raise Conflict(f"the last enabled site administrator cannot be {how}")
