"""Who may do what on a repository: pure rules over facts the service reads in one go.

- site administrators may do everything;
- a user is admin of the namespace of their name, an organisation's owners of its namespace;
- `library` (official images, where `ubuntu` lives) belongs to the site administrators;
- collaborators (users, or teams of the namespace's organisation) have their role;
- anyone, anonymous too, may pull a public repository;
- a repository the index does not know yet exists for nobody but its namespace's admins, who
  create it by pushing; to everyone else it answers like a private one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.auth.scopes import DELETE, PULL, PUSH

ROLES = ("read", "write", "admin")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset({PULL}),
    "write": frozenset({PULL, PUSH}),
    "admin": frozenset({PULL, PUSH, DELETE}),
}
PUBLIC, PRIVATE = "public", "private"
VISIBILITIES = (PUBLIC, PRIVATE)


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated account; `cap` limits it when it signed in with a token."""

    user_id: int
    username: str
    is_admin: bool
    cap: frozenset[str] | None = None


def namespace_role(
    identity: Identity | None, namespace: str, organisation_roles: dict[str, str]
) -> str | None:
    if identity is None:
        return None
    if identity.is_admin or namespace == identity.username:
        return "admin"
    return "admin" if organisation_roles.get(namespace) == "owner" else None


def highest(roles: Iterable[str | None]) -> str | None:
    ranked = [role for role in roles if role in ROLES]
    return max(ranked, key=ROLES.index) if ranked else None


def allowed_actions(
    identity: Identity | None, visibility: str | None, role: str | None
) -> frozenset[str]:
    """What `identity` may do on a repository of that visibility (None: not known to the index)
    where its highest role is `role`."""
    actions = ROLE_ACTIONS[role] if role is not None else frozenset()
    if visibility == PUBLIC:
        actions |= {PULL}
    if identity is not None and identity.cap is not None:
        actions &= identity.cap
    return actions
