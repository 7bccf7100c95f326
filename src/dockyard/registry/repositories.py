"""A repository as a whole, as the v1 endpoints see it: its tags with their manifest digests,
and deleting everything it holds.

The v1 name of a single-component repository is `library/<name>`; a v2 client that pushed
`ubuntu` stored it as `ubuntu`, so `library/ubuntu` falls back to that name when the registry
holds nothing as `library/ubuntu`. A repository that holds no manifest, tag or blob (never
pushed, or emptied) is unknown to v1.

Deleting goes through the manifest and blob services, one manifest or blob at a time, exactly
as `DELETE /v2/<name>/manifests/<digest>` and `DELETE /v2/<name>/blobs/<digest>` do: whatever
those paths do besides (cache invalidation, events) happens for each here too; then one more
event says the repository itself is gone.
"""

from __future__ import annotations

from sqlalchemy import Connection, exists, select

from dockyard.db.tables import manifests, repositories, repository_blobs, tags
from dockyard.oci.digest import Digest
from dockyard.registry.blobs import BlobStore
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import DELETE, Target, current_origin
from dockyard.registry.manifests import ManifestService
from dockyard.registry.policies import guard
from dockyard.registry.references import Reference

LIBRARY = "library/"


def v1_name(path_name: str) -> str:
    """The repository a v1 path names: `ubuntu` is `library/ubuntu`, as on the original."""
    return path_name if "/" in path_name else LIBRARY + path_name


async def stored_name(manifests_service: ManifestService, name: str) -> str:
    """The registry's name for v1 repository `name` (see the module's docstring)."""
    if not name.startswith(LIBRARY):
        return name
    database = manifests_service.database
    if await database.run(_holds_anything, name):
        return name
    bare = name.removeprefix(LIBRARY)
    return bare if await database.run(_holds_anything, bare) else name


async def tag_digests(manifests_service: ManifestService, name: str) -> dict[str, str]:
    """Tag → manifest digest, sorted by tag; NAME_UNKNOWN when the repository holds nothing."""
    found = await manifests_service.database.run(_tags, name)
    if found is None:
        raise unknown(name)
    return found


async def delete_repository(
    manifests_service: ManifestService, blobs: BlobStore, name: str
) -> None:
    """Delete every manifest (and so every tag) and unlink every blob of `name`; the bytes go
    later, by garbage collection, as after any v2 delete."""
    contents = await manifests_service.database.run(_contents, name)
    if contents is None:
        raise unknown(name)
    await manifests_service.database.run(guard.before_repository_delete, name)
    digests, blob_digests = contents
    for digest in digests:
        try:
            await manifests_service.delete(name, Reference(None, Digest.parse(digest)))
        except RegistryError as exc:
            if exc.code is not ErrorCode.MANIFEST_UNKNOWN:  # gone meanwhile: fine
                raise
    for digest in blob_digests:
        try:
            await blobs.delete(name, Digest.parse(digest))
        except RegistryError as exc:
            if exc.code is not ErrorCode.BLOB_UNKNOWN:
                raise
    # Last, as Distribution 3 does: the repository itself was deleted (target: its name only).
    origin, events = current_origin(), manifests_service.events
    await manifests_service.database.run(
        lambda connection: events.record(connection, origin, DELETE, Target(name))
    )
    events.nudge()


def unknown(name: str) -> RegistryError:
    return RegistryError(ErrorCode.NAME_UNKNOWN, detail={"name": name})


def _repository_id(connection: Connection, name: str) -> int | None:
    return connection.execute(
        select(repositories.c.id).where(repositories.c.name == name)
    ).scalar_one_or_none()


def _holds_anything(connection: Connection, name: str) -> bool:
    repository = _repository_id(connection, name)
    if repository is None:
        return False
    query = select(
        exists().where(manifests.c.repository_id == repository)
        | exists().where(tags.c.repository_id == repository)
        | exists().where(repository_blobs.c.repository_id == repository)
    )
    return bool(connection.execute(query).scalar())


def _tags(connection: Connection, name: str) -> dict[str, str] | None:
    if not _holds_anything(connection, name):
        return None
    repository = _repository_id(connection, name)
    rows = connection.execute(
        select(tags.c.name, tags.c.digest)
        .where(tags.c.repository_id == repository)
        .order_by(tags.c.name)
    )
    return {str(tag): str(digest) for tag, digest in rows}


def _contents(connection: Connection, name: str) -> tuple[list[str], list[str]] | None:
    """The digests of the repository's manifests and of the blobs it links."""
    if not _holds_anything(connection, name):
        return None
    repository = _repository_id(connection, name)
    held = connection.execute(
        select(manifests.c.digest)
        .where(manifests.c.repository_id == repository)
        .order_by(manifests.c.digest)
    ).scalars()
    linked = connection.execute(
        select(repository_blobs.c.digest)
        .where(repository_blobs.c.repository_id == repository)
        .order_by(repository_blobs.c.digest)
    ).scalars()
    return [str(d) for d in held], [str(d) for d in linked]
