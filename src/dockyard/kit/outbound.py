"""Which addresses Dockyard may call on a user's behalf (event endpoints, webhooks,
replication): a URL's host is resolved at every request and refused when any of its addresses
is internal (loopback, private, link-local, multicast, reserved, unspecified), unless the
configuration opens it. The request then goes to the address that was checked, never to a
second resolution of the name (which a DNS rebinding could point elsewhere)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(Exception):
    """The endpoint's URL may not be called."""


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    url: str  # with the checked address in place of the host name
    host_header: str
    sni_hostname: str | None  # for https: the name the certificate must carry


@dataclass(frozen=True, slots=True)
class Allowed:
    """An allow-list (`index.webhooks.allow`, `replication.allow`): host names, and addresses
    or networks, opened although internal."""

    hosts: frozenset[str]
    networks: tuple[Network, ...]

    @classmethod
    def of(cls, entries: Sequence[str]) -> Allowed:
        hosts, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def opens(self, host: str, address: Address) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return any(address in network for network in self.networks)


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def checked_addresses(url: str, allowed: Allowed, setting: str) -> list[Address]:
    """The addresses of `url`'s host, once each passed the rule: internal ones only when
    `allowed` opens them (`setting` names the allow-list in the refusal)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    for address in addresses:
        if is_internal(address) and not allowed.opens(host, address):
            raise TargetRefused(
                f"{host} resolves to the internal address {address} (not in {setting})"
            )
    return addresses


async def resolve_target(url: str, allow_private: bool) -> ResolvedTarget:
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused(f"not an http(s) URL: {url[:200]!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"{host} has no address")
    internal = [str(a) for a in addresses if is_internal(a)]
    if internal and not allow_private:
        raise TargetRefused(
            f"{host} resolves to the internal address {internal[0]}"
            " (notifications.allow_private_targets is false)"
        )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{port}" if parts.port else literal
    host_header = parts.netloc.rpartition("@")[2]
    checked = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return ResolvedTarget(checked, host_header, host if parts.scheme == "https" else None)


@dataclass(frozen=True, slots=True)
class Guard:
    """The rule for one kind of outbound call: `allowed` opens internal addresses, `setting`
    names that allow-list in refusals, `trusted` hosts (`host:port`, e.g. Dockyard's own
    loopback address) are not checked."""

    allowed: Allowed
    setting: str
    trusted: frozenset[str] = frozenset()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks every request's host (redirects and token realms
    included) and connects to the checked address: the URL's host is replaced by it, while the
    Host header and, for https, the name the certificate must carry stay the original's."""

    def __init__(self, inner: httpx.AsyncBaseTransport, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.netloc.decode() in self.guard.trusted:
            return await self.inner.handle_async_request(request)
        addresses = await checked_addresses(str(url), self.guard.allowed, self.guard.setting)
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = url.host
        for address in addresses:
            # A copy: the client resolves redirects against the request it sent, named as it was.
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await self.inner.handle_async_request(pinned)
            except httpx.ConnectError:  # nothing sent yet: the name's next address
                if address == addresses[-1]:
                    raise
        raise AssertionError("unreachable: a name has an address")

    async def aclose(self) -> None:
        await self.inner.aclose()
