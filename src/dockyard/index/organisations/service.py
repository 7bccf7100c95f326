"""The rules of organisations: the creator is the first owner; owners manage members and
teams; a user must exist to join."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from dockyard.db.engine import Database, refers_to_a_deleted_row
from dockyard.db.locks import hold
from dockyard.index.accounts import repository as accounts
from dockyard.index.accounts.service import User, check_name_free, check_new_name
from dockyard.index.errors import Conflict, Forbidden, Invalid, NotFound
from dockyard.index.limits import AccountLimits, refuse_beyond
from dockyard.index.organisations import repository
from dockyard.index.repositories.permissions import Identity

ROLES = ("owner", "member")


async def create_organisation(
    database: Database,
    name: str,
    owner: User,
    limits: AccountLimits | None,
    *,
    taking_repositories: bool = False,
) -> None:
    """`taking_repositories`: it may be made over repositories already kept under its name,
    and own them (a site administrator's choice). `limits`: None for the operator's command."""
    check_new_name(name, "organisation")

    def create(connection: Connection) -> None:
        if limits is not None:
            # Counted then inserted: held, or creations at once all pass the count.
            hold(connection, f"organisations of {owner.id}")
            owned = repository.owned_count(connection, owner.id)
            most = limits.organisations_per_user
            refuse_beyond(owned, most, owner.username, "organisations", "organisations_per_user")
        check_name_free(connection, name, taking_repositories=taking_repositories)
        organisation = repository.insert_organisation(connection, name)
        repository.set_member(connection, organisation, owner.id, "owner")

    try:
        await database.run(create)
    except IntegrityError as exc:
        if refers_to_a_deleted_row(exc):  # its owner-to-be deleted their account meanwhile
            raise
        raise Conflict(f"the name {name!r} is taken") from None


async def delete_organisation(database: Database, actor: User, organisation: str) -> None:
    """Owners (or site administrators) delete it once it holds no repositories."""

    def remove(connection: Connection) -> None:
        org = _owned(connection, actor, organisation, lock=True)
        accounts.lock_namespace(connection, organisation)  # no repository moves in meanwhile
        held = accounts.repository_count(connection, organisation)
        if held:
            raise Conflict(
                f"{organisation} still holds {held}"
                f" {'repository' if held == 1 else 'repositories'}:"
                " delete them or transfer them to another namespace first"
            )
        repository.delete_organisation(connection, org, organisation)

    await database.run(remove)


async def set_member(
    database: Database, actor: User, organisation: str, username: str, role: str
) -> None:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")

    def change(connection: Connection) -> None:
        org = _owned(connection, actor, organisation, lock=True)
        repository.set_member(connection, org, _user_id(connection, username), role)
        _keeps_an_owner(connection, org, organisation)

    await database.run(change)


async def remove_member(database: Database, actor: User, organisation: str, username: str) -> None:
    def change(connection: Connection) -> None:
        org = _owned(connection, actor, organisation, lock=True)
        if not repository.remove_member(connection, org, _user_id(connection, username)):
            raise NotFound(f"{username} is not a member of {organisation}")
        _keeps_an_owner(connection, org, organisation)

    await database.run(change)


async def members(database: Database, actor: User, organisation: str) -> list[tuple[str, str]]:
    def read(connection: Connection) -> list[tuple[str, str]]:
        org = _organisation(connection, organisation)
        if not actor.is_admin and repository.member_role(connection, org, actor.id) is None:
            raise NotFound(f"no organisation {organisation!r}")
        return repository.members(connection, org)

    return await database.run(read)


async def create_team(
    database: Database, actor: User, organisation: str, team: str, limits: AccountLimits
) -> None:
    check_new_name(team, "team")

    def create(connection: Connection) -> None:
        org = _owned(connection, actor, organisation)
        hold(connection, f"teams of {org}")  # counted then inserted
        held = repository.team_count(connection, org)
        refuse_beyond(held, limits.teams_per_organisation, organisation, "teams",
                      "teams_per_organisation")  # fmt: skip
        if repository.insert_team(connection, org, team) is None:
            raise Conflict(f"{organisation} already has a team {team!r}")

    await database.run(create)


async def add_team_member(
    database: Database, actor: User, organisation: str, team: str, username: str
) -> None:
    def change(connection: Connection) -> None:
        # Held, as for member changes: the user's membership, made sure of here, is not
        # removed before the team's place is committed (they would keep it, outside).
        org = _owned(connection, actor, organisation, lock=True)
        team_id = _team(connection, org, organisation, team)
        user_id = _user_id(connection, username)
        repository.set_member(connection, org, user_id, "member", keep_role=True)
        repository.add_team_member(connection, team_id, user_id)

    await database.run(change)


async def remove_team_member(
    database: Database, actor: User, organisation: str, team: str, username: str
) -> None:
    def change(connection: Connection) -> None:
        org = _owned(connection, actor, organisation)
        team_id = _team(connection, org, organisation, team)
        if not repository.remove_team_member(connection, team_id, _user_id(connection, username)):
            raise NotFound(f"{username} is not in team {team}")

    await database.run(change)


async def delete_team(database: Database, actor: User, organisation: str, team: str) -> None:
    """Owners (or site administrators) delete a team: its members lose what it gave them."""

    def remove(connection: Connection) -> None:
        org = _owned(connection, actor, organisation)
        repository.delete_team(connection, _team(connection, org, organisation, team))

    await database.run(remove)


async def team_members(database: Database, actor: User, organisation: str, team: str) -> list[str]:
    def read(connection: Connection) -> list[str]:
        org = _organisation(connection, organisation)
        if not actor.is_admin and repository.member_role(connection, org, actor.id) is None:
            raise NotFound(f"no organisation {organisation!r}")
        return repository.team_member_names(connection, _team(connection, org, organisation, team))

    return await database.run(read)


def _organisation(connection: Connection, name: str, lock: bool = False) -> int:
    org = repository.organisation_id(connection, name, lock)
    if org is None:
        raise NotFound(f"no organisation {name!r}")
    return org


def _owned(connection: Connection, actor: User, name: str, lock: bool = False) -> int:
    """The organisation's id if `actor` may manage it (an owner, or a site administrator);
    `lock`: changes to its members wait for this transaction (PostgreSQL; SQLite has one
    writer at a time anyway)."""
    org = _organisation(connection, name, lock)
    role = repository.member_role(connection, org, actor.id)
    if actor.is_admin or role == "owner":
        return org
    if role is None:
        raise NotFound(f"no organisation {name!r}")  # a stranger learns nothing about it
    raise Forbidden(f"only owners of {name} may change it")


def _keeps_an_owner(connection: Connection, org: int, name: str) -> None:
    """Refuse a change (the transaction rolls back) that leaves nobody to administer `name`,
    as Docker Hub and GitHub do."""
    if repository.owner_count(connection, org) == 0:
        raise Conflict(f"{name} must keep at least one owner: make another member an owner first")


def _team(connection: Connection, org: int, organisation: str, team: str) -> int:
    found = repository.team_id(connection, org, team)
    if found is None:
        raise NotFound(f"{organisation} has no team {team!r}")
    return found


def _user_id(connection: Connection, username: str) -> int:
    row = accounts.by_name(connection, username)
    if row is None:
        raise NotFound(f"no user {username!r}")
    return int(row.id)


@dataclass(frozen=True, slots=True)
class Roster:
    """An organisation's people as its members see them: (username, role) and each team's
    members."""

    members: list[tuple[str, str]]
    teams: list[tuple[str, list[str]]]


async def roster(database: Database, viewer: Identity | None, organisation: str) -> Roster | None:
    """Members and teams for the organisation's members and site administrators; None for
    everyone else (they see its repositories only)."""

    def read(connection: Connection) -> Roster | None:
        org = repository.organisation_id(connection, organisation)
        if org is None or viewer is None:
            return None
        role = repository.member_role(connection, org, viewer.user_id)
        if role is None and not viewer.is_admin:
            return None
        teams = [
            (name, repository.team_member_names(connection, team))
            for team, name in repository.team_names(connection, org)
        ]
        return Roster(repository.members(connection, org), teams)

    return await database.run(read)


async def is_organisation(database: Database, name: str) -> bool:
    return await database.run(repository.organisation_id, name) is not None
