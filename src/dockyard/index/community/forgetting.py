"""What goes with an account or a repository: stars (their counts following) and comments.

Called inside the transaction that deletes the user or the repository, before its row goes:
stars and comments hold foreign keys to both.
"""

from __future__ import annotations

from sqlalchemy import Connection

from dockyard.index.community import repository


def forget_user(connection: Connection, user_id: int) -> None:
    """Remove the user's stars, lowering each repository's star count, and their comments."""
    repository.forget_user(connection, user_id)


def forget_repository(connection: Connection, repository_id: int) -> None:
    """Remove the stars and comments of a repository the index forgets."""
    repository.forget_repository(connection, repository_id)
