"""The webhooks' rules: who manages which hooks (a repository's administrators; an
organisation's owners for its hooks), which URLs a hook may have, what a listing shows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from dockyard.auth.scopes import PULL
from dockyard.db.engine import Database
from dockyard.db.locks import hold
from dockyard.index.errors import Conflict, Forbidden, Invalid, NotFound
from dockyard.index.names import canonical
from dockyard.index.organisations import repository as organisations
from dockyard.index.repositories import repository as repositories
from dockyard.index.repositories import service as repository_service
from dockyard.index.repositories.permissions import Identity
from dockyard.index.tables import as_utc
from dockyard.index.webhooks import repository
from dockyard.index.webhooks.addresses import Allowed, resolve
from dockyard.index.webhooks.repository import PENDING, AnyRow, Owner
from dockyard.index.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    HookChange,
    HookOut,
    NewHook,
)
from dockyard.index.webhooks.signing import new_secret
from dockyard.kit.outbound import TargetRefused
from dockyard.registry.metadata import now

# A hook's URL is resolved when it is set: a name that does not answer by then is refused.
RESOLVE_SECONDS = 5.0
MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Of:
    """Hooks named in a URL: a repository's (`repository` set) or an organisation's."""

    repository: str | None = None
    organisation: str | None = None

    @property
    def label(self) -> str:
        return self.repository or self.organisation or ""


def administered(connection: Connection, actor: Identity, of: Of) -> Owner | None:
    """Whose hooks `actor` may manage here; None for a repository its administrators have not
    pushed to nor configured yet (it has none). Strangers learn nothing: 404."""
    if of.repository is not None:
        name = of.repository
        access = repository_service.access_in(connection, actor, [name])[name]
        if access.role != "admin":
            if PULL in access.actions:
                raise Forbidden(f"only administrators of {name} manage its webhooks")
            raise NotFound(f"no repository {name!r}")
        row = repositories.settings_of(connection, [canonical(name)]).get(canonical(name))
        return None if row is None else Owner(repository_id=int(row.id))
    name = of.organisation or ""
    org = organisations.organisation_id(connection, name)
    role = None if org is None else organisations.member_role(connection, org, actor.user_id)
    if org is None or (role is None and not actor.is_admin):
        raise NotFound(f"no organisation {name!r}")
    if role != "owner" and not actor.is_admin:
        raise Forbidden(f"only owners of {name} manage its webhooks")
    return Owner(organisation_id=org)


async def checked_url(url: str, allowed: Allowed) -> str:
    """`url` if a hook may call it now; Invalid (400) saying why not."""
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            await resolve(url, allowed)
    except TargetRefused as exc:
        raise Invalid(f"url refused: {exc}") from None
    except TimeoutError:
        raise Invalid("url refused: its host did not resolve in time") from None
    return url


async def create(
    database: Database,
    actor: Identity,
    of: Of,
    form: NewHook,
    allowed: Allowed,
    default_visibility: str,
    most: int,
) -> HookOut:
    """A new hook, unless its owner has `most` already."""
    url = await checked_url(form.url, allowed)
    if of.repository is not None:
        # The repository's settings, made now if its administrator has not pushed yet.
        await repository_service.update(database, actor, of.repository, default_visibility)
    secret = new_secret()

    def insert(connection: Connection) -> HookOut:
        owner = administered(connection, actor, of)
        assert owner is not None
        # Counted then inserted: held, or creations at once all pass the count.
        hold(connection, f"webhooks of {owner.repository_id}/{owner.organisation_id}")
        if repository.hook_count(connection, owner) >= most:
            raise Conflict(
                f"{of.label} has {most} webhooks, the most it may have"
                " (index.webhooks.max_per_owner): remove one first"
            )
        values = {
            "repository_id": owner.repository_id,
            "organisation_id": owner.organisation_id,
            "name": form.name,
            "url": url,
            "secret": secret,
            "events": _events(form.events),
            "active": form.active,
            "failures_in_a_row": 0,
            "created_at": now(),
        }
        hook_id = repository.insert_hook(connection, values)
        found = repository.hook(connection, hook_id, owner)
        assert found is not None
        return hook_out(found, secret)

    return await database.run(insert)


async def hooks(
    database: Database, actor: Identity, of: Of, page: int, per_page: int
) -> tuple[list[HookOut], bool]:
    """A page of the hooks, and whether more follow."""

    def read(connection: Connection) -> tuple[list[HookOut], bool]:
        owner = administered(connection, actor, of)
        if owner is None:
            return [], False
        rows = repository.hooks_of(connection, owner, (page - 1) * per_page, per_page + 1)
        return [hook_out(row) for row in rows[:per_page]], len(rows) > per_page

    return await database.run(read)


async def show(database: Database, actor: Identity, of: Of, hook_id: int) -> HookOut:
    def read(connection: Connection) -> HookOut:
        return hook_out(_hook(connection, actor, of, hook_id))

    return await database.run(read)


async def change(
    database: Database, actor: Identity, of: Of, hook_id: int, form: HookChange, allowed: Allowed
) -> HookOut:
    values: dict[str, object] = {}
    if form.url is not None:
        values["url"] = await checked_url(form.url, allowed)
    if form.name is not None:
        values["name"] = form.name
    if form.events is not None:
        values["events"] = _events(form.events)
    if form.active is not None:
        values["active"] = form.active
        if form.active:
            values.update(disabled_reason=None, failures_in_a_row=0)
    secret = new_secret() if form.rotate_secret else None
    if secret is not None:
        values["secret"] = secret

    def update(connection: Connection) -> HookOut:
        found = _hook(connection, actor, of, hook_id)
        if values:
            repository.update_hook(connection, hook_id, values)
            found = _hook(connection, actor, of, hook_id)
        return hook_out(found, secret)

    return await database.run(update)


async def remove(database: Database, actor: Identity, of: Of, hook_id: int) -> None:
    def delete(connection: Connection) -> None:
        _hook(connection, actor, of, hook_id)
        repository.delete_hook(connection, hook_id)

    await database.run(delete)


async def deliveries(
    database: Database, actor: Identity, of: Of, hook_id: int, page: int, per_page: int
) -> tuple[list[DeliveryOut], bool]:
    """A page of the hook's deliveries, newest first, each with its attempts; more follow?"""

    def read(connection: Connection) -> tuple[list[DeliveryOut], bool]:
        _hook(connection, actor, of, hook_id)
        rows = repository.deliveries_of(connection, hook_id, (page - 1) * per_page, per_page + 1)
        shown = rows[:per_page]
        tried = repository.attempts_of(connection, [int(row.id) for row in shown])
        return [delivery_out(row, tried[int(row.id)]) for row in shown], len(rows) > per_page

    return await database.run(read)


