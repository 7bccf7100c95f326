"""Repository settings and collaborators, and the actions each caller gets on a repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row

from dockyard.auth.scopes import PULL
from dockyard.db.engine import Database
from dockyard.index.accounts import repository as accounts
from dockyard.index.errors import Forbidden, Invalid, NotFound
from dockyard.index.names import canonical, namespace_of
from dockyard.index.organisations import repository as organisations
from dockyard.index.repositories import repository
from dockyard.index.repositories.mirrored import MirrorNames
from dockyard.index.repositories.permissions import (
    PUBLIC,
    ROLES,
    VISIBILITIES,
    Identity,
    allowed_actions,
    highest,
    namespace_role,
)
from dockyard.index.tables import as_utc

# Docker Hub's bounds: the short description is one line of at most 100 characters (what
# `docker search` prints), the full one Markdown of at most 25,000.
MAX_DESCRIPTION = 100
MAX_FULL_DESCRIPTION = 25_000


def check_description(text: str) -> None:
    """The short description's rule; Invalid when broken."""
    if len(text) > MAX_DESCRIPTION:
        raise Invalid(f"description is longer than {MAX_DESCRIPTION} characters")
    if "\r" in text or "\n" in text:
        raise Invalid("description is one line: use full_description for more")


@dataclass(frozen=True, slots=True)
class Access:
    actions: frozenset[str]
    known: bool  # whether the index has settings for the repository
    role: str | None


@dataclass(frozen=True, slots=True)
class RepositoryInfo:
    name: str
    visibility: str
    description: str  # the short one: one line
    full_description: str  # Markdown, shown as the client renders it
    created_at: datetime
    star_count: int  # kept in step with the stars (dockyard.index.community)
    # The catalogue's, from registry events.
    pull_count: int
    last_pull_at: datetime | None
    last_push_at: datetime | None
    tag_count: int

    @classmethod
    def of(cls, row: Row[tuple[object, ...]]) -> RepositoryInfo:
        def when(value: object) -> datetime | None:
            return as_utc(value) if isinstance(value, datetime) else None

        created = when(row.created_at)
        assert created is not None
        return cls(
            str(row.name),
            str(row.visibility),
            str(row.description),
            str(row.full_description),
            created,
            int(str(row.star_count)),
            int(str(row.pull_count)),
            when(row.last_pull_at),
            when(row.last_push_at),
            int(str(row.tag_count)),
        )


@dataclass(frozen=True, slots=True)
class Readable:
    """The repositories a caller may pull, as a filter a query can apply in SQL: all of them,
    or the public ones (when `public`), those of `namespaces` and those the user with the id
    `collaborator` collaborates on (repository.collaborations)."""

    everything: bool
    public: bool
    namespaces: frozenset[str]
    collaborator: int | None


def readable_by(connection: Connection, identity: Identity | None) -> Readable:
    """What `identity` may pull, by the rules of allowed_actions, in a form for a query."""
    nothing: frozenset[str] = frozenset()
    if identity is not None and identity.cap is not None and PULL not in identity.cap:
        return Readable(False, False, nothing, None)
    if identity is None:
        return Readable(False, True, nothing, None)
    if identity.is_admin:
        return Readable(True, True, nothing, None)
    org_roles = organisations.roles_of_user(connection, identity.user_id)
    owned = {org for org, role in org_roles.items() if role == "owner"}
    return Readable(False, True, frozenset({identity.username, *owned}), identity.user_id)


def access_in(
    connection: Connection, identity: Identity | None, names: Sequence[str]
) -> dict[str, Access]:
    """Each of `names` (as the client wrote it) → what `identity` may do there."""
    wanted = {name: canonical(name) for name in names}
    settings = repository.settings_of(connection, sorted(set(wanted.values())))
    org_roles: dict[str, str] = {}
    roles: dict[int, list[str]] = {}
    if identity is not None:
        org_roles = organisations.roles_of_user(connection, identity.user_id)
        ids = [row.id for row in settings.values()]
        roles = repository.roles_of_user(connection, identity.user_id, ids)
    found = {}
    for name, full in wanted.items():
        row = settings.get(full)
        collaborator = roles.get(row.id, []) if row is not None else []
        role = highest([namespace_role(identity, namespace_of(full), org_roles), *collaborator])
        visibility = None if row is None else str(row.visibility)
        found[name] = Access(allowed_actions(identity, visibility, role), row is not None, role)
    return found


