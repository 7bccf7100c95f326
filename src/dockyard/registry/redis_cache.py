"""A shared cache of hot metadata in Redis (optional), correct across processes.

Why it stays correct (docs/decisions/0008-redis-cache.md):

- Every entry's key holds two random tokens: the cache's *epoch* and its repository's
  *generation*. A change to a repository commits to the database first, then replaces the
  generation with a new token: every later lookup builds other keys, so no reader can find
  what was cached before the change. Nothing is deleted; old entries expire (TTL).
- A reader fetches the tokens (and the entry, in the same round trip) *before* it reads the
  database, and stores what the database said under the tokens it fetched. A reader that read
  the old value just before a change thus stores it under the old generation, where nobody
  looks any more: the read-then-populate race is harmless, with no lock and no WATCH.
- Tokens are random, not counters: a generation that Redis evicted or lost comes back as a new
  token, never as an old number whose entries might still be there.
- Redis down or slow: every error is caught and the database answers. A change whose new
  generation could not be written leaves this process *dirty*: before it uses Redis again it
  replaces the epoch, which invalidates every entry of every repository. Until it manages that
  (it retries every second), or at most `ttl_seconds`, another process may still read an entry
  that the lost invalidation should have removed: that is the bound on staleness.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dockyard.config import CacheSettings
from dockyard.metrics import switch
from dockyard.registry.cache import Codec, MetadataCache, T

log = logging.getLogger("dockyard.cache")

# After a failure, Redis is left alone this long: a dead Redis costs a request nothing.
RETRY_AFTER = 1.0
# At most one warning per interval, however many requests fail.
WARN_EVERY = 60.0

_FAILURES = (RedisError, OSError, TimeoutError)

# KEYS[1]: the epoch, KEYS[2]: the repository's generation; ARGV[1]: a fresh token for either
# if missing, ARGV[2]: the entry's name. Returns the entry's full key and its value (or nil).
# The entry's key is built here, so this needs a standalone Redis (or a primary), not Cluster.
_LOOKUP = """
local function token(key)
  local value = redis.call('GET', key)
  if not value then
    value = ARGV[1]
    redis.call('SET', key, value)
  end
  return value
end
local slot = KEYS[1] .. ':' .. token(KEYS[1]) .. ':' .. token(KEYS[2]) .. ':' .. ARGV[2]
return {slot, redis.call('GET', slot)}
"""


class RedisCache(MetadataCache):
    def __init__(self, settings: CacheSettings) -> None:
        assert settings.redis_url is not None
        self._client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.timeout_seconds,
            socket_connect_timeout=settings.timeout_seconds,
            # redis-py retries 3 times with seconds of backoff by default: here a failed call
            # falls back to the database at once.
            retry=Retry(NoBackoff(), 0),
        )
        self._lookup = self._client.register_script(_LOOKUP)
        self._prefix = settings.key_prefix
        self._ttl = settings.ttl_seconds
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY
        self._failing = False
        # Invalidations lost so far, and how many of them the last new epoch covers: the
        # process is dirty while they differ.
        self._lost = 0
        self._covered = 0
        self._healing: asyncio.Task[None] | None = None

    async def read_through(
        self,
        repository: str,
        key: str,
        load: Callable[[], Awaitable[T | None]],
        codec: Codec[T],
    ) -> T | None:
        slot, cached = await self._fetch(repository, key)
        if switch.on:
            _count_lookup("error" if slot is None else "miss" if cached is None else "hit")
        if cached is not None:
            return codec.decode(cached)
        value = await load()
        if value is not None and slot is not None:
            await self._store(slot, codec.encode(value))
        return value

    async def changed(self, repository: str, change: Awaitable[T]) -> T:
        # One shielded task: a request cancelled after the commit still invalidates.
        async def change_then_invalidate() -> T:
            result = await change
            await self._invalidate(repository)
            return result

        return await asyncio.shield(change_then_invalidate())

    async def close(self) -> None:
        if self._healing is not None:
            self._healing.cancel()
        await self._client.aclose()

    async def _fetch(self, repository: str, key: str) -> tuple[str | None, bytes | None]:
        """The entry's full key under the current tokens, and its cached value."""
        if not await self._usable():
            return None, None
        try:
            keys = [f"{self._prefix}:epoch", f"{self._prefix}:generation:{repository}"]
            slot, value = await self._lookup(keys=keys, args=[_token(), f"{repository}:{key}"])
        except _FAILURES as exc:
            self._failed(exc)
            return None, None
        self._succeeded()
        return slot.decode(), value

    async def _store(self, slot: str, value: bytes) -> None:
        try:
            await self._client.set(slot, value, ex=self._ttl)
        except _FAILURES as exc:
            self._failed(exc)

    async def _invalidate(self, repository: str) -> None:
        if await self._usable():
            try:
                await self._client.set(f"{self._prefix}:generation:{repository}", _token())
                self._succeeded()
                return
            except _FAILURES as exc:
                self._failed(exc)
        self._lost += 1
        if self._healing is None or self._healing.done():
            self._healing = asyncio.create_task(self._heal())

    async def _usable(self) -> bool:
        """False while Redis is left alone; a dirty process first replaces the epoch."""
        if time.monotonic() < self._down_until:
            return False
        if not self._dirty:
            return True
        # Only the losses counted before the SET is sent are surely behind it.
        lost = self._lost
        try:
            await self._client.set(f"{self._prefix}:epoch", _token())
        except _FAILURES as exc:
            self._failed(exc)
            return False
        self._covered = max(self._covered, lost)
        self._succeeded()
        return not self._dirty

    @property
    def _dirty(self) -> bool:
        return self._covered != self._lost

    async def _heal(self) -> None:
        """Replace the epoch as soon as Redis answers, even if no request comes to do it."""
        while self._dirty:
            await asyncio.sleep(RETRY_AFTER)
            await self._usable()

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + RETRY_AFTER
        self._failing = True
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(
                "redis cache unavailable, the database answers (%s: %s)", type(exc).__name__, exc
            )

    def _succeeded(self) -> None:
        if self._failing:
            self._failing = False
            log.info("redis cache available again")


def _token() -> str:
    return secrets.token_hex(8)


def _count_lookup(result: str) -> None:
    from dockyard.metrics import families

    families.cache_lookups.labels(result).inc()
