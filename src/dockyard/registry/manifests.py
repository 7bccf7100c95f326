"""Manifests and tags: the rules of PUT, GET, DELETE and referrers, above the SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from dockyard.config import QuotaSettings
from dockyard.db.engine import Database
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest
from dockyard.oci.manifest import (
    InvalidManifest,
    Manifest,
    UnsupportedManifest,
    parse_manifest,
)
from dockyard.registry import metadata
from dockyard.registry.cache import Codec, MetadataCache
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.events.model import DELETE, PUSH, Origin, Target, current_origin
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policies import guard
from dockyard.registry.references import Reference


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    subject: Digest | None


class ManifestService:
    def __init__(
        self,
        database: Database,
        max_bytes: int,
        cache: MetadataCache | None = None,
        events: EventLog | None = None,
        quotas: QuotaSettings | None = None,
    ) -> None:
        self.database = database
        self.max_bytes = max_bytes
        self.cache = cache or MetadataCache()
        self.events = events or EventLog.silent()
        # The configured default quotas; None: quotas are not checked (tests, tools).
        self.quotas = quotas

    async def get(self, name: str, reference: Reference) -> ManifestRecord:
        if reference.digest is not None:
            digest = str(reference.digest)
            record = await self.cache.read_through(
                name,
                f"manifest:{digest}",
                lambda: self.database.read(metadata.manifest_by_digest, name, digest),
                _RECORD,
            )
        else:
            tag = reference.tag
            assert tag is not None
            record = await self.cache.read_through(
                name,
                f"tag:{tag}",
                lambda: self.database.read(metadata.manifest_by_tag, name, tag),
                _RECORD,
            )
        if record is None:
            raise await self._unknown(name, reference)
        return record

    async def put(
        self, name: str, reference: Reference, body: bytes, content_type: str | None
    ) -> StoredManifest:
        if len(body) > self.max_bytes:
            raise RegistryError(
                ErrorCode.SIZE_INVALID,
                f"manifest is larger than the limit of {self.max_bytes} bytes",
                status=413,
            )
        try:
            manifest = parse_manifest(body, content_type)
        except UnsupportedManifest as exc:
            raise RegistryError(ErrorCode.UNSUPPORTED, str(exc)) from None
        except InvalidManifest as exc:
            raise RegistryError(ErrorCode.MANIFEST_INVALID, str(exc)) from None
        algorithm = reference.digest.algorithm if reference.digest else "sha256"
        digest = Digest.of(body, algorithm)
        if reference.digest is not None and reference.digest != digest:
            raise RegistryError(
                ErrorCode.DIGEST_INVALID,
                detail={"expected": str(reference.digest), "actual": str(digest)},
            )
        record = manifest_record(manifest, digest, body)
        store = self.database.run(
            _store,
            name,
            manifest,
            record,
            reference.tag,
            self.events,
            current_origin(),
            self.quotas,
        )
        if reference.tag is None:
            await store  # a new manifest by digest changes nothing that may be cached
        else:
            await self.cache.changed(name, store)
        self.events.nudge()
        return StoredManifest(digest, manifest.subject)

    async def delete(self, name: str, reference: Reference) -> None:
        origin = current_origin()
        if reference.digest is not None:
            digest = str(reference.digest)
            change = self.database.run(_delete_manifest, name, digest, self.events, origin)
        else:
            assert reference.tag is not None
            change = self.database.run(_delete_tag, name, reference.tag, self.events, origin)
        if not await self.cache.changed(name, change):
            raise await self._unknown(name, reference)
        self.events.nudge()

    async def referrers(
        self, name: str, subject: Digest, artifact_type: str | None, limit: int, after: str | None
    ) -> tuple[dict[str, Any], str | None]:
        """An OCI image index of up to `limit` manifests whose subject is `subject` (after the
        one named `after`), and the digest to continue after when more follow."""
        records = await self.database.run(
            metadata.referrers, name, str(subject), artifact_type, limit + 1, after
        )
        more = len(records) > limit
        records = records[:limit]
        index = {**self.empty_referrers(), "manifests": [_referrer_descriptor(r) for r in records]}
        return index, records[-1].digest if more else None

    def empty_referrers(self) -> dict[str, Any]:
        return {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": []}

    async def _unknown(self, name: str, reference: Reference) -> RegistryError:
        if await self.database.run(metadata.repository_id, name) is None:
            return RegistryError(ErrorCode.NAME_UNKNOWN, detail={"name": name})
        return RegistryError(
            ErrorCode.MANIFEST_UNKNOWN, detail={"reference": str(reference.tag or reference.digest)}
        )


def _store(
    connection: Connection,
    name: str,
    manifest: Manifest,
    record: ManifestRecord,
    tag: str | None,
    events: EventLog,
    origin: Origin | None,
    quotas: QuotaSettings | None = None,
) -> None:
    """Store, tag and record the push event in one transaction; raising rolls it back, so
    nothing half-stored stays and no event reports it."""
    guard.before_manifest(connection, name, tag, record.digest, record.size, quotas)
    repository = metadata.ensure_repository(connection, name)
    missing = metadata.unlinked_blobs(connection, repository, (str(d) for d in manifest.blobs))
    missing += metadata.missing_manifests(
        connection, repository, [str(d) for d in manifest.children]
    )
    if missing:
        raise RegistryError(ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"missing": missing})
    store_and_record(connection, repository, name, manifest, record, tag, events, origin)


def store_and_record(
    connection: Connection,
    repository: int,
    name: str,
    manifest: Manifest,
    record: ManifestRecord,
    tag: str | None,
    events: EventLog,
    origin: Origin | None,
) -> None:
    """The manifest, what it references (for the collector), its tag and the push event, once
    the caller's checks passed (a push's, or none for a mirror's cache)."""
    metadata.store_manifest(connection, repository, record)
    metadata.store_references(
        connection,
        repository,
        record.digest,
        [str(d) for d in manifest.blobs],
        [str(d) for d in manifest.children],
    )
    if tag is not None:
        metadata.set_tag(connection, repository, tag, record.digest)
    target = Target(name, record.digest, record.media_type, record.size, tag)
    events.record(connection, origin, PUSH, target)


