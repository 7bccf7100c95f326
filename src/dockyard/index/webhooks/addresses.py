"""Which URLs a hook may call: the rule for event endpoints (kit/outbound.py: internal
addresses refused, the checked address is the one called) with an
allow-list of hosts and networks in place of its single switch. Checked when a hook is made
or changed, and again before every attempt, as a name may resolve elsewhere by then."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Allowed lives in kit/outbound.py (replication uses it too); imported from here still.
from dockyard.kit.outbound import Allowed as Allowed
from dockyard.kit.outbound import ResolvedTarget, TargetRefused, checked_addresses

MAX_URL = 2000


def well_formed(url: str) -> str | None:
    """Why `url` cannot be a hook's URL without resolving it; None when it can."""
    if len(url) > MAX_URL:
        return f"the URL is longer than {MAX_URL} characters"
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "the URL holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError as exc:
        return f"the URL cannot be read: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the URL must be http:// or https:// with a host"
    if "@" in parts.netloc:
        return "the URL may not carry credentials: the payload is signed with the hook's secret"
    return None


async def resolve(url: str, allowed: Allowed) -> ResolvedTarget:
    """The address to call for `url`, once every address its host has passed the rule."""
    problem = well_formed(url)
    if problem is not None:
        raise TargetRefused(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    addresses = await checked_addresses(url, allowed, "index.webhooks.allow")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    checked = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return ResolvedTarget(checked, parts.netloc, host if parts.scheme == "https" else None)
