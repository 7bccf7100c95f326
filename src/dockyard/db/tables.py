"""The registry's tables. Changing them means a new Alembic revision in migrations/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

DIGEST = String(200)  # sha512 digests are 135 characters

repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Changed with the list of its tag names (migration 0024, dockyard.registry.tag_lists).
    Column("tags_version", Integer, nullable=False, server_default="0"),
)

# Verified blobs, stored once whatever number of repositories link them.
blobs = Table(
    "blobs",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # When a collector first found no link, reference or pin on it (cleared by the next one);
    # the grace period counts from here (docs/decisions/0020-online-garbage-collection.md).
    Column("unreferenced_since", DateTime(timezone=True)),
    # Set when a collector claimed the blob: its object is being deleted, then the row goes.
    Column("deleting_since", DateTime(timezone=True)),
)

# Which blobs a repository may serve and mount: the guard of GET /v2/<name>/blobs/<digest>.
repository_blobs = Table(
    "repository_blobs",
    metadata,
    Column("repository_id", Integer, ForeignKey("repositories.id"), primary_key=True),
    Column("digest", DIGEST, ForeignKey("blobs.digest"), primary_key=True),
    # When a collector first found no manifest of the repository referencing the blob (cleared
    # by a manifest put that does, or a new link): such a link goes after the grace period.
    Column("unreferenced_since", DateTime(timezone=True)),
    Index("ix_repository_blobs_digest", "digest"),
)

manifests = Table(
    "manifests",
    metadata,
    Column("repository_id", Integer, ForeignKey("repositories.id"), primary_key=True),
    Column("digest", DIGEST, primary_key=True),
    Column("media_type", String(255), nullable=False),
    Column("artifact_type", String(255)),
    Column("subject", DIGEST),
    Column("size", BigInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_manifests_subject", "repository_id", "subject"),
)

# What each manifest references: its config and layers (kind "blob") and an index's child
# manifests (kind "manifest"); a subject is the manifest's own column.
manifest_references = Table(
    "manifest_references",
    metadata,
    Column("repository_id", Integer, ForeignKey("repositories.id"), primary_key=True),
    Column("digest", DIGEST, primary_key=True),
    Column("reference", DIGEST, primary_key=True),
    Column("kind", String(8), nullable=False),
    # "Is this digest referenced (by a manifest of this repository)?" (migration 0023).
    Index("ix_manifest_references_reference", "reference", "repository_id"),
)

tags = Table(
    "tags",
    metadata,
    Column("repository_id", Integer, ForeignKey("repositories.id"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("digest", DIGEST, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The last GET or HEAD by this tag (retention's "pulled within"), written in batches.
    Column("last_pulled_at", DateTime(timezone=True)),
    Index("ix_tags_digest", "repository_id", "digest"),
)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("repository_id", Integer, ForeignKey("repositories.id"), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The running SHA-256 state after `size` bytes (OpenSSL's SHA256_CTX), when available.
    Column("hash_state", LargeBinary),
    # The digest the session is publishing, from the moment its finish pinned the blob until
    # the session ends: no collector deletes a pinned blob.
    Column("digest", DIGEST),
    Index("ix_uploads_digest", "digest"),
)

# The storage objects that hold an upload's bytes, in order. Only pieces recorded here are
# part of the upload: a request that wrote pieces and then lost the race to record them
# leaves nothing that the blob could be made of.
upload_pieces = Table(
    "upload_pieces",
    metadata,
    Column("upload_id", String(36), ForeignKey("uploads.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("storage_key", String(512), nullable=False),
    Column("size", BigInteger, nullable=False),
)

# Registry events (registry/events/): the outbox, written in the transaction of the change.
EVENT_ID = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", EVENT_ID, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False),  # the event's id on the wire
    Column("action", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),  # the event as sent, JSON
    Index("ix_events_created_at", "created_at"),  # events past an endpoint's maxage
)

# What each endpoint has still to receive; delivered rows are deleted.
event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("endpoint", String(255), primary_key=True),
    Column("event_id", EVENT_ID, ForeignKey("events.id"), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Index("ix_event_deliveries_event_id", "event_id"),
)

# Per endpoint: who delivers now (a lease), its back-off and its last failure.
event_endpoints = Table(
    "event_endpoints",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("failures", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
)

# Periodic work that one process at a time does (garbage collection): who holds it, until when.
maintenance_leases = Table(
    "maintenance_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(64)),
    Column("until", DateTime(timezone=True)),
    Column("last_finished_at", DateTime(timezone=True)),
)

# A mirror's download of a blob, one per digest in the cluster (registry/mirrors/leases.py):
# the process that holds it, until when (renewed while the download runs).
mirror_fetches = Table(
    "mirror_fetches",
    metadata,
    Column("digest", DIGEST, primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
)

# Storage policies (registry/policies/). A rule's `repository` is the full repository name, or
# '' for every repository of the namespace.
namespace_quotas = Table(
    "namespace_quotas",
    metadata,
    Column("namespace", String(255), primary_key=True),
    # NULL: the configuration's default (registry.quotas.*).
    Column("max_bytes", BigInteger),
    Column("max_repositories", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

immutable_tags = Table(
    "immutable_tags",
    metadata,
    Column("namespace", String(255), primary_key=True),
    Column("repository", String(255), primary_key=True),
    Column("pattern", String(128), primary_key=True),
)

retention_policies = Table(
    "retention_policies",
    metadata,
    Column("namespace", String(255), primary_key=True),
    Column("repository", String(255), primary_key=True),
    Column("keep_last", Integer),
    Column("keep_days", Float),
    Column("match", String(128), nullable=False),
    Column("protect", Text, nullable=False),  # a JSON list of patterns
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Counters of rate limits kept in the database (dockyard.ratelimits.sql_storage): failed
# logins, counted once across workers and nodes. `expires_at` is Unix time.
rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_rate_counters_expires_at", "expires_at"),
)
