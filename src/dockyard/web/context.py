"""What the pages share in a process: the index, the registry (for manifests and configs), the
templates, the key that signs cookies, and the settings the settings pages apply."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from dockyard.config import EndpointSettings, QuotaSettings, WebhookSettings
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
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)  # URLs hooks may call
    # The registry's configured event endpoints, for the site administration's queues.
    event_endpoints: tuple[EndpointSettings, ...] = ()
    # registry.quotas: the limits in force where a namespace sets none (site administration).
    quotas: QuotaSettings = field(default_factory=QuotaSettings)


def web_of(request: Request) -> Web:
    web: Web = request.state.web
    return web