async def redeliver(
    database: Database, actor: Identity, of: Of, hook_id: int, delivery_id: int
) -> DeliveryOut:
    """Start a new series of attempts now (the same body; a new timestamp and signature)."""

    def restart(connection: Connection) -> DeliveryOut:
        hook = _hook(connection, actor, of, hook_id)
        if not hook.active:
            raise Conflict("the hook is switched off: switch it on (active: true) first")
        if repository.delivery(connection, delivery_id, hook_id) is None:
            raise NotFound(f"hook {hook_id} has no delivery {delivery_id}")
        if not repository.restart(connection, delivery_id, now()):
            raise Conflict(f"delivery {delivery_id} is still pending: it is being retried")
        found = repository.delivery(connection, delivery_id, hook_id)
        assert found is not None
        return delivery_out(found, repository.attempts_of(connection, [delivery_id])[delivery_id])

    return await database.run(restart)


def _events(events: Sequence[str]) -> str:
    """As stored: each once, in the order given."""
    return ",".join(dict.fromkeys(events))


def _hook(connection: Connection, actor: Identity, of: Of, hook_id: int) -> AnyRow:
    owner = administered(connection, actor, of)
    found = None if owner is None else repository.hook(connection, hook_id, owner)
    if found is None:
        raise NotFound(f"{of.label} has no webhook {hook_id}")
    return found


def hook_out(row: AnyRow, secret: str | None = None) -> HookOut:
    return HookOut(
        id=row.id,
        name=row.name,
        url=row.url,
        events=str(row.events).split(","),
        active=row.active,
        disabled_reason=row.disabled_reason,
        failures_in_a_row=row.failures_in_a_row,
        created_at=_when(row.created_at),
        secret=secret,
    )


def delivery_out(row: AnyRow, tried: list[AnyRow]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event=row.event,
        event_id=row.event_uuid,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=_when(row.next_attempt_at) if row.state == PENDING else None,
        created_at=_when(row.created_at),
        payload=row.payload,
        history=[
            AttemptOut(
                at=_when(attempt.at),
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                response=attempt.response,
            )
            for attempt in tried
        ],
    )


def _when(moment: datetime) -> datetime:
    return as_utc(moment)


@dataclass(frozen=True, slots=True)
class HookQueue:
    """A hook as the site administration watches it: what waits, what failed, and why."""

    id: int
    owner: str  # the repository's name, or the organisation's
    of_repository: bool
    url: str
    active: bool
    disabled_reason: str | None
    failures_in_a_row: int
    pending: int
    failed: int
    oldest_pending: datetime | None
    last_failure_at: datetime | None
    last_failure: str | None  # the status or error of the latest failed attempt


async def queues(
    database: Database, actor: Identity, page: int, per_page: int
) -> tuple[list[HookQueue], bool]:
    """Hooks with deliveries waiting or failed, or switched off, the most waiting first (site
    administrators only), and whether more follow."""
    if not actor.is_admin:
        raise NotFound("no such page")

    def read(connection: Connection) -> tuple[list[HookQueue], bool]:
        rows = repository.queues(connection, (page - 1) * per_page, per_page + 1)
        shown = rows[:per_page]
        failures = repository.last_failures(connection, [int(row.id) for row in shown])
        found = []
        for row in shown:
            failure = failures.get(int(row.id))
            said = None
            if failure is not None:
                said = failure.error or f"answered {failure.status_code}"
            found.append(
                HookQueue(
                    int(row.id),
                    str(row.owner),
                    bool(row.of_repository),
                    str(row.url),
                    bool(row.active),
                    row.disabled_reason,
                    int(row.failures_in_a_row),
                    int(row.pending),
                    int(row.failed),
                    None if row.oldest is None else as_utc(row.oldest),
                    None if failure is None else as_utc(failure.at),
                    said,
                )
            )
        return found, len(rows) > per_page

    return await database.run(read)
