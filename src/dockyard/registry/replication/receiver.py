"""Replication as a receiver of this registry's events (`@replication`, fed from the outbox
like the catalogue and the webhooks: in order, at least once, one process at a time): each
tag pushed that a push rule copies becomes one run, queued in one transaction. The copies are
the Replicator's, in the background, so a slow or absent registry never holds up the events."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dockyard.config import ReplicationSettings
from dockyard.db.engine import Database
from dockyard.registry.events.local import PullCount, events_in, manifest_receiver_settings
from dockyard.registry.metadata import now
from dockyard.registry.replication import repository
from dockyard.registry.replication.rules import PUSH
from dockyard.registry.replication.worker import Replicator, new_run

# Outbox rows for replication are kept under this name.
REPLICATION = "@replication"


class ReplicationReceiver:
    def __init__(self, settings: ReplicationSettings, database: Database, http_port: int) -> None:
        self.settings = manifest_receiver_settings(REPLICATION)
        self.counts_pulls = False
        self.database = database
        self.replicator = Replicator(settings, database, http_port)

    async def receive(self, bodies: Sequence[str]) -> None:
        moment = now()
        rows = [
            new_run(rule.name, f"{uuid}:{tag}", name, tag, moment)
            for uuid, name, tag in _tags_pushed(bodies)
            for rule in self.replicator.rules.values()
            if rule.direction == PUSH and rule.copies(name, tag)
        ]
        if not rows:
            return
        queued: int = await self.database.in_thread(repository.queue, rows)
        if queued:
            self.replicator.wake.set()

    async def pulled(self, counts: Mapping[str, PullCount]) -> None:
        pass  # pushes only

    async def background(self) -> None:
        """Copy what is due, until cancelled (registry/events/delivery.py runs it)."""
        await self.replicator.run()

    async def close(self) -> None:
        await self.replicator.close()


def _tags_pushed(bodies: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """(event id, repository, tag) of each manifest pushed under a tag in these outbox rows."""
    for event in events_in(bodies):
        found = _tag_pushed(event)
        if found is not None:
            yield found


def _tag_pushed(event: Any) -> tuple[str, str, str] | None:
    if not isinstance(event, dict) or event.get("action") != "push":
        return None
    target, uuid = event.get("target"), event.get("id")
    if not isinstance(target, dict) or not isinstance(uuid, str):
        return None
    name, tag = target.get("repository"), target.get("tag")
    if isinstance(name, str) and isinstance(tag, str) and name and tag:
        return uuid, name, tag
    return None
