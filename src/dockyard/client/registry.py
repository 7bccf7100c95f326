"""The entry points: a RegistryClient (connections, credentials and TLS settings shared by
every registry it talks to) gives a Registry per host, which gives Repository objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType

from dockyard.client.credentials import Anonymous, Credential, Credentials
from dockyard.client.errors import InvalidReference
from dockyard.client.listing import pages
from dockyard.client.reference import Reference, api_host
from dockyard.client.repository import Repository
from dockyard.client.session import Session
from dockyard.client.transport import HostOptions, RetryPolicy, Transport
from dockyard.oci.names import is_valid_name


class RegistryClient:
    """Use as `async with RegistryClient(...) as client:`; closing it closes the
    connections. `hosts` maps `host[:port]` to how to reach it (TLS files, plain HTTP)."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        hosts: dict[str, HostOptions] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.credentials = credentials if credentials is not None else Anonymous()
        self.transport = Transport(hosts=dict(hosts or {}), retry=retry or RetryPolicy())
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
