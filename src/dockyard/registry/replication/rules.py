"""A replication rule as the worker uses it: which repositories and tags it copies, which
platforms, and the registry at the other end."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from dockyard.client import Platform
from dockyard.config import ReplicationRuleSettings

PUSH, PULL = "push", "pull"


@dataclass(frozen=True)
class Rule:
    settings: ReplicationRuleSettings
    platforms: tuple[Platform, ...] = field(init=False)

    def __post_init__(self) -> None:
        chosen = tuple(Platform.parse(text) for text in self.settings.platforms)
        object.__setattr__(self, "platforms", chosen)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def direction(self) -> str:
        return self.settings.direction

    @property
    def host(self) -> str:
        """The other registry's `host[:port]`, as dockyard.client names a registry."""
        return urlsplit(self.settings.registry).netloc

    def copies(self, repository: str, tag: str | None = None) -> bool:
        """Whether the rule copies this repository (and this tag of it, when one is given)."""
        if not any(fnmatchcase(repository, p) for p in self.settings.repositories):
            return False
        return tag is None or any(fnmatchcase(tag, p) for p in self.settings.tags)
