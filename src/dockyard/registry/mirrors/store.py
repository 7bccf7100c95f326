"""What a mirror keeps, in one transaction each: a fetched manifest (with its tag and the push
event the catalogue reads), and a link of a stored blob into a mirror repository."""

from __future__ import annotations

from sqlalchemy import Connection

from dockyard.config import QuotaSettings
from dockyard.oci.manifest import Manifest
from dockyard.registry import metadata
from dockyard.registry.events.model import BLOB_MEDIA_TYPE, PUSH, Origin, Target
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.manifests import store_and_record
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policies import guard


def store_cached_manifest(
    connection: Connection,
    name: str,
    manifest: Manifest,
    record: ManifestRecord,
    tag: str | None,
    events: EventLog,
    origin: Origin | None,
    quotas: QuotaSettings | None,
) -> None:
    """As a push stores a manifest, without the check that its blobs are here: a cache fetches
    them when they are asked for. The tag follows the upstream, whatever immutable tags say;
    the namespace's quotas hold as for a push (`quotas`: the configured defaults; None, not
    checked)."""
    if quotas is not None:
        guard.within_quotas(connection, name, record.digest, record.size, quotas)
    repository = metadata.ensure_repository(connection, name)
    store_and_record(connection, repository, name, manifest, record, tag, events, origin)


def link_cached_blob(
    connection: Connection, name: str, digest: str, events: EventLog, origin: Origin | None
) -> int | None:
    """Let a mirror repository see a blob stored here already; its size, or None when the blob
    is not stored (or a collector has claimed it)."""
    if not metadata.touch_blob(connection, digest):
        return None
    size = metadata.blob_size(connection, digest)
    if size is None:
        return None
    metadata.link_blob(connection, metadata.ensure_repository(connection, name), digest)
    events.record(
        connection, origin, PUSH, Target(name, digest, BLOB_MEDIA_TYPE, size, kind="blobs")
    )
    return size
