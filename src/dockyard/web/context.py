"""What the pages share in a process: the index, the registry (for manifests and configs), the
templates and the key that signs cookies."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from dockyard.index.hub import Index
from dockyard.registry.state import Registry
from dockyard.web.templates import Templates


@dataclass(frozen=True)
class Web:
    index: Index
    registry: Registry
    templates: Templates
    cookie_key: bytes  # HMAC key of the session and CSRF cookies
    session_lifetime_seconds: int


def web_of(request: Request) -> Web:
    web: Web = request.state.web
    return web
