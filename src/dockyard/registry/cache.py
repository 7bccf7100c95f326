"""The registry's metadata cache: none (every lookup asks the database), or a shared cache of
hot metadata in Redis (redis_cache.py), imported only when `cache.redis_url` names one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dockyard.config import CacheSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How a cached value becomes bytes and back."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


class MetadataCache:
    """No cache: every lookup goes to the database. RedisCache is the real one."""

    async def read_through(
        self,
        repository: str,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        codec: Codec[T],
    ) -> T | None:
        """The cached value of `key` in `repository`, or what `load` answers (then cached).
        Only values are cached, never None: an absence is always asked of the database."""
        return await load()

    async def changed(self, repository: str, change: Awaitable[T]) -> T:
        """Await a database change, then invalidate the repository's entries."""
        return await change

    async def close(self) -> None:
        return None


def create_cache(settings: CacheSettings) -> MetadataCache:
    if not settings.redis_url:
        return MetadataCache()
    from dockyard.registry.redis_cache import RedisCache

    return RedisCache(settings)
