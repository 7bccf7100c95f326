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
from time import time_ns
from typing import Any

from sqlalchemy import Connection

from dockyard.config import EndpointSettings, Settings
from dockyard.db.engine import Database
from dockyard.registry.events import outbox
from dockyard.registry.events.local import LocalReceiver, PullCount
from dockyard.registry.events.model import (
    BLOB_MEDIA_TYPE,
    CURRENT_REQUEST,
    GRANT_KEY,
    NOTED_FIELDS,
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
        # Checked on every manifest and blob GET: nothing more is done when no one listens.
        self.wants_pulls = any(endpoint.wants(PULL, None) for endpoint in self.endpoints)
        # The largest share of pulls any endpoint samples: a GET is noted with this chance, and
        # each endpoint then takes a noted pull with its share divided by it (so that it gets
        # its share exactly); with one endpoint taking one pull in ten, nine GETs in ten keep
        # nothing at all.
        self._noted_share = max(
            (e.pullsampling for e in self.endpoints if e.wants(PULL, None)), default=0.0
        )
        # Every pull noted, NOTED_FIELDS items each (model.py says which), one after the other.
        self._pulls: list[Any] = []
        self._dropped = 0
        # Receivers in this process, and the manifest pulls counted for them by repository.
        self.local: dict[str, LocalReceiver] = {}
        self.counts_pulls = False
        self._pull_counts: dict[str, int] = {}
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

    def record(
        self, connection: Connection, origin: Origin | None, action: str, target: Target
    ) -> None:
        """Write the event in the caller's transaction: it commits, or rolls back, with the
        change it reports."""
        receivers = self._receivers(action, target)
        if receivers:
            event = new_event(action, target, origin, self.source, now())
            outbox.insert_events(connection, [(event, receivers)])

    def pulled(
        self, name: str, digest: str, media_type: str, size: int, tag: str | None, kind: str
    ) -> None:
        """A manifest's or blob's (`kind`) GET or HEAD of the current request. A GET is a
        pull: a manifest's is counted for the receivers that count pulls, and any is noted
        for the endpoints that want pulls, to become an event at the next round (lost if the
        process dies first). This is on the path of every GET, and all in one function: in a
        loaded server a call there costs about 0.2 µs, of the note's 2.5 (decision 0012; see
        NOTED_FIELDS for what is kept)."""
        if not (self.wants_pulls or self.counts_pulls):
            return
        scope = CURRENT_REQUEST.get()
        if scope is None or scope["method"] != "GET":
            return
        if self.counts_pulls and kind == "manifests":
            counts = self._pull_counts
            counts[name] = counts.get(name, 0) + 1
        share = self._noted_share
        if not self.wants_pulls or (share < 1 and random.random() >= share):
            return
        pulls = self._pulls
        if len(pulls) >= MAX_BUFFERED_PULLS * NOTED_FIELDS:
            self._dropped += 1
            return
        host = useragent = b""
        for header, value in scope["headers"]:
            if header == b"host":
                host = value
            elif header == b"user-agent":
                useragent = value
        client = scope.get("client")
        pulls += (
            time_ns(),
            scope.get(REQUEST_ID_KEY, ""),
            f"{client[0]}:{client[1]}" if client else "",
            getattr(scope.get(GRANT_KEY), "subject", None),
            useragent,
            host,
            scope.get("scheme", "http"),
            name,
            digest,
            media_type,
            size,
            tag,
            kind,
        )

    def take_pull_counts(self) -> dict[str, PullCount]:
        """The manifest pulls counted since the last call, by repository. Their last is
        dated now, within a round of the truth: a count and the clock's time kept at every
        GET made the GET's pull counting cost 1.74 µs in a loaded server, a count alone 1.31
        (decision 0012)."""
        counts, self._pull_counts = self._pull_counts, {}
        moment = time.time()
        return {name: PullCount(count, moment) for name, count in counts.items()}

    async def flush_pulls(self) -> None:
        """Write the pulls noted so far to the outbox, in one transaction."""
        await self.store_pulls(self.take_pulls())

    def take_pulls(self) -> dict[str, list[str]]:
        """The pulls noted so far as events' JSON, by the endpoint that gets them (after
        sampling). Thousands a second may come: per pull, only its JSON is written."""
        pulls, self._pulls = self._pulls, []
        if not pulls:
            return {}
        media_types = pulls[9::NOTED_FIELDS]
        # Which endpoints take which media types, and with what chance a noted pull.
        routes = []
        for endpoint in self.endpoints:
            wanted = {kind: endpoint.wants(PULL, kind) for kind in set(media_types)}
            if any(wanted.values()):
                routes.append((endpoint.name, wanted, endpoint.pullsampling / self._noted_share))
        unwanted = {kind for kind in set(media_types) if not any(w[kind] for _, w, _ in routes)}
        if unwanted:  # noted for one media type, ignored for this one by every endpoint
            noted = zip(*[iter(pulls)] * NOTED_FIELDS, strict=True)
            pulls = [item for pull in noted if pull[9] not in unwanted for item in pull]
            media_types = pulls[9::NOTED_FIELDS]
        bodies = EventWriter(self.source).pulls(pulls)
        taken: dict[str, list[str]] = {}
        for name, wanted, share in routes:
            if share >= 1 and all(wanted.values()):
                taken[name] = list(bodies)
            else:
                taken[name] = [
                    body
                    for body, kind in zip(bodies, media_types, strict=True)
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
        if self._dropped:
            log.warning("%d pull events were dropped: too many waited to be written", self._dropped)
            self._dropped = 0

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
