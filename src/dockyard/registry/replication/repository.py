"""Replication's SQL, and only SQL: the runs (a queue with a lease per row, as webhook
deliveries) and the pull rules' schedules. Every function takes a connection inside a
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, delete, func, or_, select, update

from dockyard.db.upserts import conflict_insert
from dockyard.registry.replication.tables import replication_runs, replication_schedules

PENDING, DONE, FAILED = "pending", "done", "failed"
runs = replication_runs.c


def queue(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Queue runs; one already queued by the same rule for the same cause is left as it is
    (events come at least once, and several processes compare on a schedule)."""
    if not rows:
        return 0
    statement = conflict_insert(connection, replication_runs).on_conflict_do_nothing(
        index_elements=["rule", "cause"]
    )
    return connection.execute(statement, list(rows)).rowcount


def _free(moment: datetime) -> Any:
    return or_(runs.lease_owner.is_(None), runs.lease_until < moment)


def due(connection: Connection, moment: datetime, limit: int) -> list[int]:
    """Pending runs whose next attempt is due and that no one holds, oldest first."""
    query = (
        select(runs.id)
        .where(runs.state == PENDING, runs.next_attempt_at <= moment, _free(moment))
        .order_by(runs.next_attempt_at, runs.id)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


@dataclass(frozen=True, slots=True)
class Claimed:
    """A run this process holds the lease of."""

    id: int
    rule: str
    repository: str
    tag: str
    attempts: int  # made before this one


def claim(
    connection: Connection, run_id: int, owner: str, moment: datetime, until: datetime
) -> Claimed | None:
    """Take the run's lease with one conditional UPDATE: of two processes, one changes it."""
    taken = connection.execute(
        update(replication_runs)
        .where(
            runs.id == run_id,
            runs.state == PENDING,
            runs.next_attempt_at <= moment,
            _free(moment),
        )
        .values(lease_owner=owner, lease_until=until)
    )
    if taken.rowcount != 1:
        return None
    query = select(runs.id, runs.rule, runs.repository, runs.tag, runs.attempts)
    return Claimed(*connection.execute(query.where(runs.id == run_id)).one())


def renew(connection: Connection, run_id: int, owner: str, until: datetime) -> bool:
    """Keep the lease of a run still going; False when another process took it meanwhile."""
    changed = connection.execute(
        update(replication_runs)
        .where(runs.id == run_id, runs.lease_owner == owner)
        .values(lease_until=until)
    )
    return changed.rowcount == 1


def settle(connection: Connection, run_id: int, owner: str, values: dict[str, Any]) -> bool:
    """Write an attempt's outcome, if `owner` still holds the run; lets go of it."""
    changed = connection.execute(
        update(replication_runs)
        .where(runs.id == run_id, runs.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, attempts=runs.attempts + 1, **values)
    )
    return changed.rowcount == 1


def take_schedule(connection: Connection, rule: str, moment: datetime, next_at: datetime) -> bool:
    """Whether this process compares the rule's tags now (its time came, and no other
    process moved it on first); the next comparison is then at `next_at`."""
    connection.execute(
        conflict_insert(connection, replication_schedules)
        .values(rule=rule, next_at=moment)
        .on_conflict_do_nothing(index_elements=["rule"])
    )
    moved = connection.execute(
        update(replication_schedules)
        .where(replication_schedules.c.rule == rule, replication_schedules.c.next_at <= moment)
        .values(next_at=next_at)
    )
    return moved.rowcount == 1


def runs_of(connection: Connection, rule: str | None, limit: int) -> list[Row[Any]]:
    """The latest runs (of one rule, or of all), newest first."""
    query = select(replication_runs).order_by(runs.id.desc()).limit(limit)
    if rule is not None:
        query = query.where(runs.rule == rule)
    return list(connection.execute(query))


def summaries(connection: Connection) -> dict[str, Any]:
    """By rule: runs pending, done and failed, the bytes moved, the latest run's end."""
    query = select(
        runs.rule,
        func.sum(case((runs.state == PENDING, 1), else_=0)).label("pending"),
        func.sum(case((runs.state == DONE, 1), else_=0)).label("done"),
        func.sum(case((runs.state == FAILED, 1), else_=0)).label("failed"),
        func.coalesce(func.sum(runs.bytes), 0).label("bytes"),
        func.max(runs.finished_at).label("last_finished_at"),
    ).group_by(runs.rule)
    return {str(row.rule): row for row in connection.execute(query)}


def forget_finished(connection: Connection, before: datetime) -> int:
    """Drop the runs done or failed before `before`; how many."""
    finished = runs.state.in_([DONE, FAILED])
    gone = connection.execute(delete(replication_runs).where(finished, runs.finished_at < before))
    return gone.rowcount
