"""Recording events: in the transaction of the change for pushes, mounts and deletes; in memory
for pulls (a pull must not cost a transaction), turned into events at each delivery round and
written to the outbox only for endpoints that have a backlog or fail (delivery.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from dockyard.config import EndpointSettings, Settings
from dockyard.db.engine import Database
from dockyard.registry.events import outbox
from dockyard.registry.events.local import LocalReceiver, PullCount
from dockyard.registry.events.model import (
    BLOB_MEDIA_TYPE,
    CURRENT_REQUEST,
    GRANT_KEY,
    PULL,
    REQUEST_ID_KEY,
    EventWriter,
    NewEvent,
    Origin,
    Source,
    Target,
    id_of,
    new_event,
)
from dockyard.registry.events.pulls import PullNotes
from dockyard.registry.metadata import now

log = logging.getLogger("dockyard.events")

# Pull events waiting in memory beyond this are dropped (and counted in a log line): a database
# that is away must not make the process grow without bound.
MAX_BUFFERED_PULLS = 50_000
# Pull events are stored this many to an outbox row (one row: part of one envelope).
PULLS_PER_ROW = 100


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
        # Pulls, noted in C (pulls.pyx): every manifest and blob GET calls `pulled`.
        self._notes = PullNotes(CURRENT_REQUEST, REQUEST_ID_KEY, GRANT_KEY, MAX_BUFFERED_PULLS)
        self.pulled = self._notes.pulled
        self._notes.wants_pulls = any(endpoint.wants(PULL, None) for endpoint in self.endpoints)
        # The largest share of pulls any endpoint samples: a GET is noted with this chance, and
        # each endpoint then takes a noted pull with its share divided by it (so that it gets
        # its share exactly); with one endpoint taking one pull in ten, nine GETs in ten keep
        # nothing at all.
        self._notes.share = max(
            (e.pullsampling for e in self.endpoints if e.wants(PULL, None)), default=0.0
        )
        # Receivers in this process, and the manifest pulls counted for them by repository.
        self.local: dict[str, LocalReceiver] = {}
        # Set when events were committed, so that delivery starts now rather than at its next
        # poll: a repository's first push reaches the catalogue (and its visibility applies)
        # within milliseconds.
        self.committed = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings, database: Database) -> EventLog:
        source = Source(f"{socket.gethostname()}:{settings.http.port}", str(uuid.uuid4()))
        return cls(settings.notifications.endpoints, source, database)

    @classmethod
    def silent(cls) -> EventLog:
        """Records nothing: no endpoint is configured."""
        return cls((), Source("", ""))

    def nudge(self) -> None:
        """Events were just committed (call from the event loop, after the transaction)."""
        if self.endpoints:
            self.committed.set()

    def add_local(self, receiver: LocalReceiver) -> None:
        """Feed `receiver` from now on: the events it wants, and manifest pull counts."""
        self.local[receiver.settings.name] = receiver
        self.endpoints.append(receiver.settings)
        self.counts_pulls = self.counts_pulls or receiver.counts_pulls

    @property
    def counts_pulls(self) -> bool:
        """Whether manifest pulls are counted (for a receiver in this process)."""
        return self._notes.counts_pulls

    @counts_pulls.setter
    def counts_pulls(self, counting: bool) -> None:
        self._notes.counts_pulls = counting

    def record(
        self, connection: Connection, origin: Origin | None, action: str, target: Target
    ) -> None:
        """Write the event in the caller's transaction: it commits, or rolls back, with the
        change it reports."""
        receivers = self._receivers(action, target)
        if receivers:
            event = new_event(action, target, origin, self.source, now())
            outbox.insert_events(connection, [(event, receivers)])

    def take_pull_counts(self) -> dict[str, PullCount]:
        """The manifest pulls counted since the last call, by repository. Their last is
        dated now, within a round of the truth: a count and the clock's time kept at every
        GET made the GET's pull counting cost 1.74 µs in a loaded server, a count alone 1.31
        (decision 0012)."""
        counts = self._notes.take_counts()
        moment = time.time()
        return {name: PullCount(count, moment) for name, count in counts.items()}

    async def flush_pulls(self) -> None:
        """Write the pulls noted so far to the outbox, in one transaction."""
        await self.store_pulls(self.take_pulls())

    def take_pulls(self) -> dict[str, list[str]]:
        """The pulls noted so far as events' JSON, by the endpoint that gets them (after
        sampling). Thousands a second may come: per pull, only its JSON is written."""
        media_types = self._notes.media_types()
        if not media_types:
            return {}
        # Which endpoints take which media types, and with what chance a noted pull.
        routes = []
        for endpoint in self.endpoints:
            wanted = {kind: endpoint.wants(PULL, kind) for kind in media_types}
            if any(wanted.values()):
                routes.append((endpoint.name, wanted, endpoint.pullsampling / self._notes.share))
        # Noted for one media type, ignored for this one by every endpoint: not written.
        unwanted = {kind for kind in media_types if not any(w[kind] for _, w, _ in routes)}
        bodies, kinds = EventWriter(self.source).pulls(self._notes, unwanted)
        taken: dict[str, list[str]] = {}
        for name, wanted, share in routes:
            if share >= 1 and all(wanted.values()):
                taken[name] = list(bodies)
            else:
                taken[name] = [
                    body
                    for body, kind in zip(bodies, kinds, strict=True)
                    if wanted[kind] and (share >= 1 or random.random() < share)
                ]
        return {name: chosen for name, chosen in taken.items() if chosen}

    async def store_pulls(self, pulls: dict[str, list[str]]) -> None:
        """Write pull events (their JSON) to the outbox for their endpoints, PULLS_PER_ROW to
        a row: the row has the first one's id, and their JSON joined by commas, as the
        envelope's list holds them."""
        created_at = now()
        items: list[tuple[NewEvent, Sequence[str]]] = []
        for name, bodies in pulls.items():
            for start in range(0, len(bodies), PULLS_PER_ROW):
                joined = ",".join(bodies[start : start + PULLS_PER_ROW])
                items.append((NewEvent(id_of(joined), PULL, created_at, joined), (name,)))
        if items and self.database is not None:
            try:
                await self.database.in_thread(outbox.insert_events, items)
            except Exception:
                count = sum(len(bodies) for bodies in pulls.values())
                log.exception("writing %d pull events failed; they are dropped", count)
        if self._notes.dropped:
            count, self._notes.dropped = self._notes.dropped, 0
            log.warning("%d pull events were dropped: too many waited to be written", count)

    def _receivers(self, action: str, target: Target) -> list[str]:
        # A blob's delete names no media type on the wire (as Distribution's); a receiver that
        # ignores blobs means those too.
        media_type = target.media_type
        if media_type is None and target.kind == "blobs":
            media_type = BLOB_MEDIA_TYPE
        return [
            endpoint.name
            for endpoint in self.endpoints
            if endpoint.wants(action, media_type)
            and (
                action != PULL
                or endpoint.pullsampling >= 1
                or random.random() < endpoint.pullsampling
            )
        ]
