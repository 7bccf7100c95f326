"""The outbox's SQL, and only SQL: events, what each endpoint still has to receive, and each
endpoint's lease and back-off. Every function takes a connection inside a transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, exists, func, or_, select, update

from dockyard.db.tables import event_deliveries, event_endpoints, events
from dockyard.db.upserts import conflict_insert
from dockyard.registry.events.model import PULL, NewEvent


def insert_events(connection: Connection, items: Sequence[tuple[NewEvent, Sequence[str]]]) -> None:
    """Store each event with a delivery row for each endpoint named beside it."""
    wanted = [(event, receivers) for event, receivers in items if receivers]
    if not wanted:
        return
    rows = [
        {"uuid": e.uuid, "action": e.action, "created_at": e.created_at, "body": e.body}
        for e, _ in wanted
    ]
    ids = connection.execute(
        events.insert().returning(events.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    deliveries = [
        {"endpoint": name, "event_id": event_id, "attempts": 0}
        for event_id, (_, receivers) in zip(ids, wanted, strict=True)
        for name in receivers
    ]
    connection.execute(event_deliveries.insert(), deliveries)


def pending_about(connection: Connection, endpoint: str, repository: str) -> bool:
    """Whether `endpoint` has still to receive an event of a push, mount or delete in
    `repository` (read in the event's JSON, as written: pulls are left out)."""
    named = f'"repository":{json.dumps(repository)}'
    query = select(
        exists()
        .where(event_deliveries.c.endpoint == endpoint)
        .where(events.c.id == event_deliveries.c.event_id)
        .where(events.c.action != PULL)
        .where(events.c.body.contains(named, autoescape=True))
    )
    return bool(connection.execute(query).scalar())


def claim(
    connection: Connection, endpoint: str, owner: str, moment: datetime, until: datetime, limit: int
) -> list[tuple[int, str]] | None:
    """The endpoint's oldest pending events, in order, with its lease taken (or renewed) by
    `owner` until `until`; [] when nothing is pending; None when some are but another process
    holds the lease, or the endpoint is backing off."""
    pending = connection.execute(
        select(event_deliveries.c.event_id).where(event_deliveries.c.endpoint == endpoint).limit(1)
    ).first()
    if pending is None:
        return []
    _ensure_endpoint(connection, endpoint)
    c = event_endpoints.c
    leased = connection.execute(
        update(event_endpoints)
        .where(
            c.name == endpoint,
            or_(c.lease_owner.is_(None), c.lease_owner == owner, c.lease_until < moment),
            or_(c.next_attempt_at.is_(None), c.next_attempt_at <= moment),
        )
        .values(lease_owner=owner, lease_until=until)
    )
    if leased.rowcount == 0:
        return None
    rows = connection.execute(
        select(events.c.id, events.c.body)
        .join(event_deliveries, event_deliveries.c.event_id == events.c.id)
        .where(event_deliveries.c.endpoint == endpoint)
        .order_by(events.c.id)
        .limit(limit)
    )
    return [(int(event_id), body) for event_id, body in rows]


def release(connection: Connection, endpoint: str, owner: str) -> None:
    connection.execute(
        update(event_endpoints)
        .where(event_endpoints.c.name == endpoint, event_endpoints.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def delivered(
    connection: Connection, endpoint: str, owner: str, ids: Sequence[int], moment: datetime
) -> None:
    """The events reached the endpoint: forget them for it (and wholly, once no endpoint
    waits for them); the lease stays for the next batch."""
    connection.execute(
        update(event_endpoints)
        .where(event_endpoints.c.name == endpoint)
        .values(failures=0, next_attempt_at=None, last_success_at=moment)
    )
    connection.execute(
        delete(event_deliveries).where(
            event_deliveries.c.endpoint == endpoint, event_deliveries.c.event_id.in_(ids)
        )
    )
    _forget_delivered(connection, ids)


def failed(
    connection: Connection,
    endpoint: str,
    owner: str,
    ids: Sequence[int],
    error: str,
    moment: datetime,
    backoff: timedelta | None,
) -> int:
    """The batch did not reach the endpoint: count the attempt, note the error, wait `backoff`
    (None: retry at the next round) and give up the lease. The endpoint's failures in a row."""
    connection.execute(
        update(event_deliveries)
        .where(event_deliveries.c.endpoint == endpoint, event_deliveries.c.event_id.in_(ids))
        .values(attempts=event_deliveries.c.attempts + 1)
    )
    c = event_endpoints.c
    connection.execute(
        update(event_endpoints)
        .where(c.name == endpoint)
        .values(
            failures=c.failures + 1,
            last_error=error[:2000],
            last_failure_at=moment,
            next_attempt_at=None if backoff is None else moment + backoff,
        )
    )
    release(connection, endpoint, owner)
    failures = connection.execute(select(c.failures).where(c.name == endpoint)).scalar_one()
    return int(failures)


def failures_in_a_row(connection: Connection, endpoint: str) -> int:
    found = connection.execute(
        select(event_endpoints.c.failures).where(event_endpoints.c.name == endpoint)
    ).scalar_one_or_none()
    return int(found or 0)


def drop_older_than(connection: Connection, endpoint: str, before: datetime) -> int:
    """Drop the endpoint's undelivered events recorded before `before`; how many."""
    old = select(events.c.id).where(events.c.created_at < before).scalar_subquery()
    dropped = connection.execute(
        delete(event_deliveries).where(
            event_deliveries.c.endpoint == endpoint, event_deliveries.c.event_id.in_(old)
        )
    ).rowcount
    if dropped:
        _forget_orphans(connection)
    return int(dropped)


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    name: str
    backlog: int
    failed: int  # pending events whose delivery has failed at least once
    oldest: datetime | None
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None
    next_attempt_at: datetime | None


def statuses(connection: Connection) -> list[EndpointStatus]:
    """Every endpoint with a backlog or a recorded state, by name."""
    d = event_deliveries.c
    counts = {
        name: (int(backlog), int(failed_count or 0), oldest)
        for name, backlog, failed_count, oldest in connection.execute(
            select(
                d.endpoint,
                func.count(),
                func.sum(case((d.attempts > 0, 1), else_=0)),
                func.min(events.c.created_at),
            )
            .join(events, events.c.id == d.event_id)
            .group_by(d.endpoint)
        )
    }
    c = event_endpoints.c
    states = {
        row.name: row
        for row in connection.execute(
            select(c.name, c.last_error, c.last_failure_at, c.last_success_at, c.next_attempt_at)
        )
    }
    found = []
    for name in sorted(set(counts) | set(states)):
        backlog, failed_count, oldest = counts.get(name, (0, 0, None))
        state = states.get(name)
        found.append(
            EndpointStatus(
                name,
                backlog,
                failed_count,
                oldest,
                state.last_error if state else None,
                state.last_failure_at if state else None,
                state.last_success_at if state else None,
                state.next_attempt_at if state else None,
            )
        )
    return found


def retry_now(connection: Connection, endpoint: str) -> int:
    """End the endpoint's back-off: its failed events go at the next round. How many."""
    connection.execute(
        update(event_endpoints)
        .where(event_endpoints.c.name == endpoint)
        .values(failures=0, next_attempt_at=None)
    )
    return _count_failed(connection, endpoint)


def discard(connection: Connection, endpoint: str, everything: bool) -> int:
    """Forget the endpoint's failed events (`everything`: all its pending ones); how many."""
    d = event_deliveries.c
    statement = delete(event_deliveries).where(d.endpoint == endpoint)
    if not everything:
        statement = statement.where(d.attempts > 0)
    discarded = connection.execute(statement).rowcount
    connection.execute(
        update(event_endpoints)
        .where(event_endpoints.c.name == endpoint)
        .values(failures=0, next_attempt_at=None)
    )
    _forget_orphans(connection)
    return int(discarded)


def _count_failed(connection: Connection, endpoint: str) -> int:
    d = event_deliveries.c
    return int(
        connection.execute(
            select(func.count()).where(d.endpoint == endpoint, d.attempts > 0)
        ).scalar_one()
    )


def _forget_delivered(connection: Connection, ids: Sequence[int]) -> None:
    waiting = exists().where(event_deliveries.c.event_id == events.c.id)
    connection.execute(delete(events).where(events.c.id.in_(ids), ~waiting))


def _forget_orphans(connection: Connection) -> None:
    waiting = exists().where(event_deliveries.c.event_id == events.c.id)
    connection.execute(delete(events).where(~waiting))


def _ensure_endpoint(connection: Connection, endpoint: str) -> None:
    connection.execute(
        conflict_insert(connection, event_endpoints)
        .values(name=endpoint, failures=0)
        .on_conflict_do_nothing()
    )
