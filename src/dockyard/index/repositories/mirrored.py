"""Mirror rules as the index sees them (docs/operations.md#mirrors): a `public` rule opens the
names it covers to everyone before they are cached, and what a mirror caches is catalogued
public or private by its rule.

Names here are the registry's (`library/nginx` as dockerd asks for it), as the rules are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from dockyard.config import MirrorSettings
from dockyard.index.accounts import repository as accounts
from dockyard.index.names import namespace_of
from dockyard.index.repositories.permissions import PRIVATE, PUBLIC
from dockyard.registry.mirrors.rules import MirrorRule, rule_for


@dataclass(frozen=True, slots=True)
class MirrorNames:
    rules: tuple[MirrorRule, ...] = ()
    default: MirrorRule | None = field(default=None)

    @classmethod
    def of(cls, settings: Iterable[MirrorSettings]) -> MirrorNames:
        rules = tuple(MirrorRule.of(rule) for rule in settings)
        return cls(rules, next((rule for rule in rules if rule.settings.default), None))

    def opened(self, connection: Connection, unknown: Iterable[str]) -> set[str]:
        """Those of `unknown` (names the index has no repository for) that a public rule opens
        to everyone: a public prefix rule's, and, of a public default rule, those that no
        prefix rule covers and whose namespace no user or organisation holds here (their
        first push, until the catalogue has it, is theirs alone)."""
        found = set()
        for name in unknown:
            rule = rule_for(list(self.rules), name) or self.default
            if rule is None or not rule.settings.public:
                continue
            if rule.settings.default and accounts.name_taken(connection, namespace_of(name)):
                continue
            found.add(name)
        return found

    def visibility(self, name: str, cached: bool, default_visibility: str) -> str:
        """The visibility of the repository a push event creates: a prefix rule's names, and
        what the default rule cached (`cached`: the event came of a mirror's fetch), are public
        when the rule is, else private; any other push gets `default_visibility`."""
        rule = rule_for(list(self.rules), name)
        if rule is None and cached:
            rule = self.default
        if rule is None:
            return default_visibility
        return PUBLIC if rule.settings.public else PRIVATE
