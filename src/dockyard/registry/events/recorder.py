"""Recording events: in the transaction of the change for pushes, mounts and deletes; in memory,
then in batches, for pulls (a pull must not cost a transaction)."""

from __future__ import annotations

import logging
import random
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from dockyard.config import EndpointSettings, Settings
from dockyard.db.engine import Database
from dockyard.registry.events import outbox
from dockyard.registry.events.model import (
    BLOB_MEDIA_TYPE,
    PULL,
    NewEvent,
    Origin,
    Source,
    Target,
    current_origin,
    new_event,
)
from dockyard.registry.metadata import now

log = logging.getLogger("dockyard.events")

# Pull events waiting in memory beyond this are dropped (and counted in a log line): a database
# that is away must not make the process grow without bound.
MAX_BUFFERED_PULLS = 50_000


class EventLog:
    """Per process: which endpoints want which events, and the pulls not yet written."""

    def __init__(
        self,
        endpoints: Sequence[EndpointSettings],
        source: Source,
        database: Database | None = None,
    ) -> None:
        self.endpoints = [endpoint for endpoint in endpoints if not endpoint.disabled]
        self.source = source
        self.database = database
        # Checked on every manifest and blob GET: nothing more is done when no one listens.
        self.wants_pulls = any(endpoint.wants(PULL, None) for endpoint in self.endpoints)
        self._pulls: list[tuple[datetime, Origin, Target]] = []
        self._dropped = 0

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> EventLog:
        source = Source(f"{socket.gethostname()}:{settings.http.port}", str(uuid.uuid4()))
        return cls(settings.notifications.endpoints, source, database)

    @classmethod
    def silent(cls) -> EventLog:
        """Records nothing: no endpoint is configured."""
        return cls((), Source("", ""))

    def record(
        self, connection: Connection, origin: Origin | None, action: str, target: Target
    ) -> None:
        """Write the event in the caller's transaction: it commits, or rolls back, with the
        change it reports."""
        receivers = self._receivers(action, target)
        if receivers:
            event = new_event(action, target, origin, self.source, now())
            outbox.insert_events(connection, [(event, receivers)])

    def manifest_pulled(
        self, name: str, digest: str, media_type: str, size: int, tag: str | None
    ) -> None:
        """A manifest GET of the current request (HEAD is no pull)."""
        if self.wants_pulls:
            self._pulled_now(Target(name, digest, media_type, size, tag))

    def blob_pulled(self, name: str, digest: str, size: int) -> None:
        """A blob GET of the current request (HEAD is no pull)."""
        if self.wants_pulls:
            self._pulled_now(Target(name, digest, BLOB_MEDIA_TYPE, size, kind="blobs"))

    def _pulled_now(self, target: Target) -> None:
        origin = current_origin()
        if origin is not None and origin.method == "GET":
            self.pulled(origin, target)

    def pulled(self, origin: Origin, target: Target) -> None:
        """Note a pull, written with others at the next flush (lost if the process dies
        first)."""
        if len(self._pulls) >= MAX_BUFFERED_PULLS:
            self._dropped += 1
            return
        self._pulls.append((now(), origin, target))

    async def flush_pulls(self) -> None:
        """Write the pulls noted so far, in one transaction."""
        if self.database is None or not self._pulls:
            return
        pulls, self._pulls = self._pulls, []
        items: list[tuple[NewEvent, Sequence[str]]] = []
        for moment, origin, target in pulls:
            receivers = self._receivers(PULL, target)
            if receivers:
                items.append((new_event(PULL, target, origin, self.source, moment), receivers))
        try:
            await self.database.run(outbox.insert_events, items)
        except Exception:
            log.exception("writing %d pull events failed; they are dropped", len(items))
        if self._dropped:
            log.warning("%d pull events were dropped: too many waited to be written", self._dropped)
            self._dropped = 0

    def _receivers(self, action: str, target: Target) -> list[str]:
        return [
            endpoint.name
            for endpoint in self.endpoints
            if endpoint.wants(action, target.media_type)
            and (
                action != PULL
                or endpoint.pullsampling >= 1
                or random.random() < endpoint.pullsampling
            )
        ]
