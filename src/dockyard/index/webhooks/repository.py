"""The webhooks' SQL, and only SQL: hooks, deliveries (the queue, with a lease per row) and
attempts. Every function takes a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dockyard.index.tables import organisations, repository_settings
from dockyard.index.webhooks.tables import webhook_attempts, webhook_deliveries, webhooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
AnyRow = Row[Any]
hooks, deliveries, attempts = webhooks.c, webhook_deliveries.c, webhook_attempts.c


def insert_hook(connection: Connection, values: dict[str, Any]) -> int:
    found: int = connection.execute(insert(webhooks).returning(hooks.id), values).scalar_one()
    return found


def hook_count(connection: Connection, owner: Owner) -> int:
    found: int = connection.execute(
        select(func.count()).select_from(webhooks).where(owner.condition())
    ).scalar_one()
    return found


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose hooks: a repository's (its settings id) or an organisation's (exactly one)."""

    repository_id: int | None = None
    organisation_id: int | None = None

    def condition(self) -> Any:
        if self.repository_id is not None:
            return hooks.repository_id == self.repository_id
        return hooks.organisation_id == self.organisation_id


def hooks_of(connection: Connection, owner: Owner, offset: int, limit: int) -> list[AnyRow]:
    query = select(webhooks).where(owner.condition()).order_by(hooks.id).offset(offset).limit(limit)
    return list(connection.execute(query))


def hook(connection: Connection, hook_id: int, owner: Owner) -> AnyRow | None:
    """The hook, if it is one of that owner's."""
    return connection.execute(
        select(webhooks).where(hooks.id == hook_id, owner.condition())
    ).first()


def update_hook(connection: Connection, hook_id: int, values: dict[str, Any]) -> None:
    connection.execute(update(webhooks).where(hooks.id == hook_id).values(**values))


def delete_hook(connection: Connection, hook_id: int) -> None:
    """With its deliveries and their attempts (not left to ON DELETE: explicit on SQLite too)."""
    ids = select(deliveries.id).where(deliveries.hook_id == hook_id).scalar_subquery()
    connection.execute(delete(webhook_attempts).where(attempts.delivery_id.in_(ids)))
    connection.execute(delete(webhook_deliveries).where(deliveries.hook_id == hook_id))
    connection.execute(delete(webhooks).where(hooks.id == hook_id))


def active_hooks(
    connection: Connection, repository_id: int | None, organisation_id: int | None
) -> list[AnyRow]:
    """The active hooks of the repository and of its namespace's organisation."""
    owners = []
    if repository_id is not None:
        owners.append(hooks.repository_id == repository_id)
    if organisation_id is not None:
        owners.append(hooks.organisation_id == organisation_id)
    if not owners:
        return []
    query = select(webhooks).where(hooks.active.is_(True), or_(*owners)).order_by(hooks.id)
    return list(connection.execute(query))


