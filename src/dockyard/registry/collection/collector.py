"""The collector: what no repository, manifest or upload uses goes, while pushes and pulls go
on (docs/decisions/0020-online-garbage-collection.md).

A run, in order: untagged manifests past their age (by the policy), blobs a dead collector
left claimed, unreferenced blobs past the grace period, then the leftovers of interrupted
work: upload directories no session names, `.partial` files and blob objects no row names
(past the grace period), S3's incomplete multipart uploads past their age."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from dockyard.config import GcSettings
from dockyard.kit import unavailable
from dockyard.metrics import switch
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.registry import metadata
from dockyard.registry.blobs import blob_key
from dockyard.registry.collection import queries
from dockyard.registry.collection.queries import BlobRow, ManifestNode
from dockyard.registry.events.model import DELETE, Target
from dockyard.registry.maintenance import Lease, on_schedule, run_once
from dockyard.registry.state import Registry
from dockyard.registry.uploads import upload_directory
from dockyard.storage import ObjectInfo

# How often `dockyard gc --wait` tries for the lease.
LEASE_RETRY_SECONDS = 0.05

log = logging.getLogger("dockyard.gc")

LEASE = "gc"
BATCH = 500  # blobs claimed, deleted and forgotten together (S3 deletes up to 1000 a call)
PARTIAL = ".partial"
# The repositories whose links, and the blobs whose marks, one transaction looks at: about
# 30 ms each on SQLite (the whole of 100,000 repositories' links in one statement took 0.3 s).
LINK_RANGE = 10_000
BLOB_RANGE = 10_000
WRITE_PAUSE = 0.1  # seconds between those transactions on SQLite (_let_others_write)


@dataclass(frozen=True, slots=True)
class Deletion:
    kind: str  # "manifest", "blob", "orphan", "partial", "upload"
    name: str  # repository@digest, digest or storage key
    size: int


@dataclass
class Report:
    dry_run: bool
    deleted: list[Deletion] = field(default_factory=list)
    aborted_uploads: int = 0
    unused_links: int = 0  # links of repositories to blobs none of their manifests use

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.deleted if item.kind != "manifest")

    def count(self, kind: str) -> int:
        return sum(1 for item in self.deleted if item.kind == kind)


class LeaseLost(Exception):
    """Another process holds the collection's lease (or took it over)."""


