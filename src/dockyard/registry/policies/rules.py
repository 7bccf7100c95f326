"""The storage policies' SQL, and only SQL: quotas, immutable tag patterns, retention policies
and tags' last pulls. Every function takes a connection inside a transaction.

A rule's `repository` is a full repository name, or '' (ALL) for its whole namespace."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    or_,
    select,
    update,
)

from dockyard.db.locks import hold
from dockyard.db.tables import (
    immutable_tags,
    namespace_quotas,
    repositories,
    retention_policies,
    tags,
)
from dockyard.registry.metadata import now

ALL = ""
LIBRARY = "library"


def namespace_of(name: str) -> str:
    """The namespace a registry name belongs to: its first component; `library` for a name of
    one component (`ubuntu` is `library/ubuntu`, as in the index)."""
    return name.split("/", 1)[0] if "/" in name else LIBRARY


def canonical(name: str) -> str:
    """The name rules are kept under: `ubuntu` is `library/ubuntu`."""
    return name if "/" in name else f"{LIBRARY}/{name}"


def in_namespace(namespace: str) -> ColumnElement[bool]:
    """repositories.name is in `namespace`: a range of the name's unique index ('/' + 1 is
    '0'), so no LIKE and no escaping of `_`."""
    name = repositories.c.name
    found = and_(name >= f"{namespace}/", name < f"{namespace}0")
    if namespace == LIBRARY:
        found = or_(found, ~name.contains("/"))
    return found


# Quotas


# Stored as a namespace's limit: unlimited, whatever the configured default.
UNLIMITED_VALUE = -1


@dataclass(frozen=True, slots=True)
class Limits:
    """In effect, None: unlimited. As stored for a namespace, None: the configured default,
    UNLIMITED_VALUE: unlimited."""

    max_bytes: int | None
    max_repositories: int | None


def quota(connection: Connection, namespace: str) -> Limits | None:
    """The namespace's own limits (a NULL field: the configured default); None: none set."""
    row = connection.execute(
        select(namespace_quotas.c.max_bytes, namespace_quotas.c.max_repositories).where(
            namespace_quotas.c.namespace == namespace
        )
    ).one_or_none()
    return None if row is None else Limits(row.max_bytes, row.max_repositories)


def set_quota(connection: Connection, namespace: str, limits: Limits | None) -> None:
    # The namespace held, as by every change of its rules: two at once are made one after the
    # other (each replaces rows by a delete and an insert, which at once failed on the keys).
    hold(connection, namespace)
    connection.execute(delete(namespace_quotas).where(namespace_quotas.c.namespace == namespace))
    if limits is not None:
        connection.execute(
            namespace_quotas.insert().values(
                namespace=namespace,
                max_bytes=limits.max_bytes,
                max_repositories=limits.max_repositories,
                updated_at=now(),
            )
        )


# Immutable tags


def immutable_patterns(connection: Connection, name: str) -> list[str]:
    """The patterns of immutable tags that apply to repository `name` (its own and its
    namespace's)."""
    c = immutable_tags.c
    return list(
        connection.execute(
            select(c.pattern)
            .where(c.namespace == namespace_of(name), c.repository.in_([ALL, canonical(name)]))
            .order_by(c.pattern)
        ).scalars()
    )


def scoped_patterns(connection: Connection, namespace: str, repository: str) -> list[str]:
    """The patterns set on exactly this scope."""
    c = immutable_tags.c
    return list(
        connection.execute(
            select(c.pattern)
            .where(c.namespace == namespace, c.repository == repository)
            .order_by(c.pattern)
        ).scalars()
    )


def set_patterns(
    connection: Connection, namespace: str, repository: str, patterns: Sequence[str]
) -> None:
    hold(connection, namespace)
    c = immutable_tags.c
    connection.execute(
        delete(immutable_tags).where(c.namespace == namespace, c.repository == repository)
    )
    rows = [{"namespace": namespace, "repository": repository, "pattern": p} for p in patterns]
    if rows:
        connection.execute(immutable_tags.insert(), rows)


# Retention policies


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    repository: str  # ALL: every repository of the namespace without a policy of its own
    keep_last: int | None
    keep_days: float | None
    match: str
    protect: tuple[str, ...]


def _policy_columns() -> tuple[ColumnElement[object], ...]:
    c = retention_policies.c
    return (c.namespace, c.repository, c.keep_last, c.keep_days, c.match, c.protect)


def _policy(row: Sequence[object]) -> Policy:
    namespace, repository, keep_last, keep_days, match, protect = row
    return Policy(
        str(namespace),
        str(repository),
        None if keep_last is None else int(str(keep_last)),
        None if keep_days is None else float(str(keep_days)),
        str(match),
        tuple(json.loads(str(protect))),
    )


def policies(connection: Connection) -> list[Policy]:
    c = retention_policies.c
    query = select(*_policy_columns()).order_by(c.namespace, c.repository)
    return [_policy(tuple(row)) for row in connection.execute(query)]


def policy(connection: Connection, namespace: str, repository: str) -> Policy | None:
    c = retention_policies.c
    row = connection.execute(
        select(*_policy_columns()).where(c.namespace == namespace, c.repository == repository)
    ).one_or_none()
    return None if row is None else _policy(tuple(row))


def set_policy(
    connection: Connection, namespace: str, repository: str, found: Policy | None
) -> None:
    hold(connection, namespace)
    c = retention_policies.c
    connection.execute(
        delete(retention_policies).where(c.namespace == namespace, c.repository == repository)
    )
    if found is not None:
        connection.execute(
            retention_policies.insert().values(
                namespace=namespace,
                repository=repository,
                keep_last=found.keep_last,
                keep_days=found.keep_days,
                match=found.match,
                protect=json.dumps(list(found.protect)),
                updated_at=now(),
            )
        )


@dataclass(frozen=True, slots=True)
class TagRow:
    name: str
    digest: str
    pushed_at: datetime
    pulled_at: datetime | None


def repositories_in(connection: Connection, namespace: str) -> list[str]:
    query = select(repositories.c.name).where(in_namespace(namespace)).order_by(repositories.c.name)
    return list(connection.execute(query).scalars())


def tags_of(connection: Connection, name: str) -> list[TagRow]:
    query = (
        select(tags.c.name, tags.c.digest, tags.c.updated_at, tags.c.last_pulled_at)
        .join(repositories, repositories.c.id == tags.c.repository_id)
        .where(repositories.c.name == name)
        .order_by(tags.c.name)
    )
    return [TagRow(*row) for row in connection.execute(query)]


def record_pulls(connection: Connection, pulls: Mapping[tuple[str, str], datetime]) -> None:
    """Each (repository, tag) was last pulled at its moment (never moved backwards)."""
    if not pulls:
        return
    repository = (
        select(repositories.c.id)
        .where(repositories.c.name == bindparam("repository"))
        .scalar_subquery()
    )
    moment = bindparam("moment", type_=tags.c.last_pulled_at.type)
    connection.execute(
        update(tags)
        .where(
            tags.c.repository_id == repository,
            tags.c.name == bindparam("tag"),
            or_(tags.c.last_pulled_at.is_(None), tags.c.last_pulled_at < moment),
        )
        .values(last_pulled_at=moment),
        [
            {"repository": name, "tag": tag, "moment": when}
            for (name, tag), when in sorted(pulls.items())
        ],
    )
