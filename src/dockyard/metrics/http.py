"""Requests as the metrics see them: by route template (`/v2/{name:path}/manifests/{reference}`,
never the path itself, which would make a series per repository), method and status."""

from __future__ import annotations

from starlette.types import Scope

from dockyard.metrics import families

# Anything else (the fuzz suite sends any word) is one label, so labels stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_of(scope: Scope) -> str:
    """The template of the route that answered (Starlette's router leaves it in the scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def observe(scope: Scope, status: int, received: int, sent: int, seconds: float) -> None:
    route = route_of(scope)
    method = scope["method"] if scope["method"] in _METHODS else "OTHER"
    families.requests.labels(route, method, str(status)).inc()
    families.request_seconds.labels(route, method).observe(seconds)
    if received:
        families.received_bytes.labels(route).inc(received)
    if sent:
        families.sent_bytes.labels(route).inc(sent)