class Collector:
    def __init__(self, registry: Registry, settings: GcSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.database = registry.database
        self.driver = registry.driver
        # Scheduled runs once per interval across processes, `dockyard gc` alone.
        interval = timedelta(minutes=settings.interval_minutes)
        self.lease = Lease(self.database, LEASE, interval, self._lease())

    async def _renew(self) -> None:
        if not await self.lease.take(due_only=False):
            raise LeaseLost("another process took over the garbage collection's lease")

    # A run.

    async def run(self, dry_run: bool = False) -> Report:
        """One collection (the caller holds the lease unless `dry_run`)."""
        report = Report(dry_run)
        moment = metadata.now()
        if self.settings.untagged == "delete":
            await self._untagged_manifests(report, moment)
        cutoff = moment - self._grace()
        if dry_run:
            report.unused_links = await self.database.in_thread(
                queries.unused_links, moment, cutoff
            )
        else:
            await self._finish_stale_claims(moment)
            report.unused_links = await self._links(moment, cutoff)
            await self._mark_blobs(moment)
        await self._blobs(report, moment)
        await self._leftovers(report, moment)
        return report

    async def _links(self, moment: datetime, cutoff: datetime) -> int:
        """Mark the links no manifest of their repository uses, and delete those unused since
        `cutoff`: a range of repositories per transaction, each in a thread, so that neither
        the loop nor SQLite's one writer is held for long (docs/decisions/0020)."""
        deleted = 0
        last = await self.database.in_thread(queries.last_repository)
        for low in range(0, last, LINK_RANGE):
            if low:
                await self._let_others_write()
            high = low + LINK_RANGE
            await self.database.in_thread(queries.mark_unused_links, moment, low, high)
            deleted += await self.database.in_thread(queries.delete_unused_links, cutoff, low, high)
        return deleted

    async def _mark_blobs(self, moment: datetime) -> None:
        after = await self.database.in_thread(queries.mark_unreferenced, moment, "", BLOB_RANGE)
        while after is not None:
            await self._let_others_write()
            after = await self.database.in_thread(
                queries.mark_unreferenced, moment, after, BLOB_RANGE
            )

    async def _let_others_write(self) -> None:
        """SQLite has one writer, and one that asks again at once would keep the lock from a
        request waiting for it (whose wait polls at up to 100 ms intervals)."""
        if self.database.inline:
            await asyncio.sleep(WRITE_PAUSE)

    async def _untagged_manifests(self, report: Report, moment: datetime) -> None:
        cutoff = moment - timedelta(hours=self.settings.untagged_after_hours)
        keep_subjects = self.settings.keep_referred_subjects
        for repository, name in await self.database.in_thread(queries.repositories_with_untagged):
            graph = await self.database.in_thread(queries.manifest_graph, repository)
            for digest in _deletable(graph, cutoff, keep_subjects):
                if not report.dry_run:
                    deleted = await self.registry.cache.changed(
                        name,
                        self.database.run(
                            self._delete_manifest, repository, name, digest, cutoff, keep_subjects
                        ),
                    )
                    if not deleted:
                        continue
                report.deleted.append(Deletion("manifest", f"{name}@{digest}", 0))
        if not report.dry_run:
            self.registry.events.nudge()

    def _delete_manifest(
        self,
        connection: Connection,
        repository: int,
        name: str,
        digest: str,
        cutoff: datetime,
        keep_subjects: bool,
    ) -> bool:
        deleted = queries.delete_untagged_manifest(
            connection, repository, digest, cutoff, keep_subjects
        )
        if deleted:
            self.registry.events.record(connection, None, DELETE, Target(name, digest))
        return deleted

    async def _finish_stale_claims(self, moment: datetime) -> None:
        """Blobs a collector claimed and did not finish: it died (its lease ran out)."""
        stale = await self.database.in_thread(queries.stale_claims, moment - self._lease())
        for start in range(0, len(stale), BATCH):
            batch = stale[start : start + BATCH]
            await self.driver.delete_many([_key(row.digest) for row in batch])
            await self.database.in_thread(queries.forget_claimed, [row.digest for row in batch])

    async def _blobs(self, report: Report, moment: datetime) -> None:
        cutoff = moment - self._grace()
        after = ""
        while True:
            found = await self.database.in_thread(
                queries.collectable_blobs, moment, cutoff, after, BATCH, report.dry_run
            )
            if not found:
                return
            after = found[-1].digest
            if report.dry_run:
                report.deleted += [Deletion("blob", row.digest, row.size) for row in found]
                continue
            await self._renew()
            digests = [row.digest for row in found]
            claimed = await self.database.in_thread(queries.claim_blobs, digests, moment, cutoff)
            await self.delete_claimed(claimed)
            report.deleted += [Deletion("blob", row.digest, row.size) for row in claimed]

    async def delete_claimed(self, claimed: list[BlobRow]) -> None:
        if not claimed:
            return
        # Objects first, rows after: a row outlives its object only while claimed, and a
        # publish of the same digest waits for the row to go (metadata.pin_blob).
        await self.driver.delete_many([_key(row.digest) for row in claimed])
        await self.database.in_thread(queries.forget_claimed, [row.digest for row in claimed])

    async def _leftovers(self, report: Report, moment: datetime) -> None:
        cutoff = moment - self._grace()
        await self.upload_directories(report)
        orphans: list[BlobRow] = []
        async for info in self.driver.list_info("blobs"):
            if info.modified > cutoff:
                continue  # young: perhaps a write or a publish going on
            name = info.key.rsplit("/", 1)[-1]
            if name.endswith(PARTIAL):
                await self._delete_key(report, Deletion("partial", info.key, info.size))
                continue
            digest = digest_of(info)
            if digest is None:
                continue  # not Dockyard's: left alone
            orphans.append(BlobRow(digest, info.size))
            if len(orphans) == BATCH:
                await self._orphans(report, orphans, moment)
                orphans = []
        await self._orphans(report, orphans, moment)
        if not report.dry_run:
            age = timedelta(hours=self.settings.incomplete_uploads_after_hours)
            report.aborted_uploads = await self.driver.abort_incomplete_writes(age)

    async def _orphans(self, report: Report, found: list[BlobRow], moment: datetime) -> None:
        """Blob objects no row names (a finish killed between its object and its row)."""
        if not found:
            return
        known = await self.database.in_thread(queries.recorded, [row.digest for row in found])
        orphans = [row for row in found if row.digest not in known]
        if not orphans:
            return
        if not report.dry_run:
            await self._renew()
            claimed = set(await self.database.in_thread(queries.claim_orphans, orphans, moment))
            orphans = [row for row in orphans if row.digest in claimed]
            await self.delete_claimed(orphans)
        report.deleted += [Deletion("orphan", _key(row.digest), row.size) for row in orphans]

    async def upload_directories(self, report: Report) -> None:
        """Upload directories no session names: a session's row is written before any of its
        pieces, and never again once gone, so no grace is needed."""
        directories: dict[str, int] = {}
        async for info in self.driver.list_info("uploads"):
            parts = info.key.split("/")
            if len(parts) >= 3:
                directories[parts[1]] = directories.get(parts[1], 0) + info.size
        ids = sorted(directories)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            alive = await self.database.in_thread(queries.sessions, batch)
            for upload_id in batch:
                if upload_id not in alive:
                    deletion = Deletion(
                        "upload", upload_directory(upload_id), directories[upload_id]
                    )
                    await self._delete_key(report, deletion)

    async def _delete_key(self, report: Report, deletion: Deletion) -> None:
        if not report.dry_run:
            await self.driver.delete(deletion.name)
        report.deleted.append(deletion)

    def _grace(self) -> timedelta:
        return timedelta(minutes=self.settings.grace_minutes)

    def _lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)