async def actions(
    database: Database,
    identity: Identity | None,
    names: Sequence[str],
    mirrors: MirrorNames | None = None,
) -> dict[str, frozenset[str]]:
    """What `identity` may do on each repository. A token grants, it creates nothing: the
    repository appears in the index on its first push, from the registry's event. A name not
    known yet that a public mirror rule covers is pulled as a public repository would be."""

    def decide(connection: Connection) -> dict[str, frozenset[str]]:
        found = access_in(connection, identity, names)
        unknown = [name for name, access in found.items() if not access.known]
        opened = mirrors.opened(connection, unknown) if mirrors and unknown else set()
        return {
            name: allowed_actions(identity, PUBLIC, access.role) if name in opened
            else access.actions
            for name, access in found.items()
        }  # fmt: skip

    return await database.run(decide)


async def readable(database: Database, identity: Identity | None, names: list[str]) -> list[str]:
    """Those of `names` that `identity` may pull, in order."""
    found = await database.run(access_in, identity, names)
    return [name for name in names if PULL in found[name].actions]


@dataclass(frozen=True, slots=True)
class Pullable:
    """A repository the caller may pull: its settings id and the caller's role there."""

    id: int
    name: str  # canonical
    role: str | None


def pullable_in(connection: Connection, identity: Identity | None, name: str) -> Pullable:
    """The repository `name` if the index knows it and `identity` may pull it; otherwise
    NotFound, the same answer whether it is private or absent, so nothing leaks."""
    access = access_in(connection, identity, [name])[name]
    row = repository.settings_of(connection, [canonical(name)]).get(canonical(name))
    if row is None or PULL not in access.actions:
        raise NotFound(f"no repository {name!r}")
    return Pullable(int(row.id), str(row.name), access.role)


async def info(database: Database, identity: Identity | None, name: str) -> RepositoryInfo:
    def read(connection: Connection) -> RepositoryInfo:
        found = pullable_in(connection, identity, name)
        row = repository.settings_of(connection, [found.name]).get(found.name)
        if row is None:  # deleted in between: on PostgreSQL each statement sees what committed
            raise NotFound(f"no repository {name!r}")
        return RepositoryInfo.of(row)

    return await database.run(read)


