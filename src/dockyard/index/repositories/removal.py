"""Forgetting a repository the registry deleted: its settings and collaborators go, so a
later push to the name starts afresh (with the default visibility), as a new repository."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from dockyard.db.engine import Database
from dockyard.index.names import canonical
from dockyard.index.tables import collaborators, repository_settings


async def forget(database: Database, name: str) -> bool:
    """Remove the index's settings of `name` (`ubuntu` is `library/ubuntu`); False when it
    had none."""
    return await database.run(forget_in, canonical(name))


def forget_in(connection: Connection, name: str) -> bool:
    """`forget` in the caller's transaction; `name` canonical."""
    found = connection.execute(
        select(repository_settings.c.id).where(repository_settings.c.name == name)
    ).scalar_one_or_none()
    if found is None:
        return False
    connection.execute(delete(collaborators).where(collaborators.c.repository_id == found))
    connection.execute(delete(repository_settings).where(repository_settings.c.id == found))
    return True
