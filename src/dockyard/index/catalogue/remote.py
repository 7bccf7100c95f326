"""Another registry's manifests and image configs over HTTP, for the catalogue of an index in
front of it (docs/operations.md, "An index in front of other registries").

The index is the token service that registry trusts: on a Bearer challenge this signs a pull
token itself, for the repository and the challenge's `service`, with the index's own key (no
account, no password, no round trip to /token). Registries that ask for Basic credentials are
not supported: their events wait, and each attempt logs why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from dockyard.auth.keys import SigningKey
from dockyard.auth.scopes import PULL, Scope
from dockyard.auth.tokens import TokenIssuer
from dockyard.oci import mediatypes
from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.oci.names import is_valid_name
from dockyard.registry.events.local import NotNow

log = logging.getLogger("dockyard.catalogue")

# What a manifest GET accepts: every image manifest and index type the catalogue reads.
ACCEPT = ", ".join(sorted(mediatypes.MANIFESTS))
# Manifests larger than this are not read (the registry side refuses bigger ones anyway).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# Signed tokens live this long, and are used until this margin before they expire.
TOKEN_SECONDS = 300
TOKEN_MARGIN_SECONDS = 60
# The subject of the tokens: no account is called so (names cannot start with "@").
SUBJECT = "@remote-catalogue"
# A blob GET may be sent on to storage (Distribution on S3 redirects to a signed URL).
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    usable_until: float


class PullTokens:
    """Pull tokens this index signs for the remote registry, one per repository and service,
    kept until shortly before they expire."""

    def __init__(self, key: SigningKey, issuer: str) -> None:
        self.issuer = TokenIssuer(key, issuer, TOKEN_SECONDS)
        self._tokens: dict[tuple[str, str], _Token] = {}

    def token(self, repository: str, service: str) -> str:
        key = (repository, service)
        found = self._tokens.get(key)
        if found is not None and time.monotonic() < found.usable_until:
            return found.value
        scope = Scope("repository", repository, (PULL,))
        issued = self.issuer.issue(SUBJECT, service, [scope])
        usable = time.monotonic() + issued.expires_in - TOKEN_MARGIN_SECONDS
        if len(self._tokens) >= 4096:
            self._tokens.clear()  # bounded; a refill costs one signature per repository
        self._tokens[key] = _Token(issued.token, usable)
        return issued.token


class HttpContent:
    """Content (content.py) read from the registry at `base_url`; with no URL, nothing can be
    read and the catalogue applies events without sizes and platforms."""

    def __init__(
        self,
        base_url: str | None,
        tokens: PullTokens,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.tokens = tokens
        # The `service` of the registry's Bearer challenge, once it has sent one.
        self._service: str | None = None
        # Redirects are followed by hand: the token goes only to the registry itself.
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=TIMEOUT_SECONDS, transport=transport
        )

    async def manifest(self, repository: str, digest: str) -> tuple[str, bytes] | None:
        return await self._get(
            repository, "manifests", digest, {"Accept": ACCEPT}, MAX_MANIFEST_BYTES
        )

    async def blob(self, repository: str, digest: str, limit: int) -> bytes | None:
        found = await self._get(repository, "blobs", digest, {}, limit)
        return None if found is None else found[1]

    async def close(self) -> None:
        await self._client.aclose()

    async def _get(
        self, repository: str, kind: str, digest: str, headers: dict[str, str], limit: int
    ) -> tuple[str, bytes] | None:
        """The media type and body of the manifest or blob (`kind`); None when the registry
        does not have it, it is larger than `limit`, or what came is not what the digest
        names; NotNow when it cannot be read now."""
        path = _path(repository, kind, digest)
        if self.base_url is None or path is None:
            return None
        url = self.base_url + path
        sent = headers
        if self._service is not None:  # challenged before: the token goes at once
            sent = self._authorised(headers, repository, self._service)
        response = await self._send(url, sent, limit)
        if response.status == 401:
            challenge = parse_challenge(response.challenge)
            if challenge is None:
                raise NotNow(f"{self.base_url} asks for credentials the index cannot give")
            service = challenge.get("service", "")
            if sent is headers or service != self._service:  # else: the token was refused
                self._service = service
                sent = self._authorised(headers, repository, service)
                response = await self._send(url, sent, limit)
        for _ in range(MAX_REDIRECTS):
            if response.location is None:
                break
            target = urljoin(response.url, response.location)
            # The token only to the registry itself, never on to storage.
            same = _origin(target) == _origin(self.base_url)
            response = await self._send(target, headers if not same else response.sent, limit)
        found = _result(response, url)
        if found is not None and str(Digest.of(found[1], digest.partition(":")[0])) != digest:
            # A registry the index trusts, yet the catalogue keeps nothing it did not check.
            log.warning("GET %s: the answer is not what its digest names; not read", url)
            return None
        return found

    def _authorised(self, headers: dict[str, str], repository: str, service: str) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self.tokens.token(repository, service)}"}

    async def _send(self, url: str, headers: dict[str, str], limit: int) -> _Answer:
        try:
            # One bound for the whole answer: httpx's timeout is per read, and a body that
            # trickles in would hold the catalogue's events for ever.
            async with (
                asyncio.timeout(TIMEOUT_SECONDS),
                self._client.stream("GET", url, headers=headers) as response,
            ):
                answer = _Answer(response.status_code, url, headers)
                if response.is_redirect:
                    answer.location = response.headers.get("location")
                elif response.status_code == 401:
                    answer.challenge = response.headers.get("www-authenticate", "")
                elif response.status_code == 200:
                    answer.media_type = response.headers.get("content-type", "").split(";")[0]
                    answer.body = await _read(response, limit)
                return answer
        except TimeoutError:
            raise NotNow(f"GET {url}: timed out after {TIMEOUT_SECONDS:g} s") from None
        except httpx.HTTPError as exc:
            raise NotNow(f"GET {url}: {type(exc).__name__}: {exc}") from None


@dataclass(slots=True)
class _Answer:
    status: int
    url: str
    sent: dict[str, str]  # the request's headers, for a redirect to the same registry
    location: str | None = None
    challenge: str = ""
    media_type: str = ""
    body: bytes | None = None  # None on a 200: larger than the limit


def _result(response: _Answer, url: str) -> tuple[str, bytes] | None:
    status = response.status
    if status == 200:
        return None if response.body is None else (response.media_type, response.body)
    if status in (401, 403):
        raise NotNow(f"GET {url}: HTTP {status}: does the registry trust the index's key?")
    if status == 429 or status >= 500 or response.location is not None:
        raise NotNow(f"GET {url}: HTTP {status}")
    return None  # 404, or a request it will never take: read as not there


async def _read(response: httpx.Response, limit: int) -> bytes | None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def parse_challenge(header: str) -> dict[str, str] | None:
    """The parameters of a `Bearer` challenge (realm, service, scope); None for any other."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    found: dict[str, str] = {}
    for part in _split_params(rest):
        name, equals, value = part.partition("=")
        if equals:
            found[name.strip().lower()] = value.strip().strip('"')
    return found


def _split_params(text: str) -> list[str]:
    """`a="x,y",b=z` → ['a="x,y"', 'b=z']: commas inside quotes belong to the value (a scope
    may list actions)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _path(repository: str, kind: str, digest: str) -> str | None:
    """The URL path, or None for a name or digest no registry holds (the events are another
    process's words: nothing of them goes into a URL unchecked)."""
    if not is_valid_name(repository):
        return None
    try:
        Digest.parse(digest)
    except InvalidDigest:
        return None
    return f"/v2/{repository}/{kind}/{digest}"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
