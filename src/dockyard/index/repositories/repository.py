"""SQL for repository settings and collaborators."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Row,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from dockyard.db.upserts import conflict_insert
from dockyard.index.tables import collaborators, repository_settings, team_members, teams, users

# SQLite takes at most 32766 bound parameters; stay far below.
_CHUNK = 500


def settings_of(connection: Connection, names: Sequence[str]) -> dict[str, Row[tuple[object, ...]]]:
    """Canonical name → settings row, for those of `names` the index knows."""
    found: dict[str, Row[tuple[object, ...]]] = {}
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        query = select(repository_settings).where(repository_settings.c.name.in_(chunk))
        found.update({row.name: row for row in connection.execute(query)})
    return found


def hold_settings(connection: Connection, name: str) -> None:
    """Share the repository's settings row until the transaction ends (PostgreSQL): it is
    not renamed (transferred) meanwhile."""
    held = select(repository_settings.c.id).where(repository_settings.c.name == name)
    connection.execute(held.with_for_update(read=True))


def roles_of_user(
    connection: Connection, user_id: int, repository_ids: Sequence[int]
) -> dict[int, list[str]]:
    """Repository id → the roles the user holds there, directly and through teams."""
    roles: dict[int, list[str]] = defaultdict(list)
    teams_of_user = select(team_members.c.team_id).where(team_members.c.user_id == user_id)
    for start in range(0, len(repository_ids), _CHUNK):
        chunk = repository_ids[start : start + _CHUNK]
        query = select(collaborators.c.repository_id, collaborators.c.role).where(
            collaborators.c.repository_id.in_(chunk),
            (collaborators.c.user_id == user_id) | collaborators.c.team_id.in_(teams_of_user),
        )
        for row in connection.execute(query):
            roles[row.repository_id].append(row.role)
    return roles


def collaborations(user: int | ColumnElement[int]) -> CompoundSelect[Any]:
    """The ids of the repositories where `user` (an id, or a parameter holding one) is a
    collaborator, directly or through a team: a subquery, so that a query filtering by what a
    user may pull needs no round trip of its own and no list of ids (fetching 300 ids cost a
    signed-in search about 1 ms). A union of two joins, each through an index: as one `OR`,
    PostgreSQL could only read every collaborator."""
    direct = select(collaborators.c.repository_id).where(collaborators.c.user_id == user)
    through_teams = (
        select(collaborators.c.repository_id)
        .join(team_members, team_members.c.team_id == collaborators.c.team_id)
        .where(team_members.c.user_id == user)
    )
    return direct.union(through_teams)


def insert_settings(connection: Connection, name: str, namespace: str, visibility: str) -> int:
    """The id of the settings of `name`, made with `visibility` unless they exist (a push's
    event and an administrator may create them at the same moment)."""
    connection.execute(
        conflict_insert(connection, repository_settings)
        .values(
            name=name,
            namespace=namespace,
            visibility=visibility,
            description="",
            created_at=datetime.datetime.now(datetime.UTC),
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    found = select(repository_settings.c.id).where(repository_settings.c.name == name)
    return int(connection.execute(found).scalar_one())


def update_settings(connection: Connection, repository: int, **values: str) -> None:
    connection.execute(
        update(repository_settings).where(repository_settings.c.id == repository).values(**values)
    )


def set_collaborator(
    connection: Connection, repository: int, user_id: int | None, team_id: int | None, role: str
) -> None:
    # One statement: a delete then an insert let two such requests at once (PostgreSQL)
    # both insert, the second failing on the unique key.
    key = "user_id" if user_id is not None else "team_id"
    statement = conflict_insert(connection, collaborators).values(
        repository_id=repository, user_id=user_id, team_id=team_id, role=role
    )
    connection.execute(
        statement.on_conflict_do_update(index_elements=["repository_id", key], set_={"role": role})
    )


def remove_collaborator(
    connection: Connection, repository: int, user_id: int | None, team_id: int | None
) -> bool:
    who = (
        collaborators.c.user_id == user_id
        if user_id is not None
        else collaborators.c.team_id == team_id
    )
    result = connection.execute(
        delete(collaborators).where(collaborators.c.repository_id == repository, who)
    )
    return result.rowcount > 0


def list_collaborators(connection: Connection, repository: int) -> list[tuple[str, str, str]]:
    """(kind, name, role) of every collaborator: kind `user` or `team`."""
    query = (
        select(users.c.username, teams.c.name.label("team"), collaborators.c.role)
        .select_from(collaborators)
        .outerjoin(users, users.c.id == collaborators.c.user_id)
        .outerjoin(teams, teams.c.id == collaborators.c.team_id)
        .where(collaborators.c.repository_id == repository)
    )
    return sorted(
        ("user", row.username, row.role) if row.username else ("team", row.team, row.role)
        for row in connection.execute(query)
    )


def grants_of_teams(connection: Connection, organisation: int) -> list[tuple[str, str, str]]:
    """(team, repository, role) of every role the organisation's teams hold, in that order."""
    query = (
        select(teams.c.name, repository_settings.c.name.label("repository"), collaborators.c.role)
        .select_from(collaborators)
        .join(teams, teams.c.id == collaborators.c.team_id)
        .join(repository_settings, repository_settings.c.id == collaborators.c.repository_id)
        .where(teams.c.organisation_id == organisation)
        .order_by(teams.c.name, repository_settings.c.name)
    )
    return [
        (str(row.name), str(row.repository), str(row.role)) for row in connection.execute(query)
    ]


