"""Bytes stored, computed from the registry's metadata (docs/decisions/0022-storage-accounting.md):
a repository holds the blobs it links and its manifests; a namespace holds each distinct blob
and manifest of its repositories once, however many of them use it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, exists, func, select

from dockyard.db.tables import blobs, manifests, repositories, repository_blobs
from dockyard.registry.policies.rules import LIBRARY, in_namespace, namespace_of


@dataclass(frozen=True, slots=True)
class RepositoryUsage:
    name: str
    bytes: int


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    namespace: str
    bytes: int  # distinct blobs and manifests: a blob shared by two repositories counts once
    repository_count: int  # repositories holding at least one manifest (what the quota counts)
    repositories: list[RepositoryUsage]


def _repository_bytes(repository_id: ColumnElement[int]) -> ColumnElement[int]:
    linked = (
        select(func.coalesce(func.sum(blobs.c.size), 0))
        .join(repository_blobs, repository_blobs.c.digest == blobs.c.digest)
        .where(repository_blobs.c.repository_id == repository_id)
        .scalar_subquery()
    )
    held = (
        select(func.coalesce(func.sum(manifests.c.size), 0))
        .where(manifests.c.repository_id == repository_id)
        .scalar_subquery()
    )
    return linked + held


def repository_bytes(connection: Connection, name: str) -> int | None:
    """Bytes the repository holds; None when the registry has no such repository (for
    `library/x` the name `x` is tried too, as v1 and the index call it)."""
    names = [name, name.removeprefix(f"{LIBRARY}/")] if name.startswith(f"{LIBRARY}/") else [name]
    for candidate in names:
        found = connection.execute(
            select(_repository_bytes(repositories.c.id)).where(repositories.c.name == candidate)
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
    return None


def namespace_bytes(connection: Connection, namespace: str) -> int:
    linked = (
        select(repository_blobs.c.digest)
        .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
        .where(in_namespace(namespace))
    )
    blob_bytes = connection.execute(
        select(func.coalesce(func.sum(blobs.c.size), 0)).where(blobs.c.digest.in_(linked))
    ).scalar_one()
    distinct = (
        select(manifests.c.digest, manifests.c.size)
        .join(repositories, repositories.c.id == manifests.c.repository_id)
        .where(in_namespace(namespace))
        .distinct()
        .subquery()
    )
    manifest_bytes = connection.execute(
        select(func.coalesce(func.sum(distinct.c.size), 0))
    ).scalar_one()
    return int(blob_bytes) + int(manifest_bytes)


def namespace_repositories(connection: Connection, namespace: str) -> int:
    """Repositories of the namespace holding at least one manifest."""
    query = select(func.count()).where(
        in_namespace(namespace), exists().where(manifests.c.repository_id == repositories.c.id)
    )
    return int(connection.execute(query).scalar_one())


def holds_manifests(connection: Connection, name: str) -> bool:
    query = select(
        exists()
        .where(repositories.c.name == name)
        .where(exists().where(manifests.c.repository_id == repositories.c.id))
    )
    return bool(connection.execute(query).scalar())


def namespace_usage(connection: Connection, namespace: str) -> NamespaceUsage:
    rows = connection.execute(
        select(repositories.c.name, _repository_bytes(repositories.c.id))
        .where(in_namespace(namespace))
        .order_by(repositories.c.name)
    )
    listed = [RepositoryUsage(str(name), int(size)) for name, size in rows]
    return NamespaceUsage(
        namespace,
        namespace_bytes(connection, namespace),
        namespace_repositories(connection, namespace),
        listed,
    )


def namespaces(connection: Connection) -> list[str]:
    """Every namespace the registry holds a repository of."""
    names = connection.execute(select(repositories.c.name)).scalars()
    return sorted({namespace_of(name) for name in names})


def namespace_links(connection: Connection, namespace: str, digest: str) -> bool:
    """Whether a repository of the namespace links the blob (its bytes count already)."""
    query = select(
        exists()
        .where(repository_blobs.c.digest == digest)
        .where(repositories.c.id == repository_blobs.c.repository_id)
        .where(in_namespace(namespace))
    )
    return bool(connection.execute(query).scalar())
