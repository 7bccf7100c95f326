"""The mirror rules at work: the manifest and blob reads that miss (or find a stale tag) for a
name a rule covers go upstream; writes to a read-only mirror are refused."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from dockyard import client
from dockyard.config import MirrorSettings
from dockyard.db.engine import Database
from dockyard.oci.digest import Digest
from dockyard.oci.manifest import InvalidManifest, UnsupportedManifest, parse_manifest
from dockyard.registry.blobs import BlobInfo, BlobStore
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import current_origin
from dockyard.registry.manifests import ManifestService, manifest_record
from dockyard.registry.metadata import ManifestRecord, now
from dockyard.registry.mirrors import leases, store
from dockyard.registry.mirrors.fetch import BlobFetch
from dockyard.registry.mirrors.leases import Claim
from dockyard.registry.mirrors.rules import MirrorRule, Upstream, rule_for
from dockyard.registry.mirrors.upstream import (
    BAD_GATEWAY,
    first_answer,
    open_client,
    translated,
)
from dockyard.registry.references import Reference
from dockyard.registry.uploads import UploadService

log = logging.getLogger("dockyard.registry.mirrors")

T = TypeVar("T")

MISSES = (ErrorCode.MANIFEST_UNKNOWN, ErrorCode.NAME_UNKNOWN)


class Mirrors:
    def __init__(
        self,
        settings: list[MirrorSettings],
        database: Database,
        manifests: ManifestService,
        blobs: BlobStore,
        uploads: UploadService,
        spool_dir: Path,
    ) -> None:
        self.rules = [MirrorRule.of(rule) for rule in settings]
        self.default = next((rule for rule in self.rules if rule.settings.default), None)
        self.database = database
        self.manifests = manifests
        self.blobs = blobs
        self.uploads = uploads
        self.spool_dir = spool_dir
        self._clients: dict[int, client.RegistryClient] = {}
        # When this process last found each (name, tag) current upstream; a tag not here is
        # checked before it is served (from a prefix rule) or is local (the default rule).
        self._checked: dict[tuple[str, str], float] = {}
        self._manifest_fetches: dict[tuple[str, str], asyncio.Task[ManifestRecord]] = {}
        # The one download of each blob in progress in this process, by digest; the cluster's
        # one is this process's when it holds the digest's lease (leases.py) as `owner`.
        self.fetches: dict[str, BlobFetch] = {}
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex}"
        self._claiming: dict[str, asyncio.Future[None]] = {}

    # --- what the handlers call ---------------------------------------------------------------

    def check_writable(self, name: str) -> None:
        rule = rule_for(self.rules, name)
        if rule is not None and not rule.settings.push:
            raise RegistryError(
                ErrorCode.DENIED, f"{name} is in a read-only {rule.label}: pull only"
            )

    async def get_manifest(self, name: str, reference: Reference) -> ManifestRecord:
        if not self.rules:
            return await self.manifests.get(name, reference)
        rule = rule_for(self.rules, name)
        try:
            local = await self.manifests.get(name, reference)
        except RegistryError as exc:
            rule = rule or self.default
            if rule is None or exc.code not in MISSES:
                raise
            return await self._fetch_manifest(rule, name, reference)
        tag = reference.tag
        if tag is None:
            return local  # content-addressed: never needs the upstream again
        if rule is None:
            rule = self.default if (name, tag) in self._checked else None
        if rule is None or self._fresh(rule, name, tag):
            return local
        return await self._revalidated(rule, name, tag, local)

    async def stat_blob(self, name: str, digest: Digest, method: str) -> BlobInfo | BlobFetch:
        """The local blob, or (GET of a blob a rule's upstream holds) its download, shared."""
        try:
            return await self.blobs.stat(name, digest)
        except RegistryError as exc:
            rule = rule_for(self.rules, name) or self.default
            if rule is None or exc.code != ErrorCode.BLOB_UNKNOWN:
                raise
        running = self.fetches.get(str(digest))
        if running is not None and running.name == name:
            return running
        size, source = await self._upstream_blob_size(rule, name, digest)
        linked = await self._link_stored(name, digest)
        if linked is not None:
            return linked
        if method == "HEAD":
            return BlobInfo(digest, size)
        return await self._fetch_once(rule, source, name, digest, size)

    def prepare(self) -> None:
        """Open every rule's client and its connection pools (TLS settings included) before the
        first pull: done on that pull's path, it cost the pull about 0.1 s in each process."""
        for rule in self.rules:
            opened = self._client(rule)
            for upstream in rule.upstreams:
                opened.transport.client(upstream.host)

    async def close(self) -> None:
        for fetch in list(self.fetches.values()):
            if fetch.task is not None:
                fetch.task.cancel()
        for opened in self._clients.values():
            await opened.aclose()
        self._clients.clear()

    # --- manifests ----------------------------------------------------------------------------

    def _fresh(self, rule: MirrorRule, name: str, tag: str) -> bool:
        checked = self._checked.get((name, tag))
        return checked is not None and time.monotonic() - checked < rule.settings.revalidate_seconds

    async def _revalidated(
        self, rule: MirrorRule, name: str, tag: str, local: ManifestRecord
    ) -> ManifestRecord:
        """The tag as the upstream has it now (HEAD: Docker Hub does not count it as a pull);
        the cached copy when the upstream cannot say."""
        try:
            found, _ = await self._upstream(rule, name, lambda repo: repo.head_manifest(tag))
        except client.RegistryError as exc:
            log.warning(
                "%s: serving %s:%s cached (%s), not checked against the upstream: %s",
                rule.label, name, tag, local.digest, exc,
            )  # fmt: skip
            return local
        if found is None or str(found.digest) == local.digest:
            if found is None:
                log.warning("%s: %s:%s is gone upstream; serving the cached copy", rule.label,
                            name, tag)  # fmt: skip
            self._checked[(name, tag)] = time.monotonic()
            return local
        try:
            return await self._fetch_manifest(rule, name, Reference.parse(tag))
        except RegistryError as exc:
            log.warning("%s: %s:%s moved upstream but could not be fetched (%s); serving the "
                        "cached copy", rule.label, name, tag, exc.message)  # fmt: skip
            return local

    async def _fetch_manifest(
        self, rule: MirrorRule, name: str, reference: Reference
    ) -> ManifestRecord:
        """One fetch per (name, reference) at a time in this process; the others wait for it."""
        key = (name, str(reference.tag or reference.digest))
        task = self._manifest_fetches.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch_and_store(rule, name, reference))
            self._manifest_fetches[key] = task
            task.add_done_callback(lambda _done: self._manifest_fetches.pop(key, None))
        return await asyncio.shield(task)

    async def _fetch_and_store(
        self, rule: MirrorRule, name: str, reference: Reference
    ) -> ManifestRecord:
        wanted = reference.tag or reference.digest
        assert wanted is not None
        try:
            fetched, _ = await self._upstream(rule, name, lambda repo: repo.manifest(wanted))
        except client.RegistryError as exc:
            raise translated(exc) from None
        body = fetched.body
        if len(body) > self.manifests.max_bytes:
            raise RegistryError(
                ErrorCode.UNAVAILABLE,
                f"upstream manifest {name}@{fetched.digest} is {len(body)} bytes, larger than "
                f"this registry's limit of {self.manifests.max_bytes}",
                status=BAD_GATEWAY,
            )
        try:
            manifest = parse_manifest(body, fetched.media_type)
        except (InvalidManifest, UnsupportedManifest) as exc:
            raise RegistryError(
                ErrorCode.UNAVAILABLE, f"upstream manifest {name}@{fetched.digest}: {exc}",
                status=BAD_GATEWAY,
            ) from None  # fmt: skip
        record = manifest_record(manifest, fetched.digest, body)
        stored = self.database.run(
            store.store_cached_manifest, name, manifest, record, reference.tag,
            self.manifests.events, current_origin(), self.manifests.quotas,
        )  # fmt: skip
        try:
            await self.manifests.cache.changed(name, stored)
        except RegistryError as exc:
            if not _over_byte_quota(exc):
                raise  # a repository more than the namespace may have: refused, as a push
            # As a blob over the quota: served, not kept (the next pull asks the upstream).
            log.warning("%s: serving %s@%s from upstream, not cached: %s", rule.label, name,
                        record.digest, exc.message)  # fmt: skip
            return record
        self.manifests.events.nudge()
        if reference.tag is not None:
            self._checked[(name, reference.tag)] = time.monotonic()
        log.info("%s: cached %s@%s from upstream", rule.label, name, record.digest)
        return record

    # --- blobs --------------------------------------------------------------------------------

    async def _upstream_blob_size(
        self, rule: MirrorRule, name: str, digest: Digest
    ) -> tuple[int, Upstream]:
        """The blob's size at the first upstream that answers, and that upstream (the one to
        download it from)."""
        try:
            size, source = await self._upstream(rule, name, lambda repo: repo.blob_exists(digest))
        except client.RegistryError as exc:
            raise translated(exc, blob=True) from None
        if size is None:
            raise RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(digest)})
        if size == 0 and digest != Digest.of(b"", digest.algorithm):
            # The client library reads a HEAD without Content-Length as 0 bytes; no other blob
            # has this size, and the mirror must know it before it answers.
            raise RegistryError(
                ErrorCode.UNAVAILABLE,
                f"upstream {source.url} gave no size for blob {digest} (HEAD without a"
                " Content-Length)",
                status=BAD_GATEWAY,
            )
        return size, source

    async def _link_stored(self, name: str, digest: Digest) -> BlobInfo | None:
        """A blob stored here already (for another repository) is linked, not downloaded."""
        link = self.database.run(
            store.link_cached_blob, name, str(digest), self.blobs.events, current_origin()
        )
        size = await self.blobs.cache.changed(name, link)
        return None if size is None else BlobInfo(digest, size)

    async def _fetch_once(
        self, rule: MirrorRule, source: Upstream, name: str, digest: Digest, size: int
    ) -> BlobInfo | BlobFetch:
        """This process's download of the blob (shared), when it wins the digest's lease; else
        the blob once another process's download stored it, or this process's own download
        when that one's lease lapsed or went. A wait longer than the holder's download may take
        at the rule's minimum rate is answered 503."""
        key = str(digest)
        deadline = time.monotonic() + _longest_wait(rule, size)
        found = Claim.CLAIMED  # first: try to claim
        waited = False
        while True:
            running = self.fetches.get(key)  # started while this one asked upstream or waited
            if running is not None:
                if running.name != name:
                    running.also_link.add(name)
                return running
            claiming = self._claiming.get(key)
            if claiming is not None:  # another request here is claiming: then share or wait
                await asyncio.shield(claiming)
                continue
            if found is Claim.CLAIMED:
                found = await self._claim(key)
                if found is Claim.CLAIMED:
                    return self._start_fetch(rule, source, name, digest, size)
            if found is Claim.STORED:
                linked = await self._link_stored(name, digest)
                if linked is not None:
                    if waited:
                        log.info("%s: %s for %s stored by another process: served from here",
                                 rule.label, digest, name)  # fmt: skip
                    return linked
            if found is Claim.HELD and not waited:
                waited = True
                log.info("%s: %s for %s is being fetched by another process: waiting for it",
                         rule.label, digest, name)  # fmt: skip
            if time.monotonic() > deadline:
                raise RegistryError(
                    ErrorCode.UNAVAILABLE,
                    f"blob {digest} is still being fetched by another process; try again",
                    status=503,
                )
            await asyncio.sleep(leases.POLL_SECONDS)
            found = await self.database.run(leases.look, key, now())

    async def _claim(self, key: str) -> Claim:
        """The digest's lease for this process; while the database answers, other requests
        here for the digest wait for this claim instead of making their own."""
        done = asyncio.get_running_loop().create_future()
        self._claiming[key] = done
        try:
            moment = now()
            lease = timedelta(seconds=leases.LEASE_SECONDS)
            return await self.database.run(leases.claim, key, self.owner, moment, moment + lease)
        finally:
            del self._claiming[key]
            done.set_result(None)

    def _start_fetch(
        self, rule: MirrorRule, source: Upstream, name: str, digest: Digest, size: int
    ) -> BlobFetch:
        """Download the blob under the lease this process holds: renewed while it runs, given
        back when it ends (stored or failed)."""
        key = str(digest)
        fetch = BlobFetch(name, digest, size, self.spool_dir)
        self.fetches[key] = fetch
        stream = self._blob_stream(rule, source, name, digest, size)

        async def link_others(names: set[str]) -> None:
            for other in names:
                await self._link_stored(other, digest)

        async def run() -> None:
            renewing = asyncio.ensure_future(self._renew(key))
            try:
                rate = rule.settings.min_bytes_per_second
                await fetch.run(self.uploads, stream, rate, link_others)
            finally:
                renewing.cancel()
                if self.fetches.get(key) is fetch:
                    del self.fetches[key]
                with contextlib.suppress(Exception):  # else it lapses
                    await self.database.run(leases.release, key, self.owner)

        fetch.task = asyncio.ensure_future(run())
        return fetch

    async def _renew(self, key: str) -> None:
        lease = timedelta(seconds=leases.LEASE_SECONDS)
        while True:
            await asyncio.sleep(leases.RENEW_SECONDS)
            try:
                held = await self.database.run(leases.renew, key, self.owner, now() + lease)
            except Exception as exc:  # the next try may work; else the lease lapses
                log.warning("could not renew the mirror lease of %s: %s", key, exc)
                continue
            if not held:
                log.warning("the mirror lease of %s lapsed and was taken over", key)
                return

    def _blob_stream(
        self, rule: MirrorRule, source: Upstream, name: str, digest: Digest, size: int
    ) -> AsyncIterator[bytes]:
        """The blob from `source`, the upstream that just answered its HEAD (counted busy
        while the download runs); the client library checks the size and resumes a cut with
        Range. The digest is verified once, by the upload session that stores the bytes:
        hashing them twice cost a cold pull of 250 MB about 0.15 s of CPU."""
        upstream_name = rule.upstream_name(name)
        assert upstream_name is not None  # the HEAD before went through the same mapping
        repository = self._client(rule).registry(source.host).repository(upstream_name)
        return _busy_while(source, repository.blob(digest, size, verify=False))

    async def _upstream(
        self, rule: MirrorRule, name: str, call: Callable[[client.Repository], Awaitable[T]]
    ) -> tuple[T, Upstream]:
        return await first_answer(rule, self._client(rule), name, call)

    def _client(self, rule: MirrorRule) -> client.RegistryClient:
        opened = self._clients.get(id(rule))
        if opened is None:
            opened = self._clients[id(rule)] = open_client(rule)
        return opened


def _over_byte_quota(error: RegistryError) -> bool:
    detail = error.detail
    return isinstance(detail, dict) and detail.get("quota") == "bytes"


def _longest_wait(rule: MirrorRule, size: int) -> float:
    """How long a download of `size` bytes may take before the rule's own guards end it (at
    its minimum rate, after the first MiB it does not count), with room to spare; without a
    minimum rate, a wait ends only with the holder's lease."""
    rate = rule.settings.min_bytes_per_second
    if rate == 0:
        return float("inf")
    return 2 * (rule.settings.timeout_seconds + size / rate) + leases.LEASE_SECONDS


async def _busy_while(upstream: Upstream, blocks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    upstream.in_flight += 1
    try:
        async with contextlib.aclosing(blocks):  # type: ignore[type-var]  # a generator
            async for block in blocks:
                yield block
    finally:
        upstream.in_flight -= 1
