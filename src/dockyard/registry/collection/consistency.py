"""`dockyard fsck`: every blob's bytes match its digest, every referenced blob and child
manifest exists, every row has its object and every object its row. Repair removes only what
nothing uses (through the collector's claims, so a push going on meanwhile is safe) and never
what a manifest or a repository needs: those problems are reported, with who they affect."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from dockyard.config import GcSettings
from dockyard.oci.digest import Digest, new_hasher
from dockyard.registry import metadata
from dockyard.registry.blobs import blob_key
from dockyard.registry.collection import queries
from dockyard.registry.collection.collector import (
    BATCH,
    PARTIAL,
    Collector,
    Deletion,
    Report,
    digest_of,
)
from dockyard.registry.collection.queries import BlobRow
from dockyard.registry.state import Registry


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # "corrupt", "missing-object", "missing-blob", "missing-manifest", "stray-..."
    subject: str  # the digest or storage key
    detail: str
    affects: tuple[str, ...] = ()
    repaired: bool = False

    def line(self) -> str:
        users = f"; affects {', '.join(self.affects)}" if self.affects else ""
        fixed = " [repaired]" if self.repaired else ""
        return f"{self.kind} {self.subject}: {self.detail}{users}{fixed}"


@dataclass
class Findings:
    checked_blobs: int = 0
    checked_objects: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def unrepaired(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.repaired]


class ConsistencyCheck:
    def __init__(self, registry: Registry, settings: GcSettings, repair: bool) -> None:
        self.registry = registry
        self.database = registry.database
        self.driver = registry.driver
        self.settings = settings
        self.repair = repair
        self.collector = Collector(registry, settings)

    async def run(self) -> Findings:
        findings = Findings()
        await self._rows(findings)
        for repository, manifest, kind, reference in await self.database.run(
            queries.dangling_references
        ):
            what = "blob" if kind == "blob" else "manifest"
            findings.problems.append(
                Problem(
                    f"missing-{what}",
                    reference,
                    "referenced, not stored",
                    (f"{repository}@{manifest}",),
                )
            )
        await self._objects(findings)
        return findings

    async def _rows(self, findings: Findings) -> None:
        """Each blob row: its object there, its bytes hashing to its digest."""
        after = ""
        while rows := await self.database.run(queries.recorded_blobs, after, BATCH):
            after = rows[-1].digest
            for row in rows:
                if row.deleting:
                    continue  # a collector is deleting it
                findings.checked_blobs += 1
                problem = await self._verify(row)
                if problem is None:
                    continue
                if row.pinned and problem.kind == "missing-object":
                    continue  # a publish going on: its object comes next
                users = tuple(await self.database.run(queries.users_of_blob, row.digest))
                repaired = False
                if self.repair and row.garbage:
                    repaired = await self._forget_garbage(row)
                findings.problems.append(
                    Problem(problem.kind, row.digest, problem.detail, users, repaired)
                )

    async def _verify(self, row: queries.RecordedBlob) -> Problem | None:
        digest = Digest.parse(row.digest)
        key = blob_key(digest)
        size = await self.driver.size(key)
        if size is None:
            return Problem("missing-object", row.digest, f"no object at {key}")
        if size != row.size:
            return Problem("corrupt", row.digest, f"{size} bytes stored, {row.size} recorded")
        hasher = new_hasher(digest.algorithm)
        async for chunk in self.driver.read(key):
            await asyncio.to_thread(hasher.update, chunk)
        actual = hasher.hexdigest()
        if actual != digest.hex:
            return Problem("corrupt", row.digest, f"bytes hash to {digest.algorithm}:{actual}")
        return None

    async def _forget_garbage(self, row: queries.RecordedBlob) -> bool:
        """A broken blob nothing uses goes as the collector would take it, grace aside."""
        moment = metadata.now()
        claimed = await self.database.run(queries.claim_blobs, [row.digest], moment, moment)
        await self.collector.delete_claimed(claimed)
        return bool(claimed)

    async def _objects(self, findings: Findings) -> None:
        """Each stored object: a row for each blob object, a session for each upload's."""
        cutoff = metadata.now() - timedelta(minutes=self.settings.grace_minutes)
        stray: list[BlobRow] = []
        async for info in self.driver.list_info("blobs"):
            findings.checked_objects += 1
            if info.key.endswith(PARTIAL):
                if info.modified <= cutoff:
                    await self._stray(findings, Deletion("partial", info.key, info.size))
                continue
            digest = digest_of(info)
            if digest is None:
                findings.problems.append(Problem("stray-object", info.key, "not a blob's key"))
                continue
            stray.append(BlobRow(digest, info.size))
            if len(stray) == BATCH:
                await self._stray_blobs(findings, stray)
                stray = []
        await self._stray_blobs(findings, stray)
        report = Report(dry_run=not self.repair)
        await self.collector.upload_directories(report)
        for deletion in report.deleted:
            findings.problems.append(
                Problem("stray-upload", deletion.name, "no upload session", (), self.repair)
            )

    async def _stray_blobs(self, findings: Findings, found: list[BlobRow]) -> None:
        if not found:
            return
        known = await self.database.run(queries.recorded, [row.digest for row in found])
        orphans = [row for row in found if row.digest not in known]
        claimed: set[str] = set()
        if self.repair and orphans:
            moment = metadata.now()
            claimed = set(await self.database.run(queries.claim_orphans, orphans, moment))
            await self.collector.delete_claimed([r for r in orphans if r.digest in claimed])
        for row in orphans:
            key = blob_key(Digest.parse(row.digest))
            findings.problems.append(
                Problem("stray-object", key, "no blob row names it", (), row.digest in claimed)
            )

    async def _stray(self, findings: Findings, deletion: Deletion) -> None:
        if self.repair:
            await self.driver.delete(deletion.name)
        findings.problems.append(
            Problem("stray-partial", deletion.name, "an interrupted write", (), self.repair)
        )
