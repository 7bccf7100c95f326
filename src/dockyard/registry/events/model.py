"""What an event says: its action, its target, the request that caused it and the registry
node that recorded it, written as Distribution's notification JSON."""

from __future__ import annotations

import json
import os
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

from dockyard.registry.events.pulls import PullNotes

PUSH = "push"
PULL = "pull"
MOUNT = "mount"
DELETE = "delete"
ACTIONS = (PUSH, PULL, MOUNT, DELETE)

# The envelope's media type, as Distribution sends it.
ENVELOPE_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
# What Distribution calls a blob's media type in its events.
BLOB_MEDIA_TYPE = "application/octet-stream"

# Where RegistryMiddleware keeps the request's id (the X-Request-Id it answers with).
REQUEST_ID_KEY = "dockyard.request_id"
# Where the request's Grant is kept (registry/authorization.py's GRANT_KEY).
GRANT_KEY = "dockyard.grant"

# The ASGI scope of the request being served, set by RegistryMiddleware: the services read
# who caused a change from it without every handler passing it down.
CURRENT_REQUEST: ContextVar[Scope | None] = ContextVar("dockyard_current_request", default=None)


def current_origin() -> Origin | None:
    """The origin of the request this task serves; None outside a request."""
    scope = CURRENT_REQUEST.get()
    if scope is None or scope.get("type") != "http":
        return None
    return Origin.of(scope)


@dataclass(frozen=True, slots=True)
class Origin:
    """The request that caused a change, and who made it: an event's `request` and `actor`."""

    request_id: str
    addr: str
    host: str
    method: str
    useragent: str
    actor: str | None
    base_url: str  # scheme://host of the request, for the target's url

    @classmethod
    def of(cls, scope: Scope) -> Origin:
        """Read from the ASGI scope directly: a Request object costs more than the rest."""
        host = useragent = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"user-agent":
                useragent = value.decode("latin-1")
        client = scope.get("client")
        return cls(
            request_id=scope.get(REQUEST_ID_KEY, ""),
            addr=f"{client[0]}:{client[1]}" if client else "",
            host=host,
            method=scope["method"],
            useragent=useragent,
            actor=getattr(scope.get(GRANT_KEY), "subject", None),
            base_url=f"{scope.get('scheme', 'http')}://{host}" if host else "",
        )


@dataclass(frozen=True, slots=True)
class Source:
    """The registry node that records events."""

    addr: str
    instance_id: str


@dataclass(frozen=True, slots=True)
class Target:
    repository: str
    digest: str | None = None
    media_type: str | None = None
    size: int | None = None
    tag: str | None = None
    from_repository: str | None = None
    kind: str = "manifests"  # or "blobs": where the target's url points

    def to_json(self, base_url: str) -> dict[str, Any]:
        target: dict[str, Any] = {}
        if self.media_type is not None:
            target["mediaType"] = self.media_type
        if self.size is not None:
            target["size"] = self.size
        if self.digest is not None:
            target["digest"] = self.digest
        if self.size is not None:
            target["length"] = self.size
        target["repository"] = self.repository
        if self.from_repository is not None:
            target["fromRepository"] = self.from_repository
        if self.digest is not None and self.media_type is not None and base_url:
            target["url"] = f"{base_url}/v2/{self.repository}/{self.kind}/{self.digest}"
        if self.tag is not None:
            target["tag"] = self.tag
        return target


def id_of(body: str) -> str:
    """The id of the event whose JSON is `body` (written here: the id comes first)."""
    return body[7:43]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as stored in the outbox: its id on the wire, action, time and JSON."""

    uuid: str
    action: str
    created_at: datetime
    body: str


def new_event(
    action: str, target: Target, origin: Origin | None, source: Source, moment: datetime
) -> NewEvent:
    return EventWriter(source).event(action, target, origin, moment)


class EventWriter:
    """Writes events' JSON; what repeats from one event to the next (the source, a target, a
    host or user agent) is encoded once per writer, which matters for a batch of pulls. Text
    is ASCII only (non-ASCII escaped): the stored text is what is sent, in any database."""

    def __init__(self, source: Source) -> None:
        self._source = _compact({"addr": source.addr, "instanceID": source.instance_id})
        self._quoted: dict[str, str] = {}
        self._targets: dict[tuple[Target, str], str] = {}

    def event(
        self, action: str, target: Target, origin: Origin | None, moment: datetime
    ) -> NewEvent:
        event_id = str(uuid.uuid4())
        request = actor = "{}"
        base_url = ""
        if origin is not None:
            q = self._quote
            request = (
                f'{{"id":{q(origin.request_id)},"addr":{q(origin.addr)},"host":{q(origin.host)},'
                f'"method":{q(origin.method)},"useragent":{q(origin.useragent)}}}'
            )
            if origin.actor is not None:
                actor = f'{{"name":{q(origin.actor)}}}'
            base_url = origin.base_url
        key = (target, base_url)
        target_json = self._targets.get(key)
        if target_json is None:
            target_json = self._targets[key] = _compact(target.to_json(base_url))
        timestamp = moment.isoformat().replace("+00:00", "Z")
        body = (
            f'{{"id":"{event_id}","timestamp":"{timestamp}","action":"{action}",'
            f'"target":{target_json},"request":{request},"actor":{actor},'
            f'"source":{self._source}}}'
        )
        return NewEvent(event_id, action, moment, body)

    def pulls(self, notes: PullNotes, skip: set[str]) -> tuple[list[str], list[str]]:
        """The JSON of every pull noted in `notes` but those of a media type in `skip`, in
        order, and their media types: the same JSON as `event`, written in C (pulls.pyx), as
        thousands a second may come. The ids are version 4 UUIDs: 72 random bits for this
        batch, then a count from a random start (unique within the batch; batches differ in
        their random bits)."""
        count = len(notes)
        bits = os.urandom(15).hex()
        first = 2**48 + int(bits[18:], 16) % (2**48 - count)
        prefix = f'{{"id":"{bits[:8]}-{bits[8:12]}-4{bits[12:15]}-8{bits[15:18]}-'
        return notes.take(self._pull_constant, self._second_text, prefix, first, skip)

    def _second_text(self, second: int) -> str:
        """A second's time as the timestamps write it, up to the decimal point."""
        return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")

    def _pull_constant(self, key: tuple[Any, ...]) -> tuple[str, str]:
        """What the JSON of a pull holds between its time and request id, and after its
        address: the same for every pull of one target by one client."""
        subject, useragent, host, scheme, name, digest, media_type, size, tag, kind = key
        base_url = f"{scheme}://{host.decode('latin-1')}" if host else ""
        target = Target(name, digest, media_type, size, tag, kind=kind)
        actor = {} if subject is None else {"name": subject}
        return (
            f'Z","action":"pull","target":{_compact(target.to_json(base_url))},"request":{{"id":"',
            f'","host":{_compact(host.decode("latin-1"))},"method":"GET",'
            f'"useragent":{_compact(useragent.decode("latin-1"))}}},"actor":{_compact(actor)},'
            f'"source":{self._source}}}',
        )

    def _quote(self, text: str) -> str:
        quoted = self._quoted.get(text)
        if quoted is None:
            quoted = self._quoted[text] = json.dumps(text)
        return quoted


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
