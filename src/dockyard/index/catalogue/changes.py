"""Registry events (Distribution's notification JSON, from this registry or another) read as the
changes the catalogue makes; what it has no use for (blob pushes, mounts) is left out, and so
is what it cannot read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.oci import mediatypes
from dockyard.registry.events.local import events_in

MANIFESTS = mediatypes.IMAGE_MANIFESTS | mediatypes.INDEXES


@dataclass(frozen=True, slots=True)
class Pushed:
    """A manifest was pushed, by `tag` or by digest (tag None)."""

    repository: str  # as the registry names it (`ubuntu`, not `library/ubuntu`)
    digest: str
    media_type: str
    tag: str | None
    actor: str | None
    at: datetime
    # Stored by a mirror's fetch (the request that caused it was a GET or HEAD), not pushed.
    cached: bool = False


@dataclass(frozen=True, slots=True)
class Deleted:
    """A tag, or a manifest (with every tag on it), or with neither the whole repository."""

    repository: str
    digest: str | None
    tag: str | None


@dataclass(frozen=True, slots=True)
class Pulled:
    repository: str
    at: datetime


Change = Pushed | Deleted | Pulled


def read_changes(bodies: Iterable[str]) -> Iterator[Change]:
    """The changes in these outbox bodies (each one event, or several joined by commas)."""
    for event in events_in(bodies):
        change = change_of(event)
        if change is not None:
            yield change


def change_of(event: object) -> Change | None:
    if not isinstance(event, dict):
        return None
    target = event.get("target")
    if not isinstance(target, dict):
        return None
    repository = _text(target, "repository")
    if not repository:
        return None
    action = event.get("action")
    digest, tag = _text(target, "digest"), _text(target, "tag")
    media_type = _text(target, "mediaType")
    if action == "push" and digest and media_type in MANIFESTS:
        actor = event.get("actor")
        name = _text(actor, "name") if isinstance(actor, dict) else None
        request = event.get("request")
        method = _text(request, "method") if isinstance(request, dict) else None
        cached = method in ("GET", "HEAD")
        return Pushed(repository, digest, media_type, tag, name, _moment(event), cached)
    if action == "pull" and media_type in MANIFESTS:
        return Pulled(repository, _moment(event))
    if action == "delete":
        # A blob's delete names its digest as a manifest's does (Distribution's format has no
        # media type for either): it matches no tag, so changes nothing.
        return Deleted(repository, digest, tag)
    return None


def _text(document: dict[str, Any], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) and value and "\0" not in value else None


def _moment(event: dict[str, Any]) -> datetime:
    """The event's time; now when it has none that can be read."""
    stamp = event.get("timestamp")
    if isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)
