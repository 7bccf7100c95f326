"""Deleting a tag or a whole repository for one of its administrators (the web UI's forms):
through this process's registry, exactly as `DELETE /v2/<name>/manifests/<tag>` and
`DELETE /v1/repositories/<name>/` do (events, webhooks and caches follow), then the catalogue
at once, so the next page no longer shows it; the registry's event, applied later, changes
nothing more."""

from __future__ import annotations

from sqlalchemy import Connection

from dockyard.auth.scopes import DELETE, PULL
from dockyard.db.engine import Database
from dockyard.index.catalogue import repository
from dockyard.index.errors import Forbidden, Invalid, NotFound
from dockyard.index.names import canonical
from dockyard.index.repositories.permissions import Identity
from dockyard.index.repositories.service import actions
from dockyard.registry import repositories as stored
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.references import Reference
from dockyard.registry.state import Registry


async def delete_tag(
    database: Database, registry: Registry, actor: Identity, name: str, tag: str
) -> None:
    await _may_delete(database, actor, name)
    try:
        held = await stored.stored_name(registry.manifests, canonical(name))
        await registry.manifests.delete(held, Reference(tag, None))
    except RegistryError as exc:
        if exc.code not in (ErrorCode.MANIFEST_UNKNOWN, ErrorCode.NAME_UNKNOWN):
            raise
    await database.run(_forget_tag, canonical(name), tag)


async def delete_repository(
    database: Database, registry: Registry, actor: Identity, name: str, typed: str
) -> None:
    """Everything `name` holds, and the index's settings, stars, comments and hooks of it;
    `typed` must name it (the confirmation the form asks for)."""
    await _may_delete(database, actor, name)
    if typed.strip() not in (name, canonical(name)):
        raise Invalid(f"type the repository's name, {name}, to delete it")
    try:
        held = await stored.stored_name(registry.manifests, canonical(name))
        await stored.delete_repository(registry.manifests, registry.blobs, held)
    except RegistryError as exc:
        if exc.code is not ErrorCode.NAME_UNKNOWN:  # nothing pushed yet: only settings
            raise
    await database.run(repository.forget_repository, canonical(name))


async def _may_delete(database: Database, actor: Identity, name: str) -> None:
    """The token service's rule: `delete` on the repository (its administrators)."""
    allowed = (await actions(database, actor, [name]))[name]
    if DELETE in allowed:
        return
    if PULL in allowed:
        raise Forbidden(f"only administrators of {name} may delete")
    raise NotFound(f"no repository {name!r}")


def _forget_tag(connection: Connection, name: str, tag: str) -> None:
    found = repository.repository_id(connection, name)
    if found is not None:
        repository.delete_tags(connection, found, tag, None)
        repository.count_tags(connection, [found])
