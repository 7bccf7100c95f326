"""SQL for users, and for the one space of names users and organisations share."""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from dockyard.index.tables import (
    access_tokens,
    collaborators,
    namespaces,
    organisation_members,
    organisations,
    repository_settings,
    team_members,
    users,
)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# Built once: every signed-in request looks its account up, and building the statement anew
# cost as much as running it on SQLite.
_BY_NAME = select(users).where(users.c.username == bindparam("username"))


def by_name(connection: Connection, username: str) -> Row[tuple[object, ...]] | None:
    return connection.execute(_BY_NAME, {"username": username}).first()


def name_taken(connection: Connection, name: str) -> bool:
    """Users and organisations share one space of namespaces."""
    user = connection.execute(select(users.c.id).where(users.c.username == name)).first()
    org = connection.execute(select(organisations.c.id).where(organisations.c.name == name)).first()
    return user is not None or org is not None


def claim_namespace(connection: Connection, name: str, kind: str) -> None:
    """Take `name` for a user or an organisation; an IntegrityError when it is held, even by
    a creation racing this one (its primary key decides, not an earlier check)."""
    connection.execute(insert(namespaces).values(name=name, kind=kind))


def lock_namespace(connection: Connection, name: str, *, share: bool = False) -> bool:
    """Hold the namespace's row until the transaction ends (PostgreSQL), `share`d by what
    moves repositories into it, alone by the deletion of its user or organisation, which
    counts those repositories first. False when nobody holds the name."""
    query = select(namespaces.c.name).where(namespaces.c.name == name)
    held = connection.execute(query.with_for_update(read=share)).first()
    return held is not None


def release_namespace(connection: Connection, name: str) -> None:
    connection.execute(delete(namespaces).where(namespaces.c.name == name))


def insert_user(
    connection: Connection, username: str, email: str, password_hash: str, is_admin: bool
) -> int:
    claim_namespace(connection, username, "user")
    result = connection.execute(
        insert(users).values(
            username=username,
            email=email,
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=now(),
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def set_password(connection: Connection, user_id: int, password_hash: str) -> None:
    """The new hash; what was signed in with the old password ends (refresh tokens by their
    issue time, access tokens and robots revoked)."""
    moment = now()
    connection.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, credentials_changed_at=moment)
    )
    connection.execute(
        update(access_tokens)
        .where(access_tokens.c.user_id == user_id, access_tokens.c.revoked_at.is_(None))
        .values(revoked_at=moment)
    )


def set_disabled(connection: Connection, user_id: int, disabled: bool) -> None:
    """Disabling also ends the refresh tokens issued so far: enabling again does not bring
    them back. Access tokens are only suspended: they work again once it is enabled."""
    change = update(users).where(users.c.id == user_id)
    if disabled:
        moment = now()
        connection.execute(change.values(disabled_at=moment, credentials_changed_at=moment))
    else:
        connection.execute(change.values(disabled_at=None))


def set_admin(connection: Connection, user_id: int, admin: bool) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(is_admin=admin))


def page_of_users(
    connection: Connection, prefix: str, offset: int, limit: int
) -> list[Row[tuple[object, ...]]]:
    """Users in name order, those starting with `prefix` (the unique index on the name walks
    it)."""
    query = select(users.c.id, users.c.username, users.c.email, users.c.is_admin,
                   users.c.created_at, users.c.disabled_at)  # fmt: skip
    if prefix:
        query = query.where(users.c.username >= prefix, users.c.username < prefix + "\uffff")
    return list(connection.execute(query.order_by(users.c.username).offset(offset).limit(limit)))


def lock_site_admins(connection: Connection) -> list[Row[tuple[object, ...]]]:
    """The site administrators, locked until the transaction ends (PostgreSQL), so two
    administrators disabling or deleting each other at once cannot leave none."""
    query = select(users.c.id, users.c.disabled_at).where(users.c.is_admin.is_(True))
    return list(connection.execute(query.order_by(users.c.id).with_for_update()))


def lock_user(connection: Connection, user_id: int) -> None:
    """Hold the user's row until the transaction ends (PostgreSQL): rows that name the user
    (stars, comments, tokens, memberships) cannot be written meanwhile, so deleting the user
    and every row naming them leaves none behind."""
    connection.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())


def lock_organisations_of(connection: Connection, user_id: int) -> None:
    """Hold the rows of the organisations the user belongs to (PostgreSQL), as their member
    changes do: another owner cannot step down between the check that the user is not the
    last owner and the user's deletion. Taken after the user's row: memberships cannot be
    added meanwhile (they refer to it), so this is all of them."""
    belongs = select(organisation_members.c.organisation_id).where(
        organisation_members.c.user_id == user_id
    )
    connection.execute(
        select(organisations.c.id)
        .where(organisations.c.id.in_(belongs))
        .order_by(organisations.c.id)
        .with_for_update()
    )


def credentials_valid_since(connection: Connection, user_id: int) -> datetime.datetime | None:
    """What the account's refresh tokens must have been issued after: its last password change
    or disable, else its creation (one issued to an account of the same name that was deleted
    signed its owner in to the new one)."""
    since = func.coalesce(users.c.credentials_changed_at, users.c.created_at)
    found: datetime.datetime | None = connection.execute(
        select(since).where(users.c.id == user_id)
    ).scalar_one_or_none()
    return found


def repository_count(connection: Connection, namespace: str) -> int:
    query = select(func.count()).where(repository_settings.c.namespace == namespace)
    return int(connection.execute(query).scalar_one())


def sole_owner_of(connection: Connection, user_id: int) -> list[str]:
    """The organisations whose only owner the user is."""
    owners = organisation_members.alias("owners")
    others = (
        select(func.count())
        .where(
            owners.c.organisation_id == organisation_members.c.organisation_id,
            owners.c.role == "owner",
            owners.c.user_id != user_id,
        )
        .scalar_subquery()
    )
    query = (
        select(organisations.c.name)
        .join(organisations, organisations.c.id == organisation_members.c.organisation_id)
        .where(
            organisation_members.c.user_id == user_id,
            organisation_members.c.role == "owner",
            others == 0,
        )
        .order_by(organisations.c.name)
    )
    return list(connection.execute(query).scalars())


def delete_user(connection: Connection, user_id: int, username: str) -> None:
    """The user and every row naming them: memberships, collaborator roles, tokens."""
    connection.execute(delete(team_members).where(team_members.c.user_id == user_id))
    connection.execute(
        delete(organisation_members).where(organisation_members.c.user_id == user_id)
    )
    connection.execute(delete(collaborators).where(collaborators.c.user_id == user_id))
    connection.execute(delete(access_tokens).where(access_tokens.c.user_id == user_id))
    connection.execute(delete(users).where(users.c.id == user_id))
    release_namespace(connection, username)
