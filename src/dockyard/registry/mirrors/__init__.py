"""Pull-through caching of other registries: names under a configured prefix (or any name not
found here) are fetched from upstream registries through dockyard.client, verified, stored and
served (docs/decisions/0025-mirrors.md)."""

from dockyard.registry.mirrors.fetch import BlobFetch
from dockyard.registry.mirrors.service import Mirrors

__all__ = ["BlobFetch", "Mirrors"]
