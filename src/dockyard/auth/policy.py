"""What the token service asks before it signs: who is this (Authenticator), and which of the
requested actions may they have (Policy).

The index will answer both from its accounts, organisations and repository settings. Until then
the standalone token server uses an htpasswd file: its users may pull every repository and list
the catalogue, push and delete in their own namespace (`<user>/...`); anonymous callers nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dockyard.auth.htpasswd import HtpasswdFile
from dockyard.auth.scopes import ANY_ACTION, PULL, Scope


class Authenticator(Protocol):
    async def authenticate(self, user: str, password: str) -> str | None:
        """The subject these credentials prove (the token's `sub`), or None if they prove none."""
        ...

    async def active(self, subject: str, issued_at: float | None = None) -> bool:
        """Whether `subject` may still get tokens with what was issued to it at `issued_at`
        (Unix time; None: unknown): False once the account is removed or disabled, or its
        credentials changed after `issued_at`, which ends its refresh tokens."""
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

    async def active(self, subject: str, issued_at: float | None = None) -> bool:
        # The file keeps no time of change: a new password does not end refresh tokens here.
        return self.users is not None and self.users.has_user(subject)


class OwnNamespacePolicy:
    """The standalone rule: an authenticated user gets every action asked for on repositories
    named `<user>` or `<user>/...`, pull on any other repository, and the catalogue; anonymous
    callers nothing."""

    async def granted(self, subject: str | None, requested: Sequence[Scope]) -> list[Scope]:
        if subject is None:
            return []
        return [scope for scope in (_allowed(subject, s) for s in requested) if scope.actions]


def _allowed(subject: str, scope: Scope) -> Scope:
    if scope.type == "registry" and scope.name == "catalog" and scope.resource_class is None:
        return scope
    if scope.type != "repository":
        return scope.restricted_to(())
    if scope.name == subject or scope.name.startswith(f"{subject}/"):
        return scope
    if ANY_ACTION in scope.actions:
        return Scope(scope.type, scope.name, (PULL,), scope.resource_class)
    return scope.restricted_to((PULL,))