async def update(
    database: Database,
    actor: Identity,
    name: str,
    default_visibility: str,
    visibility: str | None = None,
    description: str | None = None,
    full_description: str | None = None,
) -> RepositoryInfo:
    if visibility is not None and visibility not in VISIBILITIES:
        raise Invalid(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if description is not None:
        check_description(description)
    if full_description is not None and len(full_description) > MAX_FULL_DESCRIPTION:
        raise Invalid(f"full_description is longer than {MAX_FULL_DESCRIPTION:,} characters")
    values = {
        "visibility": visibility,
        "description": description,
        "full_description": full_description,
    }
    changes = {key: value for key, value in values.items() if value is not None}

    def change(connection: Connection) -> RepositoryInfo:
        repository_id = _administered(connection, actor, name, default_visibility)
        if changes:
            repository.update_settings(connection, repository_id, **changes)
        return RepositoryInfo.of(
            repository.settings_of(connection, [canonical(name)])[canonical(name)]
        )

    return await database.run(change)


async def set_collaborator(
    database: Database,
    actor: Identity,
    name: str,
    default_visibility: str,
    role: str | None,
    user: str | None = None,
    team: str | None = None,
) -> None:
    """Give a user or a team (of the namespace's organisation) `role`; None: take it away."""
    if (user is None) == (team is None):
        raise Invalid("name exactly one of user and team")
    if role is not None and role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")

    def change(connection: Connection) -> None:
        # Held from the checks on: a transfer meanwhile (which drops the old organisation's
        # teams) would leave a team a role outside its organisation's namespace.
        repository.hold_settings(connection, canonical(name))
        repository_id = _administered(connection, actor, name, default_visibility)
        user_id = team_id = None
        if user is not None:
            row = accounts.by_name(connection, user)
            if row is None:
                raise NotFound(f"no user {user!r}")
            user_id = int(row.id)
        else:
            assert team is not None
            org = organisations.organisation_id(connection, namespace_of(name))
            team_id = None if org is None else organisations.team_id(connection, org, team)
            if team_id is None:
                raise NotFound(f"{namespace_of(name)} has no team {team!r}")
        if role is None:
            if not repository.remove_collaborator(connection, repository_id, user_id, team_id):
                raise NotFound(f"{user or team} is not a collaborator on {name}")
        else:
            repository.set_collaborator(connection, repository_id, user_id, team_id, role)

    await database.run(change)


async def collaborators(
    database: Database, actor: Identity, name: str, default_visibility: str
) -> list[tuple[str, str, str]]:
    def read(connection: Connection) -> list[tuple[str, str, str]]:
        repository_id = _administered(connection, actor, name, default_visibility)
        return repository.list_collaborators(connection, repository_id)

    return await database.run(read)


def _administered(
    connection: Connection, actor: Identity, name: str, default_visibility: str
) -> int:
    """The settings id of a repository `actor` administers (created when the namespace is
    theirs and the index does not know the repository yet)."""
    access = access_in(connection, actor, [name])[name]
    if access.role != "admin":
        if PULL in access.actions:
            raise Forbidden(f"only administrators of {name} may change it")
        raise NotFound(f"no repository {name!r}")
    row = repository.settings_of(connection, [canonical(name)]).get(canonical(name))
    if row is None:
        # The namespace's user or organisation is not deleted before this commits (its
        # deletion counts the repositories first); deleted meanwhile, the name is nobody's.
        held = accounts.lock_namespace(connection, namespace_of(name), share=True)
        if not held and not actor.is_admin:
            raise NotFound(f"no repository {name!r}")
        return _create(connection, name, default_visibility)
    return int(row.id)


def _create(connection: Connection, name: str, visibility: str) -> int:
    return repository.insert_settings(connection, canonical(name), namespace_of(name), visibility)


async def infos(
    database: Database, identity: Identity | None, names: Sequence[str]
) -> dict[str, RepositoryInfo]:
    """Those of `names` (canonical) the index knows and `identity` may pull, in one read: for
    pages listing repositories a search found."""

    def read(connection: Connection) -> dict[str, RepositoryInfo]:
        allowed = access_in(connection, identity, names)
        rows = repository.settings_of(connection, list(names))
        return {
            name: RepositoryInfo.of(row)
            for name, row in rows.items()
            if name in allowed and PULL in allowed[name].actions
        }

    return await database.run(read)


async def team_grants(
    database: Database, actor: Identity, organisation: str
) -> dict[str, list[tuple[str, str]]]:
    """Each team of the organisation → the (repository, role) it holds: what its members may
    do beyond what the organisation gives them. For its members and site administrators."""

    def read(connection: Connection) -> dict[str, list[tuple[str, str]]]:
        org = organisations.organisation_id(connection, organisation)
        role = None if org is None else organisations.member_role(connection, org, actor.user_id)
        if org is None or (role is None and not actor.is_admin):
            raise NotFound(f"no organisation {organisation!r}")
        found: dict[str, list[tuple[str, str]]] = {}
        for team, name, granted in repository.grants_of_teams(connection, org):
            found.setdefault(team, []).append((name, granted))
        return found

    return await database.run(read)


async def showcase(database: Database, order: str, limit: int) -> list[RepositoryInfo]:
    """What the start page shows anyone: the public repositories pushed last (`last_push`) or
    starred most (`stars`), at most `limit`, equal stars by name."""
    rows = await database.run(repository.public_showcase, order, limit)
    found = [RepositoryInfo.of(row) for row in rows]
    if order == "stars":
        found.sort(key=lambda info: (-info.star_count, info.name))
    return found


async def in_namespace(
    database: Database, identity: Identity | None, namespace: str, page: int, per_page: int
) -> tuple[int, list[RepositoryInfo]]:
    """How many of a namespace's repositories `identity` may pull, and a page of them, pushed
    last first (a namespace's page: no text to match, so not through search)."""

    def read(connection: Connection) -> tuple[int, list[RepositoryInfo]]:
        readable = readable_by(connection, identity)
        every = readable.everything or namespace in readable.namespaces
        total, rows = repository.namespace_page(
            connection,
            namespace,
            every,
            readable.public,
            readable.collaborator,
            (page - 1) * per_page,
            per_page,
        )
        return total, [RepositoryInfo.of(row) for row in rows]

    return await database.run(read)
