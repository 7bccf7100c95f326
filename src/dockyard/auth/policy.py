"""What the token service asks before it signs: who is this (Authenticator), and which of the
requested actions may they have (Policy).

The index will answer both from its accounts, organisations and repository settings. Until then
the standalone token server uses an htpasswd file: its users may do anything, anonymous callers
nothing, the same rule as Distribution's htpasswd mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dockyard.auth.htpasswd import HtpasswdFile
from dockyard.auth.scopes import Scope


class Authenticator(Protocol):
    async def authenticate(self, user: str, password: str) -> str | None:
        """The subject these credentials prove (the token's `sub`), or None if they prove none."""
        ...


class Policy(Protocol):
    async def granted(self, subject: str | None, requested: Sequence[Scope]) -> list[Scope]:
        """The requested scopes cut down to what `subject` (None: anonymous) may do.

        Not an error when that is less than asked, or nothing (the token spec): the registry
        refuses the request the token does not cover."""
        ...


class HtpasswdAuthenticator:
    def __init__(self, users: HtpasswdFile | None) -> None:
        self.users = users

    async def authenticate(self, user: str, password: str) -> str | None:
        if self.users is None or not await self.users.authenticate(user, password):
            return None
        return user


class AuthenticatedUsersMayDoAnything:
    """The standalone rule: any authenticated user gets every action asked for; anonymous none."""

    async def granted(self, subject: str | None, requested: Sequence[Scope]) -> list[Scope]:
        return list(requested) if subject is not None else []
