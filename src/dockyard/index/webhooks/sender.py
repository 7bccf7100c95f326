"""Sending queued deliveries: every process runs a Sender; each takes a due delivery's lease
with one conditional UPDATE, so with several processes or nodes each attempt is made once.
An attempt resolves the hook's URL again (DNS may have changed since it was set), calls the
checked address without following redirects, and is recorded whatever came of it. A failed
delivery is retried with a doubling back-off up to `max_attempts`; a hook whose deliveries
fail `disable_after` times in a row is switched off, and says why."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Connection

from dockyard import __version__
from dockyard.config import WebhookSettings
from dockyard.db.engine import Database
from dockyard.index.webhooks import repository
from dockyard.index.webhooks.addresses import Allowed, resolve
from dockyard.index.webhooks.repository import DELIVERED, FAILED, Claimed
from dockyard.index.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from dockyard.kit import unavailable
from dockyard.kit.attempts import Attempts, pause
from dockyard.kit.outbound import TargetRefused
from dockyard.registry.metadata import now

log = logging.getLogger("dockyard.webhooks")

POLL_SECONDS = 0.5
# A lease outlives the longest attempt by this much: a killed sender's delivery waits no longer.
LEASE_MARGIN_SECONDS = 5.0
EXCERPT_BYTES = 1024  # of each answer, kept with the attempt


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    response: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    def __init__(self, database: Database, settings: WebhookSettings) -> None:
        self.database = database
        self.settings = settings
        self.allowed = Allowed.of(settings.allow)
        self.owner = uuid.uuid4().hex  # this process, as a lease holder
        self.wake = asyncio.Event()  # set when this process queued deliveries
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        # By hook: one attempt of each at a time.
        self.attempts: Attempts[int] = Attempts(settings.parallel, self.wake, log)

    async def run(self) -> None:
        """Until cancelled: start an attempt at what is due whenever a place is free, then
        wait for the next poll, a wake-up, or an attempt's end."""
        try:
            while True:
                try:
                    await self.start_due()
                except Exception as exc:
                    # The database away, for instance: the next round tries again.
                    unavailable.log_failure(log, "sending webhooks failed", exc)
                await pause(self.wake, POLL_SECONDS)
        finally:
            await self.attempts.stop()

    async def close(self) -> None:
        await self.attempts.stop()
        await self._client.aclose()

    async def start_due(self) -> int:
        """Claim due deliveries no one holds, as many as there are free places, the earliest
        of each hook that has none under way here, and start an attempt at each; how many."""
        free = self.attempts.free
        if free <= 0:
            return 0
        moment = now()
        until = moment + timedelta(seconds=self.settings.timeout + LEASE_MARGIN_SECONDS)
        busy = self.attempts.busy()
        claimed = await self.database.in_thread(self._claim, moment, until, free, busy)
        for row in claimed:
            self.attempts.start(row.hook_id, self._attempt(row), f"webhook delivery {row.id}")
        return len(claimed)

    def _claim(
        self,
        connection: Connection,
        moment: datetime,
        until: datetime,
        limit: int,
        busy: list[int],
    ) -> list[Claimed]:
        claimed = []
        for delivery_id in repository.due(connection, moment, limit, busy):
            row = repository.claim(connection, delivery_id, self.owner, moment, until)
            if row is not None:
                claimed.append(row)
        return claimed

    async def _attempt(self, row: Claimed) -> None:
        at = now()
        outcome = await self._post(row)
        # Should the database be away, the failure is logged (kit/attempts): the lease runs out
        # and the attempt is made again.
        await self.database.in_thread(self._record, row, at, outcome)
        if not outcome.delivered:
            # The hook's id only: its URL may carry a token, and its secret is never logged.
            log.info(
                "webhook %d delivery %d: attempt %d failed: %s",
                row.hook_id,
                row.id,
                row.attempts + 1,
                outcome.error or f"HTTP {outcome.status_code}",
            )

    async def _post(self, row: Claimed) -> Outcome:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        body = row.payload.encode()
        timestamp = int(time.time())
        try:
            # One bound for the whole attempt, resolution included: the lease outlives it.
            async with asyncio.timeout(self.settings.timeout):
                target = await resolve(row.url, self.allowed)
                headers = {
                    "Host": target.host_header,
                    "Content-Type": "application/json",
                    "User-Agent": f"dockyard/{__version__}",
                    EVENT_HEADER: row.event,
                    DELIVERY_HEADER: str(row.id),
                    TIMESTAMP_HEADER: str(timestamp),
                    SIGNATURE_HEADER: signature(row.secret, timestamp, body),
                }
                extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
                request = self._client.build_request(
                    "POST",
                    target.url,
                    content=body,
                    headers=headers,
                    timeout=self.settings.timeout,
                    extensions=extensions,
                )
                response = await self._client.send(request, stream=True)
                try:
                    excerpt = await _excerpt(response)
                finally:
                    await response.aclose()
        except TargetRefused as exc:
            return Outcome(None, f"refused: {exc}", "", took())
        except TimeoutError:
            return Outcome(None, f"timed out after {self.settings.timeout:g} s", "", took())
        except httpx.HTTPError as exc:
            return Outcome(None, _error_text(exc), "", took())
        return Outcome(response.status_code, None, excerpt, took())

    def _record(self, connection: Connection, row: Claimed, at: datetime, outcome: Outcome) -> None:
        repository.record_attempt(
            connection,
            {
                "delivery_id": row.id,
                "at": at,
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
                "response": outcome.response,
            },
        )
        attempts = row.attempts + 1
        if outcome.delivered:
            if repository.settle(connection, row.id, self.owner, {"state": DELIVERED}):
                repository.hook_succeeded(connection, row.hook_id)
            return
        if attempts < self.settings.max_attempts:
            wait = self.settings.backoff * 2 ** min(attempts - 1, 30)
            later = now() + timedelta(seconds=min(wait, self.settings.max_backoff))
            repository.settle(connection, row.id, self.owner, {"next_attempt_at": later})
            return
        if not repository.settle(connection, row.id, self.owner, {"state": FAILED}):
            return
        failures = repository.hook_failed(connection, row.hook_id)
        if failures >= self.settings.disable_after:
            reason = (
                f"switched off at {now().isoformat(timespec='seconds')}: {failures} deliveries"
                f" in a row failed, each after {self.settings.max_attempts} attempts; the last"
                f" attempt: {outcome.error or f'HTTP {outcome.status_code}'}"
            )
            repository.update_hook(
                connection, row.hook_id, {"active": False, "disabled_reason": reason}
            )
            log.warning(
                "webhook %d switched off: %d deliveries in a row failed", row.hook_id, failures
            )


async def _excerpt(response: httpx.Response) -> str:
    """The answer's first KiB as text a database column takes (no NUL, no lone surrogate)."""
    kept = b""
    async for chunk in response.aiter_raw():
        kept += chunk
        if len(kept) >= EXCERPT_BYTES:
            break
    return kept[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\0", "\ufffd")


def _error_text(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    return f"{kind}: {text}"[:500]
