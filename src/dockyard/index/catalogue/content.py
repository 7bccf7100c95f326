"""Where the catalogue reads the manifests and image configs that events name: this process's
registry, or another registry over HTTP (remote.py)."""

from __future__ import annotations

from typing import Protocol

from dockyard.oci.digest import Digest, InvalidDigest
from dockyard.registry.errors import RegistryError
from dockyard.registry.references import Reference
from dockyard.registry.state import Registry


class Content(Protocol):
    async def manifest(self, repository: str, digest: str) -> tuple[str, bytes] | None:
        """The manifest's media type and body; None when the repository does not hold it.
        Raises NotNow when the registry cannot answer now."""

    async def blob(self, repository: str, digest: str, limit: int) -> bytes | None:
        """The blob's bytes; None when it is not there or larger than `limit`."""

    async def close(self) -> None:
        """At shutdown: let go of connections."""


class RegistryContent:
    """This process's registry, read through its services as a request would be."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def manifest(self, repository: str, digest: str) -> tuple[str, bytes] | None:
        try:
            reference = Reference(None, Digest.parse(digest))
            record = await self.registry.manifests.get(repository, reference)
        except (InvalidDigest, RegistryError):
            return None
        return record.media_type, record.body

    async def blob(self, repository: str, digest: str, limit: int) -> bytes | None:
        try:
            parsed = Digest.parse(digest)
            info = await self.registry.blobs.stat(repository, parsed)
            if info.size > limit:
                return None
            chunks = await self.registry.blobs.read(parsed, 0, info.size)
        except (InvalidDigest, RegistryError):
            return None
        return b"".join([chunk async for chunk in chunks])

    async def close(self) -> None:
        return None  # the registry closes its own services
