"""Where counters live. Redis, when `cache.redis_url` names one, serves every kind: one count
for all workers and nodes. Without it, request counters stay in each process's memory (a write
per request to the database would cost more than the limit saves), and failed logins, which are
rare, go to the database so that the throttle holds across workers and nodes all the same; they
go there too while Redis does not answer (ratelimits/fallback.py)."""

from __future__ import annotations

from limits.aio.storage import MemoryStorage, Storage

from dockyard.config import CacheSettings, Settings
from dockyard.db.engine import Database
from dockyard.ratelimits.fallback import FallbackStorage
from dockyard.ratelimits.sql_storage import SqlStorage


def shared_storage(settings: Settings) -> Storage:
    """For failed logins: Redis, else (or while it is away) the database."""
    database = SqlStorage(Database(settings.database_url, pool_size=2))
    if settings.cache.redis_url:
        return FallbackStorage(redis_storage(settings.cache), database)
    return database


def request_storage(settings: Settings) -> Storage:
    """For request limits: Redis, else this process's memory."""
    if settings.cache.redis_url:
        return redis_storage(settings.cache)
    return MemoryStorage()


def redis_storage(cache: CacheSettings) -> Storage:
    from limits.aio.storage import RedisStorage

    assert cache.redis_url is not None
    return RedisStorage(
        "async+" + cache.redis_url,
        implementation="redispy",
        key_prefix=f"{cache.key_prefix}:limits",
        socket_timeout=cache.timeout_seconds,
        socket_connect_timeout=cache.timeout_seconds,
    )
