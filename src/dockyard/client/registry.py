"""The entry points: a RegistryClient (connections, credentials and TLS settings shared by
every registry it talks to) gives a Registry per host, which gives Repository objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlencode

from dockyard.client.credentials import Anonymous, Credential, Credentials
from dockyard.client.errors import NOT_JSON, InvalidReference, InvalidRequest
from dockyard.client.listing import pages
from dockyard.client.reference import Reference, api_host
from dockyard.client.repository import Repository
from dockyard.client.session import Session
from dockyard.client.transport import HostOptions, RetryPolicy, Transport
from dockyard.kit.outbound import Guard
from dockyard.oci.names import is_valid_name


class RegistryClient:
    """Use as `async with RegistryClient(...) as client:`; closing it closes the
    connections. `hosts` maps `host[:port]` to how to reach it (TLS files, plain HTTP);
    `guard`, for calls made on a user's behalf, refuses internal addresses it does not open."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        hosts: dict[str, HostOptions] | None = None,
        retry: RetryPolicy | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.credentials = credentials if credentials is not None else Anonymous()
        self.transport = Transport(
            hosts=dict(hosts or {}), retry=retry or RetryPolicy(), guard=guard
        )
        self._registries: dict[str, Registry] = {}

    def registry(self, host: str) -> Registry:
        """`host[:port]`, or `docker.io` for Docker Hub."""
        found = self._registries.get(host)
        if found is None:
            found = Registry(Session(host, self.transport, self.credentials))
            self._registries[host] = found
        return found

    def repository(self, reference: Reference | str) -> Repository:
        """The repository a reference names (`ubuntu` is docker.io's `library/ubuntu`)."""
        parsed = reference if isinstance(reference, Reference) else Reference.parse(reference)
        return self.registry(parsed.registry).repository(parsed.repository)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One repository as `GET /v1/search` describes it."""

    name: str
    description: str = ""
    stars: int = 0
    official: bool = False


class Registry:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def host(self) -> str:
        return self.session.registry

    @property
    def url(self) -> str:
        """Where its API answers (Docker Hub's name and API host differ)."""
        return self.session.transport.base_url(api_host(self.host))

    def repository(self, name: str) -> Repository:
        if not is_valid_name(name):
            raise InvalidReference(f"invalid repository name {name!r}")
        return Repository(self.session, name)

    async def ping(self) -> None:
        """`GET /v2/`: checks the registry speaks the API, and learns how it authenticates
        (anonymously allowed, it answers 200 with no credentials asked)."""
        await self.session.request("GET", "/v2/", scopes=(), what=f"registry {self.host}")

    async def login(self) -> Credential | None:
        """Check the credentials work here; the credential worth storing (a refresh token
        when the token server gives one, else the credential as given)."""
        await self.ping()
        return await self.session.auth.login()

    def catalog(self, page_size: int | None = None) -> AsyncIterator[str]:
        """Every repository name the registry lists to us, following `Link` pages."""
        query = f"?n={page_size}" if page_size else ""
        return pages(self.session, f"/v2/_catalog{query}", "repositories",
                     ("registry:catalog:*",), f"catalog of {self.host}")  # fmt: skip

    async def search(self, term: str, limit: int = 25) -> list[SearchResult]:
        """`GET /v1/search?q=TERM&n=LIMIT`, what `docker search` asks (a registry without it
        answers 404: NotFound)."""
        what = f"search of {self.host}"
        # Learn how the registry authenticates first: a signed-in search sees private
        # repositories too (a token for registry:catalog:search, or Basic).
        await self.ping()
        response = await self.session.request(
            "GET", f"/v1/search?{urlencode({'q': term, 'n': limit})}",
            scopes=("registry:catalog:search",), what=what,
        )  # fmt: skip
        try:
            results = response.json().get("results") or []
            return [_search_result(item) for item in results if isinstance(item, dict)]
        except (*NOT_JSON, AttributeError, TypeError):
            raise InvalidRequest(f"{what}: the answer is not the expected JSON") from None


def _search_result(item: dict[str, object]) -> SearchResult:
    name, description = item.get("name"), item.get("description")
    stars, official = item.get("star_count"), item.get("is_official")
    if not isinstance(name, str):
        raise TypeError("a search result without a name")
    return SearchResult(
        name,
        description if isinstance(description, str) else "",
        stars if isinstance(stars, int) else 0,
        official is True,
    )
