"""Requests to one registry: its base URL, its authenticator, the transport's retries, and the
refusal of any answer the caller did not expect, as the matching exception."""

from __future__ import annotations

from collections.abc import Collection

import httpx

from dockyard.client.auth import Authenticator
from dockyard.client.credentials import Credentials
from dockyard.client.errors import InvalidURL, error_from_response
from dockyard.client.reference import api_host
from dockyard.client.transport import Body, Transport, _is_one_shot, read_body


class Session:
    def __init__(self, registry: str, transport: Transport, credentials: Credentials) -> None:
        self.registry = registry
        self.host = api_host(registry)
        self.transport = transport
        self.base_url = transport.base_url(self.host)
        self.auth = Authenticator(registry, credentials, transport)

    def url(self, path_or_url: str) -> str:
        """A path under the registry, or a URL the registry gave (Location, Link), resolved
        against the registry's own."""
        try:
            return str(httpx.URL(self.base_url).join(path_or_url))
        except httpx.InvalidURL as exc:
            raise InvalidURL(f"{self.registry} gave an invalid URL: {exc}") from None

    async def request(
        self,
        method: str,
        path: str,
        *,
        scopes: tuple[str, ...],
        what: str,
        expect: Collection[int] = (200,),
        headers: dict[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        retryable: bool | None = None,
    ) -> httpx.Response:
        """The answer when its status is one of `expect` (still open when `stream`), else the
        exception for it. A 401 is answered once: with a token for the scopes, or Basic."""
        url = self.url(path)
        for attempt in (0, 1):
            sent = {**(headers or {}), **await self.auth.headers(scopes)}
            response = await self.transport.send(
                method, url, headers=sent, body=body, stream=stream, what=what,
                retryable=retryable,
            )  # fmt: skip
            if response.status_code == 401 and attempt == 0 and not _is_one_shot(body):
                await read_body(response, what)
                scopes = await self.auth.challenged(response, scopes, what)
                continue
            break
        if response.status_code in expect:
            return response
        await read_body(response, what)
        raise error_from_response(response, what)
