"""What an event says: its action, its target, the request that caused it and the registry
node that recorded it, written as Distribution's notification JSON."""

from __future__ import annotations

import json
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

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
_GRANT_KEY = "dockyard.grant"

# The ASGI scope of the request being served, set by RegistryMiddleware: the services read
# who caused a change from it without every handler passing it down.
CURRENT_REQUEST: ContextVar[Scope | None] = ContextVar("dockyard_current_request", default=None)


def current_origin() -> Origin | None:
    """The origin of the request this task serves; None outside a request."""
    scope = CURRENT_REQUEST.get()
    if scope is None or scope.get("type") != "http":
        return None
    grant = scope.get(_GRANT_KEY)
    return Origin.of(Request(scope), getattr(grant, "subject", None))


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
    def of(cls, request: Request, actor: str | None) -> Origin:
        client = request.client
        host = request.headers.get("host", "")
        return cls(
            request_id=request.scope.get(REQUEST_ID_KEY, ""),
            addr=f"{client.host}:{client.port}" if client else "",
            host=host,
            method=request.method,
            useragent=request.headers.get("user-agent", ""),
            actor=actor,
            base_url=f"{request.url.scheme}://{host}" if host else "",
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
    event_id = str(uuid.uuid4())
    request: dict[str, str] = {}
    actor: dict[str, str] = {}
    base_url = ""
    if origin is not None:
        request = {
            "id": origin.request_id,
            "addr": origin.addr,
            "host": origin.host,
            "method": origin.method,
            "useragent": origin.useragent,
        }
        if origin.actor is not None:
            actor = {"name": origin.actor}
        base_url = origin.base_url
    body = {
        "id": event_id,
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": target.to_json(base_url),
        "request": request,
        "actor": actor,
        "source": {"addr": source.addr, "instanceID": source.instance_id},
    }
    # ASCII only (non-ASCII escaped): the stored text is what is sent, in any database.
    return NewEvent(event_id, action, moment, json.dumps(body, separators=(",", ":")))
