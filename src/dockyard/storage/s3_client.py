"""The S3 client the S3 driver talks through: aiobotocore, configured from `storage.s3`.

An aiobotocore client belongs to the event loop it was opened on (its aiohttp session
does), while the driver is built before any loop runs: the client is opened on first use
in each loop and closed by `close()`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from dockyard.config import STORE_TIMEOUT_SECONDS, S3Settings

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client


def client_config(settings: S3Settings, timeout: float = STORE_TIMEOUT_SECONDS) -> AioConfig:
    addressing = settings.addressing
    if addressing == "auto":
        addressing = "path" if settings.endpoint else "virtual"
    return AioConfig(
        s3={"addressing_style": addressing},
        # Presigned URLs would otherwise use SigV2, which newer AWS regions refuse.
        signature_version="s3v4",
        # botocore >= 1.36 adds CRC checksums that many S3-compatible stores refuse.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # botocore's own number: a store that refuses connections answers 503 after a few
        # seconds of back-off (five attempts took 25 s for each request).
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=timeout,
        # Many uploads and downloads stream at once; botocore's default pool is 10.
        max_pool_connections=64,
        connector_args={"socket_factory": _socket_noticing_silence},
    )


# A store cut off without a word (a network partition: packets dropped, no reset) held a
# request writing to it for as long as the kernel retransmits, about a quarter of an hour
# (read_timeout covers reads only): data unacknowledged this long, or a connection silent past
# the keepalives, now fails (503, as for a store that refuses connections).
SILENCE_MS = 10_000
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 10, 5, 3


def _socket_noticing_silence(address: Any) -> socket.socket:
    """aiohttp's socket for an address (getaddrinfo's tuple), with TCP_USER_TIMEOUT and
    keepalives set."""
    family, kind, protocol, _, _ = address
    made = socket.socket(family=family, type=kind, proto=protocol)
    made.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, SILENCE_MS)
    made.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    made.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
    made.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
    made.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_COUNT)
    return made


class ClientHolder:
    """One open client per event loop, opened when first asked for."""

    def __init__(self, settings: S3Settings, timeout: float = STORE_TIMEOUT_SECONDS) -> None:
        self._settings = settings
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._client: S3Client | None = None

    async def get(self) -> S3Client:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A client from a loop that is gone cannot be closed any more; start afresh.
            self._loop, self._opening, self._stack, self._client = loop, asyncio.Lock(), None, None
        async with self._opening:
            if self._client is None:
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(self._create())
                self._client.meta.events.register("before-call.s3.DeleteObjects", _content_md5)
                self._stack = stack
            return self._client

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None and self._loop is asyncio.get_running_loop():
            await stack.aclose()

    def _create(self) -> ClientCreatorContext[S3Client]:
        settings = self._settings
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        verify: bool | str = settings.verify_tls
        if settings.verify_tls and settings.ca_bundle is not None:
            verify = str(settings.ca_bundle)
        return get_session().create_client(
            "s3",
            endpoint_url=settings.endpoint,
            region_name=settings.region,
            aws_access_key_id=settings.access_key,
            aws_secret_access_key=secret,
            verify=verify,
            config=client_config(settings, self._timeout),
        )


def _content_md5(params: dict[str, Any], **_: Any) -> None:
    """DeleteObjects with a Content-MD5 header, which S3 once required and some S3-compatible
    stores still do (Swift's s3api): botocore >= 1.36 sends a CRC checksum instead, and with
    `request_checksum_calculation="when_required"` on a non-AWS endpoint, none at all."""
    headers = params["headers"]
    if "Content-MD5" not in headers:
        digest = hashlib.md5(params["body"], usedforsecurity=False).digest()
        headers["Content-MD5"] = base64.b64encode(digest).decode()