def public_showcase(
    connection: Connection, order: str, limit: int
) -> list[Row[tuple[object, ...]]]:
    """The public repositories pushed last (`last_push`) or starred most (`stars`, those with a
    star): each walks its column's index from the top and stops at `limit`, with no count and no
    tie-break that would sort a whole table of equal counts."""
    s = repository_settings.c
    present: ColumnElement[bool] = s.star_count > 0
    ordering = s.star_count.desc()
    if order == "last_push":
        present, ordering = s.last_push_at.is_not(None), s.last_push_at.desc()
    query = select(repository_settings).where(_public(), present)
    return list(connection.execute(query.order_by(ordering).limit(limit)))


def _public() -> ColumnElement[bool]:
    """visibility = 'public' written so that no index on visibility can serve it: SQLite
    without statistics (no ANALYZE) would take the equality over the index that gives the order
    (or the namespace), and sort the 80,000 public rows of 100,000 for ten (130 ms). One in five
    being private, the other index finds its public rows at once."""
    return repository_settings.c.visibility.concat("") == "public"


def namespace_page(
    connection: Connection,
    namespace: str,
    every: bool,
    public: bool,
    collaborator: int | None,
    offset: int,
    limit: int,
) -> tuple[int, list[Row[tuple[object, ...]]]]:
    """How many of the namespace's repositories a caller may pull, and a page of them, pushed
    last first: all of them (`every`), or the public ones and those `collaborator` collaborates
    on. Through the index on (namespace, name): a namespace's rows only."""
    s = repository_settings.c
    allowed: list[ColumnElement[bool]] = []
    if public:
        allowed.append(_public())
    if collaborator is not None:
        allowed.append(s.id.in_(collaborations(collaborator)))
    if not every and not allowed:
        return 0, []
    condition = s.namespace == namespace
    if not every:
        condition = and_(condition, or_(*allowed))
    total = connection.execute(select(func.count()).where(condition)).scalar_one()
    query = (
        select(repository_settings)
        .where(condition)
        .order_by(s.last_push_at.desc().nulls_last(), s.name)
        .offset(offset)
        .limit(limit)
    )
    return int(total), list(connection.execute(query))


def namespaces_from(connection: Connection, start: str, limit: int) -> list[str]:
    """Namespaces holding a repository, in name order from `start` on: a walk of the index on
    (namespace, name) that stops after `limit` of them."""
    s = repository_settings.c
    query = (
        select(s.namespace)
        .where(s.namespace >= start)
        .group_by(s.namespace)
        .order_by(s.namespace)
        .limit(limit)
    )
    return [str(namespace) for namespace in connection.execute(query).scalars()]