def manifest_record(manifest: Manifest, digest: Digest, body: bytes) -> ManifestRecord:
    return ManifestRecord(
        digest=str(digest),
        media_type=manifest.media_type,
        artifact_type=manifest.artifact_type,
        subject=str(manifest.subject) if manifest.subject else None,
        size=len(body),
        body=body,
    )


def _delete_manifest(
    connection: Connection, name: str, digest: str, events: EventLog, origin: Origin | None
) -> bool:
    guard.before_manifest_delete(connection, name, digest)
    deleted = metadata.delete_manifest(connection, name, digest)
    if deleted:
        events.record(connection, origin, DELETE, Target(name, digest))
    return deleted


def _delete_tag(
    connection: Connection, name: str, tag: str, events: EventLog, origin: Origin | None
) -> bool:
    guard.before_tag_delete(connection, name, tag)
    deleted = metadata.delete_tag(connection, name, tag)
    if deleted:
        events.record(connection, origin, DELETE, Target(name, tag=tag))
    return deleted


def _encode_record(record: ManifestRecord) -> bytes:
    header = [record.digest, record.media_type, record.artifact_type, record.subject, record.size]
    # JSON escapes newlines, so the first one ends the header and the body follows, unchanged.
    return json.dumps(header).encode() + b"\n" + record.body


def _decode_record(data: bytes) -> ManifestRecord:
    header, body = data.split(b"\n", 1)
    digest, media_type, artifact_type, subject, size = json.loads(header)
    return ManifestRecord(digest, media_type, artifact_type, subject, size, body)


_RECORD = Codec(_encode_record, _decode_record)


def _referrer_descriptor(record: ManifestRecord) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "mediaType": record.media_type,
        "digest": record.digest,
        "size": record.size,
    }
    if record.artifact_type:
        descriptor["artifactType"] = record.artifact_type
    annotations = json.loads(record.body).get("annotations")
    if annotations:
        descriptor["annotations"] = annotations
    return descriptor
