"""Receivers of events inside the process (the index's catalogue): fed from the outbox as an
endpoint is, in order and at least once, under the same lease; but given pull counts rather
than pull events, as counting a pull costs a dictionary update where an event costs JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from dockyard.config import EndpointSettings, IgnoreSettings
from dockyard.registry.events.model import BLOB_MEDIA_TYPE


class NotNow(Exception):
    """A receiver cannot take events now (what it reads is away): they come again later, and
    the failure is logged in one line rather than with a traceback."""


@dataclass(slots=True)
class PullCount:
    """The manifest pulls of one repository since the last round, and when the last was (to
    within a round: when they were taken)."""

    count: int
    last: float  # seconds since the epoch


class LocalReceiver(Protocol):
    # Its name (starting with "@"), which events it gets, its lease, back-off and age limit.
    settings: EndpointSettings
    # Whether it wants manifest pulls counted (`pulled`): counting costs every GET a little.
    counts_pulls: bool

    async def receive(self, bodies: Sequence[str]) -> None:
        """Take these events (JSON, oldest first); raising means they come again later."""

    async def pulled(self, counts: Mapping[str, PullCount]) -> None:
        """Manifest pulls by repository name; lost if this raises (or the process dies)."""

    async def close(self) -> None:
        """At shutdown: let go of connections."""


@runtime_checkable
class WorksInBackground(Protocol):
    """A receiver with work of its own beside taking events (the webhooks send what they
    queued): the Deliverer runs `background()` while it runs, and cancels it with itself."""

    async def background(self) -> None:
        """Until cancelled; an exception ends only this receiver's background work."""


def manifest_receiver_settings(name: str) -> EndpointSettings:
    """For a receiver of manifest pushes and deletes (no blobs, mounts or pulls): its work is a
    local transaction, retried soon, for as long as events keep. Its timeout sets the lease
    on its events (plus a margin): what a process killed while delivering leaves the others,
    and itself restarted, to wait for. A batch takes milliseconds to a few seconds (the remote
    catalogue reads manifests over HTTP); 60 s made the catalogue a minute late after a kill."""
    return EndpointSettings(
        name=name,
        url="http://receiver.invalid/",  # never called: the receiver is in the process
        timeout=15.0,
        threshold=3,
        backoff=1.0,
        maxbackoff=30.0,
        maxage=365 * 86400.0,
        ignoredmediatypes=[BLOB_MEDIA_TYPE],
        ignore=IgnoreSettings(actions=["mount", "pull"]),
    )


def events_in(bodies: Iterable[str]) -> Iterator[Any]:
    """The events of the outbox bodies a receiver is handed (each body one event's JSON, or
    several joined by commas), as parsed JSON; a body that is not JSON is passed over."""
    for body in bodies:
        try:
            yield from json.loads("[" + body + "]")
        except (ValueError, RecursionError):
            continue
