"""Who the client is, behind a reverse proxy: the one place forwarded headers are believed.

Everything that needs the client's address (login throttling, logs, events) or builds an
absolute URL (the token realm, events' target URLs, webhooks' callback URLs, the web UI's
`docker pull` line) reads the ASGI scope's `client`, `scheme` and `Host` header. This middleware
rewrites those three, before anything else runs, for a request whose peer is a trusted proxy;
from anyone else the forwarded headers are ignored. With no trusted proxy it is not installed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

# host or host:port, [v6]:port; what may stand in a Host header we write.
_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class Forwarded:
    """What a chain of proxies says about the original request (None: not said)."""

    addresses: list[str]  # the chain, the client first, as appended by each proxy
    proto: str | None
    host: str | None


class ForwardedMiddleware:
    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.trusted = [ipaddress.ip_network(entry, strict=False) for entry in trusted]

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client and self.is_trusted(client[0]):
            scope = self.rewritten(scope, read(scope["headers"]))
        await self.app(scope, receive, send)

    def rewritten(self, scope: Scope, said: Forwarded) -> Scope:
        scope = dict(scope)
        if said.addresses:
            scope["client"] = (self.client_of(said.addresses), 0)
        if said.proto is not None:
            scope["scheme"] = said.proto
        if said.host is not None:
            host = said.host.encode("latin-1")
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k != b"host"),
                (b"host", host),
            ]
        return scope

    def client_of(self, chain: list[str]) -> str:
        """The nearest address that is not a trusted proxy, walking back from the peer (as
        nginx's `real_ip_recursive`); the first of the chain when every one is trusted."""
        for address in reversed(chain):
            if not self.is_trusted(address):
                return address
        return chain[0]


def read(headers: Sequence[tuple[bytes, bytes]]) -> Forwarded:
    """`Forwarded` (RFC 7239) when present, else `X-Forwarded-For`, `-Proto` and `-Host`; values
    that are not addresses, schemes or hosts are dropped."""
    standard: list[str] = []
    legacy: dict[bytes, list[str]] = {}
    for name, value in headers:
        if name == b"forwarded":
            standard.append(value.decode("latin-1"))
        elif name in (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"):
            legacy.setdefault(name, []).append(value.decode("latin-1"))
    if standard:
        return _standard(",".join(standard))
    proto = _first(legacy.get(b"x-forwarded-proto"))
    host = _first(legacy.get(b"x-forwarded-host"))
    chain = [_address(item) for item in _items(legacy.get(b"x-forwarded-for"))]
    return Forwarded(
        addresses=[a for a in chain if a is not None],
        proto=proto.lower() if proto and proto.lower() in _SCHEMES else None,
        host=host if host and _HOST.fullmatch(host) else None,
    )


def _standard(text: str) -> Forwarded:
    addresses: list[str] = []
    proto = host = None
    for number, element in enumerate(text.split(",")):
        pairs = {}
        for pair in element.split(";"):
            key, _, value = pair.strip().partition("=")
            pairs[key.strip().lower()] = value.strip().strip('"')
        if "for" in pairs:
            address = _address(pairs["for"])
            if address is not None:
                addresses.append(address)
        # What the first proxy saw is what the client asked for.
        if number == 0:
            if pairs.get("proto", "").lower() in _SCHEMES:
                proto = pairs["proto"].lower()
            if _HOST.fullmatch(pairs.get("host", "")):
                host = pairs["host"]
    return Forwarded(addresses, proto, host)


def _items(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or () for item in value.split(",") if item.strip()]


def _first(values: list[str] | None) -> str | None:
    items = _items(values)
    return items[0] if items else None


def _address(text: str) -> str | None:
    """An IP address from `1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678` or `::1`; else None (RFC
    7239's `unknown` and obfuscated identifiers included)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
