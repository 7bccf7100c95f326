"""What replication has done, for `dockyard replication` and /api/replication: each rule with
its runs pending, done and failed and the bytes it moved, and the latest runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from dockyard.config import ReplicationSettings
from dockyard.registry.replication import repository


@dataclass(frozen=True, slots=True)
class RuleStatus:
    name: str
    direction: str  # push | pull | unknown (runs left by a rule configured no more)
    registry: str
    pending: int
    done: int
    failed: int
    bytes: int
    last_finished_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunStatus:
    id: int
    rule: str
    repository: str
    tag: str
    digest: str | None
    state: str
    attempts: int
    bytes: int
    blobs_sent: int
    blobs_skipped: int
    error: str | None
    created_at: str | None
    finished_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rules_status(connection: Connection, settings: ReplicationSettings) -> list[RuleStatus]:
    """Each configured rule, and any that left runs but is configured no more, by name."""
    summaries = repository.summaries(connection)
    configured = {rule.name: rule for rule in settings.rules}
    found = []
    for name in sorted(set(configured) | set(summaries)):
        rule, summary = configured.get(name), summaries.get(name)
        found.append(
            RuleStatus(
                name,
                rule.direction if rule else "unknown",
                rule.registry if rule else "",
                int(summary.pending) if summary else 0,
                int(summary.done) if summary else 0,
                int(summary.failed) if summary else 0,
                int(summary.bytes) if summary else 0,
                when(summary.last_finished_at) if summary else None,
            )
        )
    return found


def latest_runs(connection: Connection, rule: str | None, limit: int) -> list[RunStatus]:
    """Newest first."""
    return [_run_status(row) for row in repository.runs_of(connection, rule, limit)]


def _run_status(row: Any) -> RunStatus:
    return RunStatus(
        row.id, row.rule, row.repository, row.tag, row.digest, row.state, row.attempts,
        row.bytes, row.blobs_sent, row.blobs_skipped, row.error, when(row.created_at),
        when(row.finished_at),
    )  # fmt: skip


def when(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite gives back naive times, stored in UTC)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
