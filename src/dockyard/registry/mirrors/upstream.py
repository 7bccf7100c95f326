"""Talking to a rule's upstreams through dockyard.client: one RegistryClient per rule (its
credentials, CA files and timeout), each call tried on the upstreams in order, and the client's
errors turned into the answers Dockyard's own clients get."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from dockyard import client
from dockyard.kit.outbound import Allowed, Guard
from dockyard.registry.errors import ErrorCode, RegistryError
from dockyard.registry.mirrors.rules import MirrorRule, Upstream

log = logging.getLogger("dockyard.registry.mirrors")

T = TypeVar("T")

# Answers that say this upstream cannot serve now: the next one is tried, and this one skipped
# for a while. Anything else (NotFound, Denied) is the upstream's answer about the content.
FAILOVER = (
    client.RegistryUnavailable,
    client.TooManyRequests,
    client.DigestMismatch,
    client.TooLarge,
    client.Unauthorized,
)
# Answers to a request Dockyard makes upstream: 502 when the upstream answered wrongly, 503
# when it could not be reached.
BAD_GATEWAY = 502
UNREACHABLE = 503


def open_client(rule: MirrorRule) -> client.RegistryClient:
    settings = rule.settings
    credentials: dict[str, client.Credential] = {}
    hosts: dict[str, client.HostOptions] = {}
    for upstream in rule.upstreams:
        options = upstream.settings
        if options.username is not None and options.password is not None:
            secret = options.password.get_secret_value()
            credentials[upstream.host] = client.Credential(options.username, secret)
        hosts[upstream.host] = client.HostOptions(
            insecure=options.url.startswith("http://"), ca_file=options.ca_file
        )
    # One quick retry: a client waiting on this pull would rather get the cached copy (or an
    # error) than wait out a long Retry-After.
    retry = client.RetryPolicy(attempts=2, base_delay=0.1, max_delay=1.0, max_retry_after=0.0)
    # The upstreams are the operator's; where they send us (a token realm, a redirect) is
    # checked at connection time, as an upstream may be hostile or taken over: an internal
    # address only when the rule's `allow` opens it.
    own = frozenset(httpx.URL(upstream.url).netloc.decode() for upstream in rule.upstreams)
    guard = Guard(Allowed.of(settings.allow), "mirrors[].allow", own)
    opened = client.RegistryClient(client.StaticCredentials(credentials), hosts, retry, guard)
    opened.transport.timeout = httpx.Timeout(settings.timeout_seconds)
    return opened


async def first_answer(
    rule: MirrorRule,
    registry_client: client.RegistryClient,
    name: str,
    call: Callable[[client.Repository], Awaitable[T]],
) -> tuple[T, Upstream]:
    """`call` on the repository at the first upstream that answers, and that upstream; the
    last failure (as the client library raised it) when none does."""
    upstream_name = rule.upstream_name(name)
    if upstream_name is None:
        raise client.NameUnknown(f"{rule.label} maps {name} to no upstream repository")
    failure: client.RegistryError | None = None
    for upstream in rule.in_order():
        repository = registry_client.registry(upstream.host).repository(upstream_name)
        upstream.in_flight += 1
        try:
            answer = await _bounded(call(repository), _call_bound(rule))
        except FAILOVER as exc:
            log.warning("%s: upstream %s failed: %s", rule.label, upstream.url, exc)
            upstream.failed(rule.settings.retry_failed_after_seconds)
            failure = exc
            continue
        finally:
            upstream.in_flight -= 1
        upstream.recovered()
        return answer, upstream
    assert failure is not None
    raise failure


def _call_bound(rule: MirrorRule) -> float | None:
    """How long one call (a HEAD, or a manifest's GET) may take in all, retries included:
    the rule's timeout, and the largest manifest at its minimum rate. The client's timeout is
    per read, and an upstream that trickles must not hold the pulls that wait for it."""
    rate = rule.settings.min_bytes_per_second
    if rate == 0:  # no minimum rate: the operator takes trickles
        return None
    return rule.settings.timeout_seconds + client.MAX_MANIFEST_BYTES / rate


async def _bounded(answer: Awaitable[T], seconds: float | None) -> T:
    if seconds is None:
        return await answer
    try:
        async with asyncio.timeout(seconds):
            return await answer
    except TimeoutError:
        raise client.RegistryUnavailable(f"no whole answer within {seconds:g} s") from None


def translated(error: client.RegistryError, blob: bool = False) -> RegistryError:
    """The answer to Dockyard's client for what an upstream did."""
    message = f"upstream: {error}"
    if isinstance(error, client.NotFound):
        code = ErrorCode.BLOB_UNKNOWN if blob else ErrorCode.MANIFEST_UNKNOWN
        return RegistryError(code, message)
    if isinstance(error, client.TooManyRequests):
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = str(int(error.retry_after + 0.999))
        return RegistryError(ErrorCode.TOOMANYREQUESTS, message, headers=headers)
    if isinstance(error, client.RegistryUnavailable):
        return RegistryError(ErrorCode.UNAVAILABLE, message, status=UNREACHABLE)
    return RegistryError(ErrorCode.UNAVAILABLE, message, status=BAD_GATEWAY)
