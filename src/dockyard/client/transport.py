"""Connections to registries: one httpx.AsyncClient per host (HTTP/1.1, kept alive, its own TLS
settings), and retries with back-off on 429, 5xx and broken connections.

One client per host because TLS trust is per registry (a private CA here, a client certificate
there), and httpx fixes it per client."""

from __future__ import annotations

import asyncio
import email.utils
import random
import ssl
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import httpx

from dockyard.client.errors import (
    InvalidURL,
    RegistryError,
    RegistryUnavailable,
    TooLarge,
    TooManyRequests,
    error_from_response,
)
from dockyard.client.reference import is_loopback
from dockyard.kit.outbound import Guard, GuardedTransport, TargetRefused

# A body that can be sent again: bytes, or a function that opens the same stream anew.
BodyFactory = Callable[[], AsyncIterable[bytes]]
Body = Union[bytes, BodyFactory, AsyncIterable[bytes], None]  # noqa: UP007 (runtime alias)

# An answer read whole (a page of tags or repositories, a token, a referrers index) may be
# this large once decoded; an error's body is read this far, the rest dropped. A registry, or
# a token server, that sends more (or a small gzip that inflates to gigabytes) must not fill
# the memory of the process reading it: a mirror or a replication reads other registries.
MAX_ANSWER_BYTES = 64 << 20
MAX_ERROR_BYTES = 64 << 10

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Connection-level failures worth another attempt (not TLS or certificate errors).
RETRY_ERRORS = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError,
                httpx.TimeoutException)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HostOptions:
    """How to reach one registry. `insecure`: True for plain HTTP, False for HTTPS, None (the
    default) for Docker's choice: plain HTTP to loopback hosts unless TLS files are given, else
    HTTPS with the system's CAs or `ca_file`."""

    insecure: bool | None = None
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    def scheme(self, host: str) -> str:
        if self.insecure is not None:
            return "http" if self.insecure else "https"
        if self.ca_file is not None or self.client_cert is not None:
            return "https"
        return "http" if is_loopback(host) else "https"

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.client_cert is not None:
            key = str(self.client_key) if self.client_key else None
            context.load_cert_chain(str(self.client_cert), key)
        return context


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `attempts` tries; waits double from `base_delay` up to `max_delay` with jitter,
    or what Retry-After says when it says no more than `max_retry_after`."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2**attempt) * random.uniform(0.5, 1))


@dataclass
class Transport:
    """The HTTP clients of every host one RegistryClient talks to (registries and their token
    servers), created on first use."""

    hosts: dict[str, HostOptions] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0))
    user_agent: str = "dockyard-client/0.1"
    # Checks every address called (the server's calls on a user's behalf); None: any.
    guard: Guard | None = None
    _clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def options(self, host: str) -> HostOptions:
        return self.hosts.get(host, HostOptions())

    def base_url(self, host: str) -> str:
        return f"{self.options(host).scheme(host)}://{host}"

    def client(self, host: str) -> httpx.AsyncClient:
        client = self._clients.get(host)
        if client is None:
            options = self.options(host)
            verify: ssl.SSLContext | bool = (
                options.ssl_context() if options.scheme(host) == "https" else True
            )
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(
                verify=verify, limits=limits
            )
            if self.guard is not None:
                transport = GuardedTransport(transport, self.guard)
            client = httpx.AsyncClient(
                transport=transport,
                timeout=self.timeout,
                headers={"User-Agent": self.user_agent},
                follow_redirects=True,
                max_redirects=10,
                event_hooks={"request": [_refuse_invalid_port]},
            )
            self._clients[host] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        what: str,
        retryable: bool | None = None,
    ) -> httpx.Response:
        """One request, tried again on 429, 5xx and broken connections when that is safe: the
        method is idempotent (or `retryable` says so) and the body can be sent again.
        Returns any other answer as it came (a streamed one still open)."""
        replayable = not _is_one_shot(body)
        if retryable is None:
            retryable = method in IDEMPOTENT
        attempts = self.retry.attempts if retryable and replayable else 1
        try:
            host = httpx.URL(url).netloc.decode()
        except httpx.InvalidURL as exc:
            raise InvalidURL(f"{what}: invalid URL: {exc}") from None
        client = self.client(host)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            request = client.build_request(method, url, headers=headers, content=_content(body))
            try:
                response = await client.send(request, stream=True)
                if not stream and response.status_code not in RETRY_STATUSES:
                    # As `aread()` keeps it, which reads without a bound.
                    response._content = await _read(response, MAX_ANSWER_BYTES, what)
            except httpx.TooManyRedirects:
                raise RegistryError(f"{what}: too many redirects") from None
            except TargetRefused as exc:
                raise RegistryError(f"{what}: {exc}") from None
            except RETRY_ERRORS as exc:
                if last or _is_tls_refusal(exc):
                    raise RegistryUnavailable(f"{what}: {_describe(exc)}") from None
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            except httpx.HTTPError as exc:
                raise body_error(exc, what) from None
            if response.status_code not in RETRY_STATUSES:
                return response
            wait = retry_after(response)
            if last or (wait is not None and wait > self.retry.max_retry_after):
                await read_body(response, what)
                error = error_from_response(response, what)
                if isinstance(error, TooManyRequests):
                    error.retry_after = wait
                raise error
            await response.aclose()
            await asyncio.sleep(wait if wait is not None else self.retry.delay(attempt))
        raise AssertionError("unreachable")


async def _refuse_invalid_port(request: httpx.Request) -> None:
    """Every request, redirects included: a port past 65535 (a token realm or Location a
    registry gave) made the socket raise OverflowError inside anyio's task group."""
    port = request.url.port
    if port is not None and not 0 < port < 65536:
        raise InvalidURL(f"{request.url}: invalid port")


async def read_body(response: httpx.Response, what: str) -> None:
    """Read the start of an answer that is not the one wanted (its error, if it says one:
    MAX_ERROR_BYTES of it), and close it."""
    try:
        response._content = await _read(response, MAX_ERROR_BYTES, what, cut=True)
    except httpx.HTTPError as exc:
        raise body_error(exc, what) from None


async def read_within(response: httpx.Response, limit: int, what: str) -> bytes:
    """A streamed answer's body, decoded, at most `limit` bytes (TooLarge past it); the answer
    is closed."""
    try:
        return await _read(response, limit, what)
    except httpx.HTTPError as exc:
        raise body_error(exc, what) from None


async def _read(response: httpx.Response, limit: int, what: str, cut: bool = False) -> bytes:
    """The body, decoded, up to `limit` bytes: TooLarge past it, or with `cut` what came up to
    it. httpx's errors are the caller's to handle."""
    body = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                if cut:
                    del body[limit:]
                    break
                raise TooLarge(f"{what}: the answer is larger than {limit} bytes")
    finally:
        await response.aclose()
    return bytes(body)


def body_error(error: httpx.HTTPError, what: str) -> RegistryError:
    """The client's error for an answer that broke off (the registry is away) or whose body
    cannot be decoded (a Content-Encoding it does not hold to)."""
    if isinstance(error, httpx.DecodingError):
        return RegistryError(f"{what}: the answer cannot be decoded: {_describe(error)}")
    return RegistryUnavailable(f"{what}: {_describe(error)}")


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds: a number, or an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _is_tls_refusal(error: BaseException) -> bool:
    """A certificate or handshake refusal: trying again would be refused the same way."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_one_shot(body: Body) -> bool:
    return body is not None and not isinstance(body, bytes) and not callable(body)


def _content(body: Body) -> bytes | AsyncIterable[bytes] | None:
    if callable(body):
        return body()
    return body


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
