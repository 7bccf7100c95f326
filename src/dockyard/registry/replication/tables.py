"""Replication's tables, on the registry's MetaData (migration 0021 creates them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dockyard.db.tables import metadata

WHEN = DateTime(timezone=True)

# One copy of one tag (a run): queued from a push event or a scheduled comparison, leased
# while it runs (like a webhook delivery), kept with its outcome and the bytes it moved.
replication_runs = Table(
    "replication_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    # What queued it, once per rule: the push event's id, or the source's tag and digest.
    Column("cause", String(400), nullable=False),
    Column("repository", String(255), nullable=False),
    Column("tag", String(128), nullable=False),
    Column("digest", String(100)),  # the source's, once known
    Column("state", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", WHEN, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", WHEN),
    Column("bytes", BigInteger, nullable=False, server_default="0"),
    Column("blobs_sent", Integer, nullable=False, server_default="0"),
    Column("blobs_skipped", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("created_at", WHEN, nullable=False),
    Column("finished_at", WHEN),
    UniqueConstraint("rule", "cause", name="uq_replication_runs_cause"),
    Index("ix_replication_runs_due", "state", "next_attempt_at"),
    Index("ix_replication_runs_rule", "rule", "id"),
)

# When each pull rule next compares the other registry's tags with this one's: one process
# takes the comparison by moving this time forward.
replication_schedules = Table(
    "replication_schedules",
    metadata,
    Column("rule", String(64), primary_key=True),
    Column("next_at", WHEN, nullable=False),
)
