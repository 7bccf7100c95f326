"""Which upstreams serve which names: a mirror rule, its upstreams in the order they are tried
(as configured, or the least busy first), and which of them failed lately (tried last until
`retry_failed_after_seconds` have passed)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dockyard.config import MirrorSettings, MirrorUpstreamSettings


@dataclass(slots=True)
class Upstream:
    settings: MirrorUpstreamSettings
    failed_until: float = 0.0  # time.monotonic() before which it is tried only as a last resort
    in_flight: int = 0  # calls to it this process is making now (`balance: least_busy`)

    @property
    def host(self) -> str:
        """`host[:port]`, as dockyard.client names a registry."""
        return self.settings.url.split("://", 1)[1]

    @property
    def url(self) -> str:
        return self.settings.url

    def failed(self, retry_after: float) -> None:
        self.failed_until = time.monotonic() + retry_after

    def recovered(self) -> None:
        self.failed_until = 0.0


@dataclass(slots=True)
class MirrorRule:
    settings: MirrorSettings
    upstreams: list[Upstream] = field(default_factory=list)
    turns: int = 0  # least_busy: which of equally busy upstreams goes first, in rotation

    @classmethod
    def of(cls, settings: MirrorSettings) -> MirrorRule:
        return cls(settings, [Upstream(upstream) for upstream in settings.upstreams])

    @property
    def label(self) -> str:
        return "default mirror" if self.settings.default else f"mirror {self.settings.prefix}/"

    def covers(self, name: str) -> bool:
        prefix = self.settings.prefix
        return self.settings.default or name == prefix or name.startswith(prefix + "/")

    def upstream_name(self, name: str) -> str | None:
        """The upstream's name for a local one (None: the rule maps it to nothing)."""
        rest = name if self.settings.default else name[len(self.settings.prefix) :].lstrip("/")
        joined = "/".join(part for part in (self.settings.upstream_prefix, rest) if part)
        return joined or None

    def in_order(self) -> list[Upstream]:
        """Healthy upstreams in their configured order (`least_busy`: the fewest calls in
        flight first, equals taking turns), then the ones that failed lately (a rule whose
        upstreams all failed still tries them)."""
        now = time.monotonic()
        healthy = [upstream for upstream in self.upstreams if upstream.failed_until <= now]
        if self.settings.balance == "least_busy" and healthy:
            self.turns += 1
            first = self.turns % len(healthy)
            rotated = healthy[first:] + healthy[:first]
            healthy = sorted(rotated, key=lambda upstream: upstream.in_flight)  # stable
        return healthy + [upstream for upstream in self.upstreams if upstream.failed_until > now]


def rule_for(rules: list[MirrorRule], name: str) -> MirrorRule | None:
    """The prefix rule covering `name` (the longest prefix wins); never the default rule."""
    best: MirrorRule | None = None
    for rule in rules:
        if rule.settings.default or not rule.covers(name):
            continue
        if best is None or len(rule.settings.prefix) > len(best.settings.prefix):
            best = rule
    return best
