"""SQL for organisations, their members and teams."""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, delete, func, insert, select

from dockyard.db.upserts import conflict_insert
from dockyard.index.accounts.repository import claim_namespace, release_namespace
from dockyard.index.tables import (
    collaborators,
    organisation_members,
    organisations,
    team_members,
    teams,
    users,
)


def insert_organisation(connection: Connection, name: str) -> int:
    claim_namespace(connection, name, "organisation")
    result = connection.execute(
        insert(organisations).values(name=name, created_at=datetime.datetime.now(datetime.UTC))
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def organisation_id(connection: Connection, name: str, lock: bool = False) -> int | None:
    """`lock`: hold the organisation's row until the transaction ends (SELECT ... FOR UPDATE)."""
    query = select(organisations.c.id).where(organisations.c.name == name)
    if lock:
        query = query.with_for_update()
    found: int | None = connection.execute(query).scalar_one_or_none()
    return found


def set_member(
    connection: Connection, organisation: int, user_id: int, role: str, *, keep_role: bool = False
) -> None:
    """Make the user a member with `role`, or change a member's role (`keep_role`: leave a
    member's role as it is). A member keeps their teams: changing the role by removing and
    adding them again took them out of every team."""
    statement = conflict_insert(connection, organisation_members).values(
        organisation_id=organisation, user_id=user_id, role=role
    )
    key = ["organisation_id", "user_id"]
    if keep_role:
        connection.execute(statement.on_conflict_do_nothing(index_elements=key))
    else:
        connection.execute(statement.on_conflict_do_update(index_elements=key, set_={"role": role}))


def remove_member(connection: Connection, organisation: int, user_id: int) -> bool:
    for team in team_ids(connection, organisation):
        connection.execute(
            delete(team_members).where(
                team_members.c.team_id == team, team_members.c.user_id == user_id
            )
        )
    result = connection.execute(
        delete(organisation_members).where(
            organisation_members.c.organisation_id == organisation,
            organisation_members.c.user_id == user_id,
        )
    )
    return result.rowcount > 0


def member_role(connection: Connection, organisation: int, user_id: int) -> str | None:
    query = select(organisation_members.c.role).where(
        organisation_members.c.organisation_id == organisation,
        organisation_members.c.user_id == user_id,
    )
    role: str | None = connection.execute(query).scalar_one_or_none()
    return role


def owner_count(connection: Connection, organisation: int) -> int:
    query = select(func.count()).where(
        organisation_members.c.organisation_id == organisation,
        organisation_members.c.role == "owner",
    )
    return int(connection.execute(query).scalar_one())


def owned_count(connection: Connection, user_id: int) -> int:
    """The organisations the user owns."""
    query = select(func.count()).where(
        organisation_members.c.user_id == user_id, organisation_members.c.role == "owner"
    )
    return int(connection.execute(query).scalar_one())


def team_count(connection: Connection, organisation: int) -> int:
    query = select(func.count()).where(teams.c.organisation_id == organisation)
    return int(connection.execute(query).scalar_one())


def members(connection: Connection, organisation: int) -> list[tuple[str, str]]:
    query = (
        select(users.c.username, organisation_members.c.role)
        .join(users, users.c.id == organisation_members.c.user_id)
        .where(organisation_members.c.organisation_id == organisation)
        .order_by(users.c.username)
    )
    return [(row.username, row.role) for row in connection.execute(query)]


def roles_of_user(connection: Connection, user_id: int) -> dict[str, str]:
    """Organisation name → the user's role in it."""
    query = (
        select(organisations.c.name, organisation_members.c.role)
        .join(organisations, organisations.c.id == organisation_members.c.organisation_id)
        .where(organisation_members.c.user_id == user_id)
    )
    return {row.name: row.role for row in connection.execute(query)}


def team_ids(connection: Connection, organisation: int) -> list[int]:
    query = select(teams.c.id).where(teams.c.organisation_id == organisation)
    return list(connection.execute(query).scalars())


def insert_team(connection: Connection, organisation: int, name: str) -> int | None:
    """The new team's id; None if the organisation has a team of that name (made by another
    request a moment ago, too: a look first, then an insert, raced)."""
    found: int | None = connection.execute(
        conflict_insert(connection, teams)
        .values(organisation_id=organisation, name=name)
        .on_conflict_do_nothing(index_elements=["organisation_id", "name"])
        .returning(teams.c.id)
    ).scalar_one_or_none()
    return found


def team_id(connection: Connection, organisation: int, name: str) -> int | None:
    query = select(teams.c.id).where(teams.c.organisation_id == organisation, teams.c.name == name)
    found: int | None = connection.execute(query).scalar_one_or_none()
    return found


def add_team_member(connection: Connection, team: int, user_id: int) -> None:
    # One statement: a look then an insert let two such requests at once both insert.
    connection.execute(
        conflict_insert(connection, team_members)
        .values(team_id=team, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
    )


def remove_team_member(connection: Connection, team: int, user_id: int) -> bool:
    result = connection.execute(
        delete(team_members).where(
            team_members.c.team_id == team, team_members.c.user_id == user_id
        )
    )
    return result.rowcount > 0


def delete_team(connection: Connection, team: int) -> None:
    """The team, its members and the roles it held on repositories."""
    connection.execute(delete(collaborators).where(collaborators.c.team_id == team))
    connection.execute(delete(team_members).where(team_members.c.team_id == team))
    connection.execute(delete(teams).where(teams.c.id == team))


def team_member_names(connection: Connection, team: int) -> list[str]:
    query = (
        select(users.c.username)
        .join(users, users.c.id == team_members.c.user_id)
        .where(team_members.c.team_id == team)
        .order_by(users.c.username)
    )
    return list(connection.execute(query).scalars())


def delete_organisation(connection: Connection, organisation: int, name: str) -> None:
    """The organisation, its teams (their members and collaborator roles) and memberships."""
    its_teams = select(teams.c.id).where(teams.c.organisation_id == organisation)
    connection.execute(delete(collaborators).where(collaborators.c.team_id.in_(its_teams)))
    connection.execute(delete(team_members).where(team_members.c.team_id.in_(its_teams)))
    connection.execute(delete(teams).where(teams.c.organisation_id == organisation))
    connection.execute(
        delete(organisation_members).where(organisation_members.c.organisation_id == organisation)
    )
    connection.execute(delete(organisations).where(organisations.c.id == organisation))
    release_namespace(connection, name)


def team_names(connection: Connection, organisation: int) -> list[tuple[int, str]]:
    query = (
        select(teams.c.id, teams.c.name)
        .where(teams.c.organisation_id == organisation)
        .order_by(teams.c.name)
    )
    return [(int(row.id), str(row.name)) for row in connection.execute(query)]
