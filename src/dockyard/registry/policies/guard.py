"""What the manifest and tag paths call inside their transactions: immutability and quotas."""

from __future__ import annotations

from sqlalchemy import Connection, exists, select

from dockyard.config import QuotaSettings
from dockyard.db.tables import manifests, repositories
from dockyard.registry.policies import immutability, quotas, rules


def before_manifest(
    connection: Connection,
    name: str,
    tag: str | None,
    digest: str,
    size: int,
    defaults: QuotaSettings | None,
) -> None:
    """Refuse (DENIED) a manifest put that moves an immutable tag or exceeds a quota."""
    if tag is not None:
        immutability.check_move(connection, name, tag, digest)
    if defaults is not None:
        within_quotas(connection, name, digest, size, defaults)


def within_quotas(
    connection: Connection, name: str, digest: str, size: int, defaults: QuotaSettings
) -> None:
    """Refuse (DENIED) a manifest of `size` bytes that would make a repository or bytes more
    than the namespace may hold (the same manifest elsewhere in it adds no bytes)."""
    quotas.check_new_repository(connection, name, defaults)
    if not _in_namespace(connection, name, digest):
        quotas.check_bytes(connection, name, size, defaults)


def before_tag_delete(connection: Connection, name: str, tag: str) -> None:
    immutability.check_delete(connection, name, [tag])


def before_manifest_delete(connection: Connection, name: str, digest: str) -> None:
    """A manifest's delete takes its tags along: refused when one is immutable."""
    immutability.check_delete(connection, name, immutability.tags_on(connection, name, digest))


def before_repository_delete(connection: Connection, name: str) -> None:
    """Deleting a repository takes all its tags: refused, before anything goes, when one is
    immutable."""
    immutability.check_delete(connection, name, immutability.tags_on(connection, name))


def _in_namespace(connection: Connection, name: str, digest: str) -> bool:
    """Whether a repository of `name`'s namespace holds the manifest (its bytes count)."""
    query = select(
        exists()
        .where(manifests.c.digest == digest)
        .where(repositories.c.id == manifests.c.repository_id)
        .where(rules.in_namespace(rules.namespace_of(name)))
    )
    return bool(connection.execute(query).scalar())
