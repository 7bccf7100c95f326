"""The webhooks as a receiver of registry events (`@webhooks`, fed from the outbox like the
catalogue: in order, at least once, one process at a time): each tag pushed (and each delete,
for hooks that want them) becomes one delivery per active hook of the repository and of its
namespace's organisation, queued in one transaction. Sending is the Sender's, in the
background, so a slow hook never holds up the events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from dockyard.config import WebhookSettings
from dockyard.db.engine import Database
from dockyard.index.catalogue.changes import Deleted, Pushed, change_of
from dockyard.index.names import canonical, namespace_of
from dockyard.index.organisations import repository as organisations
from dockyard.index.repositories import repository as repositories
from dockyard.index.tables import as_utc, comments
from dockyard.index.webhooks import repository
from dockyard.index.webhooks.payload import DELETE, PUSH, Happened, RepositoryFacts, render
from dockyard.index.webhooks.repository import PENDING
from dockyard.index.webhooks.sender import Sender
from dockyard.registry.events.local import PullCount, events_in, manifest_receiver_settings
from dockyard.registry.metadata import now

# Outbox rows for the webhooks are kept under this name.
WEBHOOKS = "@webhooks"


class WebhookReceiver:
    def __init__(self, database: Database, settings: WebhookSettings, visibility: str) -> None:
        self.settings = manifest_receiver_settings(WEBHOOKS)
        self.counts_pulls = False
        self.database = database
        self.default_visibility = visibility
        self.sender = Sender(database, settings)

    async def receive(self, bodies: Sequence[str]) -> None:
        happenings = list(_happenings(bodies))
        queued: int = await self.database.in_thread(self._queue, happenings) if happenings else 0
        if queued:
            self.sender.wake.set()

    async def pulled(self, counts: Mapping[str, PullCount]) -> None:
        pass  # hooks are told of pushes and deletes only

    async def background(self) -> None:
        """Send what is due, until cancelled (registry/events/delivery.py runs it)."""
        await self.sender.run()

    async def close(self) -> None:
        await self.sender.close()

    def _queue(self, connection: Connection, happenings: list[tuple[str, Happened]]) -> int:
        """Queue a delivery for each hook that wants each event; how many were new."""
        rows = []
        moment = now()
        for name, happened in happenings:
            full = canonical(name)
            settings = repositories.settings_of(connection, [full]).get(full)
            repository_id = None if settings is None else int(settings.id)
            organisation_id = organisations.organisation_id(connection, namespace_of(full))
            hooks = repository.active_hooks(connection, repository_id, organisation_id)
            wanted = [hook for hook in hooks if happened.event in str(hook.events).split(",")]
            if not wanted:
                continue
            facts = self._facts(connection, full, settings, happened.at)
            for hook in wanted:
                rows.append(
                    {
                        "hook_id": hook.id,
                        "event_uuid": happened.uuid,
                        "event": happened.event,
                        "payload": render(happened, facts, _hook_url(happened, full, hook)),
                        "state": PENDING,
                        "attempts": 0,
                        "next_attempt_at": moment,
                        "created_at": moment,
                    }
                )
        return repository.queue(connection, rows)

    def _facts(
        self, connection: Connection, name: str, settings: Any, at: datetime
    ) -> RepositoryFacts:
        """The repository as the payload describes it; before the catalogue has made its
        settings (its receiver runs apart), as a push would make them."""
        if settings is None:
            return RepositoryFacts(name, self.default_visibility == "private", "", "", 0, 0, at)
        counted = select(func.count()).where(comments.c.repository_id == settings.id)
        return RepositoryFacts(
            name,
            settings.visibility == "private",
            settings.description,
            settings.full_description,
            settings.star_count,
            int(connection.execute(counted).scalar_one()),
            as_utc(settings.created_at),
        )


def _hook_url(happened: Happened, name: str, hook: Any) -> str:
    """The hook on Dockyard's /api: the payload's `callback_url`."""
    if hook.organisation_id is not None:
        return f"{happened.base_url}/api/orgs/{namespace_of(name)}/webhooks/{hook.id}"
    return f"{happened.base_url}/api/repositories/{name}/webhooks/{hook.id}"


def _happenings(bodies: Sequence[str]) -> Iterator[tuple[str, Happened]]:
    """(repository, what happened) for each tag push and each delete in these outbox rows."""
    for event in events_in(bodies):
        change = change_of(event)
        uuid = event.get("id") if isinstance(event, dict) else None
        if change is None or not isinstance(uuid, str) or not uuid or len(uuid) > 64:
            continue
        actor, base = _actor(event), _base_url(event)
        if isinstance(change, Pushed) and change.tag is not None:
            yield (
                change.repository,
                Happened(PUSH, uuid, change.at, change.actor, change.tag, change.digest, base),
            )
        elif isinstance(change, Deleted):
            at = _moment(event)
            yield (
                change.repository,
                Happened(DELETE, uuid, at, actor, change.tag, change.digest, base),
            )


def _actor(event: dict[str, Any]) -> str | None:
    actor = event.get("actor")
    name = actor.get("name") if isinstance(actor, dict) else None
    return name if isinstance(name, str) else None


def _base_url(event: dict[str, Any]) -> str:
    """scheme://host the registry was called on, from the target's URL."""
    target = event.get("target")
    url = target.get("url") if isinstance(target, dict) else None
    if isinstance(url, str) and "/v2/" in url:
        return url.split("/v2/", 1)[0]
    return ""


def _moment(event: dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        try:
            return as_utc(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        except ValueError:
            pass
    return now()
