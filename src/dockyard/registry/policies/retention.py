"""Retention: each repository's effective policy (its own, else its namespace's) deletes the
tags it matches and does not keep. Kept are the `keep_last` pushed last, those pushed or
pulled within `keep_days`, those matching a `protect` pattern, and immutable ones; tags the
policy does not `match` are not its business. Tags go through the manifest service, exactly
as `DELETE /v2/<name>/manifests/<tag>` (events, webhooks, caches follow).

Runs on a schedule, one process at a time across processes and nodes (the lease `retention`
in maintenance_leases, as the garbage collector's), and by `dockyard retention [--dry-run]`.
A dry run lists exactly what a run at that moment deletes: both make the same plan."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dockyard.config import RetentionSettings
from dockyard.db.engine import Database
from dockyard.kit import unavailable
from dockyard.registry.collection.collector import _aware
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.maintenance import Lease, on_schedule, run_once
from dockyard.registry.metadata import now
from dockyard.registry.policies import rules
from dockyard.registry.policies.immutability import matching
from dockyard.registry.policies.rules import ALL, Policy, TagRow
from dockyard.registry.references import Reference
from dockyard.registry.state import Registry

log = logging.getLogger("dockyard.retention")

LEASE = "retention"


@dataclass(frozen=True, slots=True)
class Doomed:
    repository: str
    tag: str
    digest: str
    pushed_at: datetime
    pulled_at: datetime | None
    policy: str  # the scope whose policy decided: a namespace or a repository

    def line(self, verb: str) -> str:
        pulled = "never pulled" if self.pulled_at is None else f"pulled {_day(self.pulled_at)}"
        return (
            f"{verb} tag {self.repository}:{self.tag} ({self.digest}; pushed "
            f"{_day(self.pushed_at)}, {pulled}; policy of {self.policy})"
        )


@dataclass
class RetentionReport:
    dry_run: bool
    deleted: list[Doomed] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # gone or made immutable meanwhile

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        repositories = len({item.repository for item in self.deleted})
        return f"retention: {verb} {len(self.deleted)} tags in {repositories} repositories"


def plan(
    policy: Policy, found: Sequence[TagRow], immutable: Sequence[str], moment: datetime
) -> list[TagRow]:
    """The tags `policy` deletes among `found` (one repository's tags), by name."""
    candidates = [
        tag
        for tag in found
        if matching([policy.match], tag.name) is not None
        and matching(policy.protect, tag.name) is None
        and matching(immutable, tag.name) is None
    ]
    newest = sorted(candidates, key=lambda tag: (_aware(tag.pushed_at), tag.name), reverse=True)
    kept = {tag.name for tag in newest[: policy.keep_last or 0]}
    if policy.keep_days is not None:
        since = moment - timedelta(days=policy.keep_days)
        for tag in candidates:
            recent = [tag.pushed_at, *([] if tag.pulled_at is None else [tag.pulled_at])]
            if any(_aware(when) >= since for when in recent):
                kept.add(tag.name)
    return [tag for tag in candidates if tag.name not in kept]


def _effective(policies: Sequence[Policy], names: dict[str, list[str]]) -> dict[str, Policy]:
    """Repository → the policy that applies to it."""
    own = {p.repository: p for p in policies if p.repository != ALL}
    wide = {p.namespace: p for p in policies if p.repository == ALL}
    found: dict[str, Policy] = {}
    for namespace, repositories in names.items():
        for name in repositories:
            chosen = own.get(rules.canonical(name)) or wide.get(namespace)
            if chosen is not None:
                found[name] = chosen
    return found


class Retention:
    def __init__(self, registry: Registry, settings: RetentionSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.database: Database = registry.database
        interval = timedelta(minutes=settings.interval_minutes)
        duration = timedelta(seconds=settings.lease_seconds)
        self.lease = Lease(self.database, LEASE, interval, duration)

    async def doomed(self, moment: datetime) -> list[Doomed]:
        """What the policies delete now, repository by repository, in name order."""
        await self.registry.tag_pulls.flush(self.database)
        policies = await self.database.in_thread(rules.policies)
        namespaces = sorted({p.namespace for p in policies})
        names = {ns: await self.database.in_thread(rules.repositories_in, ns) for ns in namespaces}
        found: list[Doomed] = []
        for name, chosen in sorted(_effective(policies, names).items()):
            tags = await self.database.in_thread(rules.tags_of, name)
            if not tags:
                continue
            immutable = await self.database.in_thread(rules.immutable_patterns, name)
            scope = chosen.repository or chosen.namespace
            found += [
                Doomed(name, t.name, t.digest, t.pushed_at, t.pulled_at, scope)
                for t in plan(chosen, tags, immutable, moment)
            ]
        return found

    async def run(self, dry_run: bool = False) -> RetentionReport:
        report = RetentionReport(dry_run)
        for item in await self.doomed(now()):
            if dry_run:
                report.deleted.append(item)
                continue
            try:
                await self.registry.manifests.delete(item.repository, Reference(item.tag, None))
            except RegistryError as exc:
                known = (ErrorCode.DENIED, ErrorCode.MANIFEST_UNKNOWN, ErrorCode.NAME_UNKNOWN)
                if exc.code not in known:
                    raise
                report.refused.append(f"{item.repository}:{item.tag}: {exc.message}")
                continue
            report.deleted.append(item)
        return report


class RetentionBusy(Exception):
    """Another process is applying the retention policies now."""


async def apply(registry: Registry, settings: RetentionSettings, dry_run: bool) -> RetentionReport:
    """One run by hand: take the lease (unless a dry run), run, release."""
    retention = Retention(registry, settings)
    if dry_run:
        return await retention.run(dry_run=True)
    busy = RetentionBusy("another process is applying retention policies now; try again later")
    return await run_once(retention.lease, retention.run, busy)


async def retain_on_schedule(registry: Registry, settings: RetentionSettings) -> None:
    """Until cancelled: every process looks now and then; the one that takes the lease applies
    the policies when the last run (anywhere) finished an interval ago."""
    retention = Retention(registry, settings)

    def done(report: RetentionReport) -> None:
        if report.deleted:
            log.info("%s: %s", report.summary(), ", ".join(_names(report)))

    def failed(exc: Exception) -> None:
        # The database away, for instance: the next round tries again.
        unavailable.log_failure(log, "retention failed", exc)

    await on_schedule(retention.lease, retention.run, done, failed)


def _names(report: RetentionReport) -> list[str]:
    return [f"{item.repository}:{item.tag}" for item in report.deleted]


def _day(moment: datetime) -> str:
    return _aware(moment).strftime("%Y-%m-%d %H:%M")