def queue(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert deliveries; one already queued for the same hook and event is left as it is."""
    if not rows:
        return 0
    dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
    statement = dialect.insert(webhook_deliveries).on_conflict_do_nothing(
        index_elements=["hook_id", "event_uuid"]
    )
    return connection.execute(statement, list(rows)).rowcount


def deliveries_of(connection: Connection, hook_id: int, offset: int, limit: int) -> list[AnyRow]:
    """Newest first."""
    query = (
        select(webhook_deliveries)
        .where(deliveries.hook_id == hook_id)
        .order_by(deliveries.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(connection.execute(query))


def attempts_of(connection: Connection, delivery_ids: Sequence[int]) -> dict[int, list[AnyRow]]:
    found: dict[int, list[AnyRow]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        query = (
            select(webhook_attempts)
            .where(attempts.delivery_id.in_(list(delivery_ids)))
            .order_by(attempts.id)
        )
        for row in connection.execute(query):
            found[row.delivery_id].append(row)
    return found


def delivery(connection: Connection, delivery_id: int, hook_id: int) -> AnyRow | None:
    query = select(webhook_deliveries).where(
        deliveries.id == delivery_id, deliveries.hook_id == hook_id
    )
    return connection.execute(query).first()


def restart(connection: Connection, delivery_id: int, moment: datetime) -> bool:
    """A new series of attempts for a delivery that is not pending; False when it is."""
    changed = connection.execute(
        update(webhook_deliveries)
        .where(deliveries.id == delivery_id, deliveries.state != PENDING)
        .values(
            state=PENDING, attempts=0, next_attempt_at=moment, lease_owner=None, lease_until=None
        )
    )
    return changed.rowcount == 1


def queues(connection: Connection, offset: int, limit: int) -> list[AnyRow]:
    """Hooks with deliveries waiting or failed, or switched off: the most waiting first, each
    with its owner's name, its counts and its oldest waiting delivery."""
    waiting = deliveries.state == PENDING
    counts = (
        select(
            deliveries.hook_id,
            func.sum(case((waiting, 1), else_=0)).label("pending"),
            func.sum(case((deliveries.state == FAILED, 1), else_=0)).label("failed"),
            func.min(case((waiting, deliveries.created_at), else_=None)).label("oldest"),
        )
        .where(deliveries.state != DELIVERED)
        .group_by(deliveries.hook_id)
        .subquery()
    )
    pending = func.coalesce(counts.c.pending, 0)
    query = (
        select(
            hooks.id,
            hooks.url,
            hooks.active,
            hooks.disabled_reason,
            hooks.failures_in_a_row,
            func.coalesce(repository_settings.c.name, organisations.c.name).label("owner"),
            (repository_settings.c.name.is_not(None)).label("of_repository"),
            pending.label("pending"),
            func.coalesce(counts.c.failed, 0).label("failed"),
            counts.c.oldest,
        )
        .select_from(webhooks)
        .outerjoin(counts, counts.c.hook_id == hooks.id)
        .outerjoin(repository_settings, repository_settings.c.id == hooks.repository_id)
        .outerjoin(organisations, organisations.c.id == hooks.organisation_id)
        .where(or_(counts.c.hook_id.is_not(None), hooks.active.is_(False)))
        .order_by(pending.desc(), hooks.id)
        .offset(offset)
        .limit(limit)
    )
    return list(connection.execute(query))


def last_failures(connection: Connection, hook_ids: Sequence[int]) -> dict[int, Any]:
    """Each hook's latest attempt that failed (no answer, or not a 2xx)."""
    if not hook_ids:
        return {}
    failed = or_(attempts.status_code.is_(None), attempts.status_code >= 300)
    latest = (
        select(func.max(attempts.id))
        .join(webhook_deliveries, deliveries.id == attempts.delivery_id)
        .where(deliveries.hook_id.in_(list(hook_ids)), failed)
        .group_by(deliveries.hook_id)
    )
    query = (
        select(deliveries.hook_id, attempts.at, attempts.status_code, attempts.error)
        .join(webhook_deliveries, deliveries.id == attempts.delivery_id)
        .where(attempts.id.in_(latest))
    )
    return {int(row.hook_id): row for row in connection.execute(query)}


# --- the queue, for the sender ------------------------------------------------------------


def _free(moment: datetime) -> Any:
    return or_(deliveries.lease_owner.is_(None), deliveries.lease_until < moment)


def due(
    connection: Connection, moment: datetime, limit: int, busy: Sequence[int] = ()
) -> list[int]:
    """Deliveries of active hooks whose next attempt is due and that no one holds: the
    earliest of each hook, but for the `busy` ones (an attempt of theirs is under way),
    earliest first."""
    order = (deliveries.next_attempt_at, deliveries.id)
    ranked = (
        select(
            deliveries.id,
            deliveries.next_attempt_at,
            func.row_number().over(partition_by=deliveries.hook_id, order_by=order).label("rank"),
        )
        .join(webhooks, hooks.id == deliveries.hook_id)
        .where(
            deliveries.state == PENDING,
            deliveries.next_attempt_at <= moment,
            hooks.active.is_(True),
            _free(moment),
            hooks.id.not_in(list(busy)),
        )
        .subquery()
    )
    query = (
        select(ranked.c.id)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this process holds the lease of, with what an attempt needs."""

    id: int
    hook_id: int
    event: str
    payload: str
    attempts: int  # made before this one, in the current series
    url: str
    secret: str


def claim(
    connection: Connection, delivery_id: int, owner: str, moment: datetime, until: datetime
) -> Claimed | None:
    """Take the delivery's lease with one conditional UPDATE (the same on SQLite and
    PostgreSQL: of two processes, one changes the row); with what sending it needs."""
    taken = connection.execute(
        update(webhook_deliveries)
        .where(
            deliveries.id == delivery_id,
            deliveries.state == PENDING,
            deliveries.next_attempt_at <= moment,
            _free(moment),
        )
        .values(lease_owner=owner, lease_until=until)
    )
    if taken.rowcount != 1:
        return None
    query = (
        select(
            deliveries.id,
            deliveries.hook_id,
            deliveries.event,
            deliveries.payload,
            deliveries.attempts,
            hooks.url,
            hooks.secret,
        )
        .join(webhooks, hooks.id == deliveries.hook_id)
        .where(deliveries.id == delivery_id)
    )
    return Claimed(*connection.execute(query).one())


def record_attempt(connection: Connection, values: dict[str, Any]) -> None:
    connection.execute(insert(webhook_attempts), values)


def settle(connection: Connection, delivery_id: int, owner: str, values: dict[str, Any]) -> bool:
    """Write the outcome of an attempt, if `owner` still holds the delivery; lets go of it."""
    changed = connection.execute(
        update(webhook_deliveries)
        .where(deliveries.id == delivery_id, deliveries.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, attempts=deliveries.attempts + 1, **values)
    )
    return changed.rowcount == 1


def hook_succeeded(connection: Connection, hook_id: int) -> None:
    connection.execute(
        update(webhooks)
        .where(hooks.id == hook_id, hooks.failures_in_a_row != 0)
        .values(failures_in_a_row=0)
    )


def hook_failed(connection: Connection, hook_id: int) -> int:
    """One more delivery of the hook failed for good: how many in a row now."""
    connection.execute(
        update(webhooks)
        .where(hooks.id == hook_id)
        .values(failures_in_a_row=hooks.failures_in_a_row + 1)
    )
    count = connection.execute(
        select(func.coalesce(hooks.failures_in_a_row, 0)).where(hooks.id == hook_id)
    ).scalar_one_or_none()
    return int(count or 0)
