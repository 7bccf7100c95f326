"""The body a hook receives: Docker Hub's webhook JSON (docs.docker.com/docker-hub/webhooks:
`callback_url`, `push_data`, `repository`), rendered once when the event arrives and kept as
sent, so every attempt and a redelivery carry the same bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard.index.names import LIBRARY, canonical

PUSH, DELETE = "push", "delete"
EVENTS = (PUSH, DELETE)


@dataclass(frozen=True, slots=True)
class RepositoryFacts:
    """What the payload says of the repository (its settings, or defaults before the
    catalogue has them)."""

    name: str  # canonical: namespace/name
    is_private: bool
    description: str
    full_description: str
    star_count: int
    comment_count: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Happened:
    """A tag pushed (`event` push) or a tag or manifest deleted (delete)."""

    event: str
    uuid: str  # the registry event's id: one delivery per hook and event
    at: datetime
    actor: str | None
    tag: str | None
    digest: str | None
    base_url: str  # scheme://host the registry was called on ("" when unknown)


def render(happened: Happened, repository: RepositoryFacts, hook_url: str) -> str:
    """The JSON text sent; `hook_url` is the hook on Dockyard's /api (the `callback_url`:
    Docker Hub's callback protocol for automated builds is not implemented)."""
    namespace, _, name = canonical(repository.name).partition("/")
    document: dict[str, Any] = {"callback_url": hook_url}
    if happened.event == PUSH:
        document["push_data"] = {
            "pushed_at": int(happened.at.timestamp()),
            "pusher": happened.actor or "",
            "tag": happened.tag or "",
            "images": [happened.digest] if happened.digest else [],
        }
    else:  # Docker Hub has no delete hook: the same shape, with what was deleted
        document["delete_data"] = {
            "deleted_at": int(happened.at.timestamp()),
            "deleter": happened.actor or "",
            "tag": happened.tag,
            "digest": happened.digest,
        }
    document["repository"] = {
        "comment_count": repository.comment_count,
        "date_created": int(repository.created_at.timestamp()),
        "description": repository.description,
        "dockerfile": "",  # no automated builds here
        "full_description": repository.full_description,
        "is_official": namespace == LIBRARY,
        "is_private": repository.is_private,
        "is_trusted": False,
        "name": name,
        "namespace": namespace,
        "owner": namespace,
        "repo_name": f"{namespace}/{name}",
        "repo_url": f"{happened.base_url}/api/repositories/{namespace}/{name}",
        "star_count": repository.star_count,
        "status": "Active",
    }
    return json.dumps(document, separators=(",", ":"))
