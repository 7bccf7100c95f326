"""Docker's resource scopes (`repository:org/app:pull,push`) and the token's `access` claim.

A scope names a resource (type, optional class, name) and the actions asked for or granted on it.
The same model is the text of a `scope` query parameter or challenge and one entry of a JWT's
`access` claim (docs: /usr/share/doc/docker-registry/spec/auth/scope.md.gz).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dockyard.oci.names import MAX_NAME_LENGTH

PULL = "pull"
PUSH = "push"
DELETE = "delete"
# Distribution reads "*" in a granted action list as every action on the resource.
ANY_ACTION = "*"

_TYPE = re.compile(r"^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$")
# The grammar's resource name: an optional host[:port] and slash-separated components. Kept loose
# (any case, `_.-`): which names exist is the registry's business, not the scope parser's.
_NAME = re.compile(r"^[A-Za-z0-9._-]+(?::[0-9]+)?(?:/[A-Za-z0-9._-]+)*$")
_ACTION = re.compile(r"^(?:[a-z]+|\*)$")
# Longer scopes are refused before any regex runs on them.
MAX_SCOPE_LENGTH = 1024


class ScopeError(ValueError):
    """A scope or an access entry is malformed; the message says which part."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A resource and actions on it: asked for in a scope, granted in a token's `access`."""

    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """`type[(class)]:name:action[,action]*`; the name may hold one `:` (a registry port)."""
        if len(text) > MAX_SCOPE_LENGTH:
            raise ScopeError(f"scope longer than {MAX_SCOPE_LENGTH} characters")
        resource_type, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2:
            raise ScopeError(f"scope {text!r} is not TYPE:NAME:ACTIONS")
        match = _TYPE.match(resource_type)
        if match is None:
            raise ScopeError(f"scope {text!r}: resource type {resource_type!r} is malformed")
        if not _NAME.match(name):
            raise ScopeError(f"scope {text!r}: resource name {name!r} is malformed")
        if len(name) > MAX_NAME_LENGTH:
            # No repository holds a longer name (the grammar's limit, and the columns'): asking
            # for one is a malformed request, not a grant of nothing.
            raise ScopeError(f"scope's resource name is longer than {MAX_NAME_LENGTH} characters")
        listed = [action for action in actions.split(",") if action]
        if not listed or not all(_ACTION.match(action) for action in listed):
            raise ScopeError(f"scope {text!r}: actions {actions!r} are malformed")
        return cls(match.group(1), name, _unique(listed), match.group(2))

    @classmethod
    def from_claim(cls, entry: Any) -> Scope:
        """One entry of a token's `access` claim: `{"type", "name", "actions": [...]}`."""
        if not isinstance(entry, dict):
            raise ScopeError("access entry is not an object")
        resource_type, name = entry.get("type"), entry.get("name")
        actions, resource_class = entry.get("actions", []), entry.get("class")
        if not isinstance(resource_type, str) or not isinstance(name, str):
            raise ScopeError("access entry needs a string type and name")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            raise ScopeError("access entry's actions must be a list of strings")
        if resource_class is not None and not isinstance(resource_class, str):
            raise ScopeError("access entry's class must be a string")
        return cls(resource_type, name, _unique(actions), resource_class)

    def to_claim(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": self.type, "name": self.name}
        if self.resource_class is not None:
            entry["class"] = self.resource_class
        entry["actions"] = list(self.actions)
        return entry

    def allows(self, action: str) -> bool:
        return action in self.actions or ANY_ACTION in self.actions

    def restricted_to(self, actions: Iterable[str]) -> Scope:
        """This resource with only those of its actions that are also in `actions`."""
        granted = set(actions)
        if ANY_ACTION in granted:
            return self
        return Scope(
            self.type,
            self.name,
            tuple(a for a in self.actions if a in granted),
            self.resource_class,
        )

    def __str__(self) -> str:
        resource_type = (
            self.type if self.resource_class is None else (f"{self.type}({self.resource_class})")
        )
        return f"{resource_type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every scope in `values`; each value may hold several, separated by spaces (the spec's
    POST form and some clients' GET)."""
    return [Scope.parse(part) for value in values for part in value.split(" ") if part]


def repository_scope(name: str, *actions: str) -> Scope:
    return Scope("repository", name, actions)


# What `GET /v2/_catalog` needs, as Distribution asks for it.
CATALOG = Scope("registry", "catalog", (ANY_ACTION,))


def _unique(actions: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(actions))