def _deletable(graph: list[ManifestNode], cutoff: datetime, keep_subjects: bool) -> list[str]:
    """The manifests to delete, each before what it lists or refers to: all but those kept,
    which are the tagged and young ones, the children of kept indexes, the referrers of kept
    subjects and (with `keep_subjects`) the subjects of kept referrers."""
    nodes = {node.digest: node for node in graph}
    referrers: dict[str, list[str]] = {}
    for node in graph:
        if node.subject is not None:
            referrers.setdefault(node.subject, []).append(node.digest)
    kept = {n.digest for n in graph if n.tagged or _aware(n.created_at) >= cutoff}
    pending = list(kept)
    while pending:
        node = nodes[pending.pop()]
        related = [*node.children, *referrers.get(node.digest, [])]
        if keep_subjects and node.subject is not None:
            related.append(node.subject)
        for digest in related:
            if digest in nodes and digest not in kept:
                kept.add(digest)
                pending.append(digest)
    doomed = {digest for digest in nodes if digest not in kept}
    # Parents (indexes, referrers) first: a manifest goes once nothing doomed points at it.
    pointing: dict[str, int] = dict.fromkeys(doomed, 0)
    for digest in doomed:
        node = nodes[digest]
        for target in (*node.children, node.subject):
            if target in pointing:
                pointing[target] += 1
    ordered: list[str] = []
    ready = sorted(digest for digest, count in pointing.items() if count == 0)
    while ready:
        digest = ready.pop()
        ordered.append(digest)
        node = nodes[digest]
        for target in (*node.children, node.subject):
            if target in pointing:
                pointing[target] -= 1
                if pointing[target] == 0:
                    ready.append(target)
    return ordered


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(digest: str) -> str:
    return blob_key(Digest.parse(digest))


def digest_of(info: ObjectInfo) -> str | None:
    """The digest a blob object's key names (`blobs/<algorithm>/<2 hex>/<hex>`), if any."""
    parts = info.key.split("/")
    if len(parts) != 4 or parts[0] != "blobs" or parts[2] != parts[3][:2]:
        return None
    try:
        return str(Digest.parse(f"{parts[1]}:{parts[3]}"))
    except InvalidDigest:
        return None


async def collect(
    registry: Registry, settings: GcSettings, dry_run: bool, wait: float = 0.0
) -> Report:
    """One collection by hand: take the lease, run, release. LeaseLost when another process
    is collecting now, and still is after `wait` seconds; or took the lease over meanwhile."""
    collector = Collector(registry, settings)
    if dry_run:
        return await collector.run(dry_run=True)
    busy = LeaseLost("another process is collecting garbage now; try again later")
    deadline = time.monotonic() + wait
    while True:
        try:
            return await run_once(collector.lease, collector.run, busy)
        except LeaseLost as exc:
            if exc is not busy or time.monotonic() >= deadline:
                raise
        # Often: servers collecting back to back leave the lease free for a moment only.
        await asyncio.sleep(LEASE_RETRY_SECONDS)


async def collect_on_schedule(registry: Registry, settings: GcSettings) -> None:
    """Until cancelled: every process looks now and then, and the one that takes the lease
    runs a collection when the last one (anywhere) finished an interval ago."""
    collector = Collector(registry, settings)

    def done(report: Report) -> None:
        if report.deleted or report.aborted_uploads:
            log.info("garbage collection: %s", summary(report))
        _count_run("ok", report.bytes)

    def failed(exc: Exception) -> None:
        if isinstance(exc, LeaseLost):
            log.warning("garbage collection stopped: another process took over its lease")
            _count_run("lease lost", 0)
        else:  # the database or the store away, for instance: the next round tries again
            unavailable.log_failure(log, "garbage collection failed", exc)
            _count_run("error", 0)

    await on_schedule(collector.lease, collector.run, done, failed)


def _count_run(outcome: str, reclaimed: int) -> None:
    """The run in the metrics, when they are on (dockyard.metrics)."""
    if not switch.on:
        return
    from dockyard.metrics import families

    families.gc_runs.labels(outcome).inc()
    if reclaimed:
        families.gc_reclaimed_bytes.inc(reclaimed)


def summary(report: Report) -> str:
    verb = "would reclaim" if report.dry_run else "reclaimed"
    counts = ", ".join(
        f"{report.count(kind)} {label}"
        for kind, label in (
            ("manifest", "manifests"),
            ("blob", "blobs"),
            ("orphan", "orphaned objects"),
            ("partial", "partial files"),
            ("upload", "upload directories"),
        )
    )
    aborted = report.aborted_uploads
    multipart = f", {aborted} incomplete multipart uploads" if aborted else ""
    links = f"{report.unused_links} unused blob links"
    return f"{links}, {counts}{multipart}: {verb} {report.bytes} bytes"
