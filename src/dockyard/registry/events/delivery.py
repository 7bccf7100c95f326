"""Delivering the outbox: a task in every worker takes an endpoint's lease, sends its oldest
pending events in one envelope, and forgets them once the endpoint accepted them. Failures
are retried (after `threshold` of them in a row, with a doubling back-off); the lease keeps
two processes or nodes from sending one endpoint's events at once, so each endpoint gets them
in order, and at least once. Envelopes are POSTed with aiohttp, not httpx as other outbound
calls are: at every pull's event, the POSTs cost the GETs a point less (decision 0032)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from bisect import bisect_left
from datetime import timedelta
from itertools import accumulate

import aiohttp
import httpx
from yarl import URL

from dockyard import __version__
from dockyard.config import EndpointSettings, NotificationSettings
from dockyard.db.engine import Database
from dockyard.kit import unavailable
from dockyard.kit.attempts import pause
from dockyard.kit.outbound import ResolvedTarget, TargetRefused, resolve_target
from dockyard.registry.events import outbox
from dockyard.registry.events.local import NotNow, PullCount, WorksInBackground
from dockyard.registry.events.model import ENVELOPE_MEDIA_TYPE
from dockyard.registry.events.pulls import write_envelope
from dockyard.registry.events.recorder import EventLog
from dockyard.registry.metadata import now

log = logging.getLogger("dockyard.events")

# How often each worker looks for pending events, writes buffered pulls, and drops old events.
POLL_SECONDS = 0.5
EXPIRY_EVERY_SECONDS = 60.0
BATCH = 100  # outbox rows (a row of pulls holds up to 100 events)
# An envelope grows past this only when one row alone is larger.
MAX_ENVELOPE_CHARS = 1024 * 1024
MAX_ANSWER_BYTES = 64 * 1024  # of an endpoint's answer, read before its connection is reused
# A lease outlives the longest attempt by this much: a killed holder's endpoint waits no longer.
LEASE_MARGIN_SECONDS = 5.0


class DeliveryFailed(Exception):
    pass


class Deliverer:
    def __init__(self, settings: NotificationSettings, database: Database, events: EventLog):
        self.endpoints = [endpoint for endpoint in settings.endpoints if not endpoint.disabled]
        self.endpoints += [receiver.settings for receiver in events.local.values()]
        self.allow_private = settings.allow_private_targets
        self.database = database
        self.events = events
        self.owner = uuid.uuid4().hex  # this process, as a lease holder
        # Made at the first POST: a session belongs to the event loop it was made in.
        self._http: aiohttp.ClientSession | None = None
        # By endpoint (sent to apart): the buffer its envelopes are written in, each in turn.
        self._buffers: dict[str, bytearray] = {}
        # Each endpoint's part of the latest round, and those that were busy when one began.
        self._rounds: dict[str, asyncio.Task[None]] = {}
        self._behind: set[str] = set()

    async def run(self) -> None:
        """Until cancelled: write pulls, deliver, and now and then drop events too old; and
        meanwhile the background work of the receivers that have some."""
        # The receivers' own work (the webhooks' sending) lives and ends with this task.
        background = [
            asyncio.create_task(receiver.background(), name=f"{name} background")
            for name, receiver in self.events.local.items()
            if isinstance(receiver, WorksInBackground)
        ]
        expired_at = 0.0
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    await self.deliver_all(wait=False)
                    if loop.time() - expired_at >= EXPIRY_EVERY_SECONDS:
                        expired_at = loop.time()
                        await self.drop_expired()
                except Exception as exc:
                    # The database away, for instance: the next round tries again.
                    unavailable.log_failure(log, "delivering events failed", exc)
                await self._pause()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def _pause(self) -> None:
        """Until the next poll, or until this process commits events (EventLog.nudge)."""
        await pause(self.events.committed, POLL_SECONDS)

    async def deliver_all(self, wait: bool = True) -> None:
        """A round: each endpoint's backlog, then the pulls noted since the last round, sent
        straight to an endpoint without a backlog (no outbox write for a pull while the
        endpoint keeps up), written to the outbox for the others and for those that fail.
        Endpoints are sent to apart, so that one slow to answer holds up no other: one still
        busy with an earlier round is left to it (its pulls go to the outbox). The round
        waits for the receivers in this process that count pulls (the counts come after the
        events: a repository's first push before its first pulls), and for the others only
        when `wait`."""
        pulls = self.events.take_pulls()
        counts = self.events.take_pull_counts()
        behind: dict[str, list[str]] = {}
        started, counting = [], []
        for endpoint in self.endpoints:
            name = endpoint.name
            running = self._rounds.get(name)
            if running is not None and not running.done():
                behind[name] = pulls.get(name, [])
                self._behind.add(name)
                continue
            task = asyncio.create_task(self._round(endpoint, pulls.get(name, [])), name=name)
            self._rounds[name] = task
            started.append(task)
            receiver = self.events.local.get(name)
            if receiver is not None and receiver.counts_pulls:
                counting.append(task)
        await self.events.store_pulls({name: kept for name, kept in behind.items() if kept})
        waited = started if wait else counting
        if waited:
            await asyncio.wait(waited)
        # After the backlog: a repository's first push is applied before its first pulls.
        await self._hand_over(counts)

    async def _round(self, endpoint: EndpointSettings, pulls: list[str]) -> None:
        """One endpoint's part of a round."""
        try:
            if await self.deliver(endpoint) and pulls:
                pulls = await self._send_now(endpoint, pulls)
            await self.events.store_pulls({endpoint.name: pulls} if pulls else {})
        except Exception as exc:
            # The database away, for instance: the next round tries again.
            unavailable.log_failure(log, "delivering events failed", exc)
        finally:
            if endpoint.name in self._behind:  # events came while it was busy: another round
                self._behind.discard(endpoint.name)
                self.events.committed.set()

    async def _hand_over(self, counts: dict[str, PullCount]) -> None:
        if not counts:
            return
        for receiver in self.events.local.values():
            try:
                await receiver.pulled(counts)
            except Exception as exc:
                total = sum(counted.count for counted in counts.values())
                unavailable.log_failure(log, f"counting {total} pulls failed; they are lost", exc)

    async def _send_now(self, endpoint: EndpointSettings, bodies: list[str]) -> list[str]:
        """Send events' JSON in envelopes of about MAX_ENVELOPE_CHARS (the event that reaches
        it is the envelope's last); those not sent. Thousands of pulls may come a round: the
        sizes are summed and the cuts found in C."""
        reached = list(accumulate(map(len, bodies)))
        start = 0
        while start < len(bodies):
            before = reached[start - 1] if start else 0
            end = bisect_left(reached, before + MAX_ENVELOPE_CHARS, lo=start) + 1
            try:
                await self._send(endpoint, bodies[start:end])
            except DeliveryFailed:
                return bodies[start:]
            start = end
        return []

    async def close(self) -> None:
        for task in self._rounds.values():
            task.cancel()
        await asyncio.gather(*self._rounds.values(), return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        for receiver in self.events.local.values():
            await receiver.close()

    async def deliver(self, endpoint: EndpointSettings) -> bool:
        """Send the endpoint's pending events, a batch at a time, while it accepts them; True
        when it has none left."""
        lease = timedelta(seconds=endpoint.timeout + LEASE_MARGIN_SECONDS)
        held = False
        while True:
            moment = now()
            batch = await self.database.in_thread(
                outbox.claim,
                endpoint.name,
                self.owner,
                moment,
                moment + lease,
                BATCH,
            )
            if not batch:
                if held:  # from the last batch: nothing more came since
                    await self.database.in_thread(outbox.release, endpoint.name, self.owner)
                return batch is not None
            held = True
            claimed = len(batch)
            batch = _within(batch, MAX_ENVELOPE_CHARS)
            more = claimed == BATCH or len(batch) < claimed  # perhaps more are pending
            ids = [event_id for event_id, _ in batch]
            try:
                await self._send(endpoint, [body for _, body in batch])
            except DeliveryFailed as exc:
                await self._failed(endpoint, ids, str(exc))
                return False
            await self.database.in_thread(outbox.delivered, endpoint.name, self.owner, ids, now())
            if not more:
                await self.database.in_thread(outbox.release, endpoint.name, self.owner)
                return True

    async def drop_expired(self) -> None:
        for endpoint in self.endpoints:
            before = now() - timedelta(seconds=endpoint.maxage)
            dropped = await self.database.in_thread(outbox.drop_older_than, endpoint.name, before)
            if dropped:
                log.warning(
                    "dropped %d events for endpoint %s: undelivered for longer than maxage (%gs)",
                    dropped,
                    endpoint.name,
                    endpoint.maxage,
                )

    async def _send(self, endpoint: EndpointSettings, bodies: list[str]) -> None:
        receiver = self.events.local.get(endpoint.name)
        if receiver is not None:
            try:
                await receiver.receive(bodies)
            except NotNow as exc:
                raise DeliveryFailed(str(exc)) from None
            except Exception as exc:
                unavailable.log_failure(
                    log, f"{endpoint.name} could not take {len(bodies)} events", exc
                )
                raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
            return
        try:
            # One bound for the whole attempt, the name's resolution and the answer included:
            # an answer that trickles in would hold the endpoint's lease, and its deliveries,
            # for ever.
            async with asyncio.timeout(endpoint.timeout):
                target = await resolve_target(endpoint.url, self.allow_private)
                # Safe to write over once the answer came, because aiohttp (on Python before
                # 3.12.9) joins the request's head and body into new bytes for the transport;
                # where it hands the transport the body itself (writelines), an endpoint that
                # answered before reading all of it could get the next envelope's bytes.
                buffer = self._buffers.get(endpoint.name, bytearray())
                buffer, length = write_envelope(bodies, buffer)
                self._buffers[endpoint.name] = buffer
                status = await self._post(endpoint, target, memoryview(buffer)[:length])
        except TargetRefused as exc:
            raise DeliveryFailed(f"refused: {exc}") from None
        except TimeoutError:
            raise DeliveryFailed(f"timed out after {endpoint.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
        # As Distribution: any 2xx or 3xx is delivered (redirects are not followed: the
        # registry calls only the address it checked).
        if not 200 <= status < 400:
            raise DeliveryFailed(f"HTTP {status}")

    async def _post(
        self, endpoint: EndpointSettings, target: ResolvedTarget, body: memoryview
    ) -> int:
        """POST the envelope to the checked address (the URL's name in the Host header, and
        for https in the TLS handshake, whose certificate must carry it); the answer's status.
        The answer is read to its end when short, so that its connection serves the next
        round; a longer one is not read on (it means nothing to delivery) and its connection
        closes."""
        headers = [(name, value) for name, values in endpoint.headers.items() for value in values]
        headers += [
            ("Host", target.host_header),
            ("Content-Type", ENVELOPE_MEDIA_TYPE),
            ("User-Agent", f"dockyard/{__version__}"),
        ]
        async with self._session().post(
            URL(target.url, encoded=True),  # as checked: not normalised again
            data=body,
            headers=headers,
            allow_redirects=False,
            server_hostname=target.sni_hostname,
        ) as response:
            read = 0
            async for chunk in response.content.iter_any():
                read += len(chunk)
                if read > MAX_ANSWER_BYTES:
                    response.close()
                    break
            return response.status

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                # The certificates httpx trusts, as every other outbound call (certifi's).
                connector=aiohttp.TCPConnector(ssl=httpx.create_ssl_context(trust_env=False)),
                auto_decompress=False,
                skip_auto_headers=["Accept", "Accept-Encoding"],
            )
        return self._http

    async def _failed(self, endpoint: EndpointSettings, ids: list[int], error: str) -> None:
        failures = await self.database.in_thread(outbox.failures_in_a_row, endpoint.name) + 1
        backoff = None
        if failures >= endpoint.threshold:
            doubled = endpoint.backoff * 2 ** min(failures - endpoint.threshold, 30)
            backoff = timedelta(seconds=min(doubled, endpoint.maxbackoff))
        await self.database.in_thread(
            outbox.failed, endpoint.name, self.owner, ids, error, now(), backoff
        )
        log.warning(
            "delivering %d events to endpoint %s failed (%d in a row): %s",
            len(ids),
            endpoint.name,
            failures,
            error,
        )


def _within(batch: list[tuple[int, str]], limit: int) -> list[tuple[int, str]]:
    """The first rows of the batch whose bodies fit in `limit` characters (at least one)."""
    total = 0
    for count, (_, body) in enumerate(batch):
        total += len(body) + 1
        if total > limit and count > 0:
            return batch[:count]
    return batch
