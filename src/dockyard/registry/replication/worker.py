"""The replication worker, one per process: compares each pull rule's tags when its schedule
comes (one process per interval), and makes the copies queued in `replication_runs`, each
under a lease renewed while it runs, so that with several processes or nodes each copy is
made once, and a copy cut short by a killed process is made again once its lease ran out.
A failed copy is tried again with a doubling back-off, up to the rule's `max_attempts`."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection

from dockyard import client
from dockyard.client.images import Descriptor
from dockyard.client.transfer import RegistryEnd, transfer
from dockyard.config import ReplicationRuleSettings, ReplicationSettings
from dockyard.db.engine import Database
from dockyard.kit import pace, unavailable
from dockyard.kit.attempts import Attempts, pause
from dockyard.kit.outbound import Allowed, Guard
from dockyard.registry.metadata import now
from dockyard.registry.replication import repository
from dockyard.registry.replication.repository import DONE, FAILED, PENDING, Claimed
from dockyard.registry.replication.rules import PULL, PUSH, Rule

log = logging.getLogger("dockyard.replication")

T = TypeVar("T")

POLL_SECONDS = 0.5
CONNECT_SECONDS = 10.0
SCHEDULE_CHECK = timedelta(seconds=10)
FORGET_EVERY_SECONDS = 600.0
ERROR_CHARS = 500
SENT = ("uploaded", "copied", "downloaded")


@dataclass(frozen=True, slots=True)
class Outcome:
    digest: str | None = None
    bytes: int = 0
    sent: int = 0
    skipped: int = 0
    error: str | None = None


class _Counted:
    """dockyard.client.transfer's Progress: the bytes moved, and how each blob went; and the
    steps done (blobs, or a comparison's tags), which the attempt's pace counts."""

    def __init__(self) -> None:
        self.bytes = 0
        self.sent = 0
        self.skipped = 0
        self.steps = 0

    async def paced(self, work: Awaitable[T], settings: ReplicationRuleSettings) -> T:
        """`work`, given up (pace.TooSlow) once it took longer than the rule's timeout for
        each step done and one more, plus its bytes at the rule's minimum rate."""
        rate = settings.min_bytes_per_second
        step = rate * settings.timeout_seconds  # a step done counts as this many bytes
        return await pace.kept_up(work, rate, lambda: self.bytes + self.steps * step, step)

    def too_slow(self, slow: pace.TooSlow) -> str:
        return (
            f"given up after {slow.elapsed:.0f} s, too slow for the rule's timeout_seconds and "
            f"min_bytes_per_second ({self.bytes} bytes moved, {self.steps} steps done)"
        )

    def start(self, blob: Descriptor) -> None:
        pass

    def advance(self, blob: Descriptor, count: int) -> None:
        self.bytes += count

    def finish(self, blob: Descriptor, how: str) -> None:
        self.steps += 1
        if how in SENT:
            self.sent += 1
        else:
            self.skipped += 1


class Replicator:
    def __init__(self, settings: ReplicationSettings, database: Database, http_port: int) -> None:
        self.settings = settings
        self.database = database
        self.rules = {rule.name: Rule(rule) for rule in settings.rules}
        self.allowed = Allowed.of(settings.allow)
        local_url = settings.local_url or f"http://127.0.0.1:{http_port}"
        self.local_host = urlsplit(local_url).netloc
        self.owner = uuid.uuid4().hex  # this process, as a lease holder
        self.wake = asyncio.Event()  # set when this process queued runs, or a copy ended
        self.attempts: Attempts[int] = Attempts(settings.parallel, self.wake, log)  # by run
        # By pull rule: a registry slow to list its tags holds up only its own rule.
        self.comparisons: Attempts[str] = Attempts(len(self.rules), self.wake, log)
        self._clients = {name: self._client(rule, local_url) for name, rule in self.rules.items()}
        self._not_before: dict[str, datetime] = {}  # per pull rule: no comparison before

    def _client(self, rule: Rule, local_url: str) -> client.RegistryClient:
        """One client per rule: this Dockyard and the other registry, each with its
        credentials (two rules may name one registry with different ones)."""
        credentials: dict[str, client.Credential] = {}
        if self.settings.username is not None and self.settings.password is not None:
            secret = self.settings.password.get_secret_value()
            credentials[self.local_host] = client.Credential(self.settings.username, secret)
        options = rule.settings
        if options.username is not None and options.password is not None:
            secret = options.password.get_secret_value()
            credentials[rule.host] = client.Credential(options.username, secret)
        hosts = {
            self.local_host: client.HostOptions(insecure=local_url.startswith("http://")),
            rule.host: client.HostOptions(
                insecure=options.registry.startswith("http://"), ca_file=options.ca_file
            ),
        }
        # Few quick tries within an attempt: the run's own back-off waits longer.
        retry = client.RetryPolicy(attempts=2, base_delay=0.2, max_delay=2.0, max_retry_after=10)
        # Every address the client calls for the rule (the registry, its token realm, where it
        # redirects) is checked at connection time; this Dockyard's own is not.
        guard = Guard(self.allowed, "replication.allow", frozenset({self.local_host}))
        opened = client.RegistryClient(client.StaticCredentials(credentials), hosts, retry, guard)
        timeout = options.timeout_seconds
        opened.transport.timeout = httpx.Timeout(timeout, connect=min(timeout, CONNECT_SECONDS))
        return opened

    async def run(self) -> None:
        """Until cancelled: compare what is due, copy what is due, now and then forget old
        runs, then wait a little."""
        forgotten_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.compare_due()
                while await self.copy_due():
                    pass
                if loop.time() - forgotten_at >= FORGET_EVERY_SECONDS:
                    forgotten_at = loop.time()
                    before = now() - timedelta(days=self.settings.keep_days)
                    await self.database.in_thread(repository.forget_finished, before)
            except Exception as exc:
                # The database away, for instance: the next round tries again.
                unavailable.log_failure(log, "replication failed", exc)
            await pause(self.wake, POLL_SECONDS)

    async def close(self) -> None:
        await self.comparisons.stop()
        await self.attempts.stop()
        for opened in self._clients.values():
            await opened.aclose()

    # --- pull rules: compare on a schedule ---------------------------------------------------

    async def compare_due(self) -> None:
        """Start the comparison of each pull rule whose schedule is due, in the background."""
        for rule in self.rules.values():
            moment = now()
            if rule.direction != PULL or self._not_before.get(rule.name, moment) > moment:
                continue
            if rule.name in self.comparisons.busy():
                continue
            interval = timedelta(minutes=rule.settings.schedule_minutes)
            # Another process may take the next comparison: ask the database again no later
            # than SCHEDULE_CHECK from now, not at every poll.
            self._not_before[rule.name] = moment + min(interval, SCHEDULE_CHECK)
            taken = await self.database.in_thread(
                repository.take_schedule, rule.name, moment, moment + interval
            )
            if taken:
                name = f"replication comparison {rule.name}"
                self.comparisons.start(rule.name, self._compare_logged(rule), name)

    async def _compare_logged(self, rule: Rule) -> None:
        """A comparison whose failures are the other registry's are a line in the log (any
        other is kit/attempts' to log)."""
        counted = _Counted()
        try:
            queued = await counted.paced(self.compare(rule, counted), rule.settings)
        except pace.TooSlow as slow:
            log.warning("replication %s: comparing tags %s", rule.name, counted.too_slow(slow))
            return
        except (client.RegistryError, OSError) as exc:
            log.warning("replication %s: comparing tags failed: %s", rule.name, _one_line(exc))
            return
        if queued:
            log.info("replication %s: %d tags differ, copies queued", rule.name, queued)

    async def compare(self, rule: Rule, counted: _Counted) -> int:
        """Queue a copy of each tag of the other registry (of the rule's repositories and
        tags) that this one lacks or holds at another digest; how many were queued. Each name
        listed and tag compared is a step `counted`."""
        opened = self._clients[rule.name]
        remote = opened.registry(rule.host)
        rows: list[dict[str, Any]] = []
        moment = now()
        async for name in remote.catalog():
            counted.steps += 1  # a page's names come once it was read whole
            if not rule.copies(name):
                continue
            theirs = remote.repository(name)
            ours = opened.registry(self.local_host).repository(name)
            async for tag in theirs.tags():
                if not rule.copies(name, tag):
                    continue
                counted.steps += 1
                found = await theirs.head_manifest(tag)
                if found is None:
                    continue
                here = await ours.head_manifest(tag)
                if here is not None and here.digest == found.digest:
                    continue
                rows.append(new_run(rule.name, f"{name}:{tag}@{found.digest}", name, tag, moment))
        return await self.database.in_thread(repository.queue, rows) if rows else 0

    # --- copies ------------------------------------------------------------------------------

    async def copy_due(self) -> int:
        """Claim due runs no one holds, as many as there are free places, and start an
        attempt at each; how many. A long copy holds its place, never the others' turns."""
        free = self.attempts.free
        if free <= 0:
            return 0
        moment = now()
        until = moment + timedelta(seconds=self.settings.lease_seconds)
        claimed = await self.database.in_thread(self._claim, moment, until, free)
        for row in claimed:
            self.attempts.start(row.id, self._attempt(row), f"replication run {row.id}")
        return len(claimed)

    def _claim(
        self, connection: Connection, moment: datetime, until: datetime, limit: int
    ) -> list[Claimed]:
        claimed = []
        for run_id in repository.due(connection, moment, limit):
            row = repository.claim(connection, run_id, self.owner, moment, until)
            if row is not None:
                claimed.append(row)
        return claimed

    async def _attempt(self, row: Claimed) -> None:
        rule = self.rules.get(row.rule)
        if rule is None:
            outcome = Outcome(error=f"no replication rule named {row.rule} is configured")
        else:
            keeping = asyncio.create_task(self._keep_lease(row))
            try:
                outcome = await self.copy(rule, row.repository, row.tag)
            finally:
                keeping.cancel()
                await asyncio.gather(keeping, return_exceptions=True)
        # Should the database be away, the failure is logged (kit/attempts): the lease runs out
        # and the copy is made again.
        await self.database.in_thread(self._record, row, rule, outcome)
        if outcome.error is None:
            log.info(
                "replication %s: %s:%s copied (%s, %d bytes, %d blobs sent, %d skipped)",
                row.rule, row.repository, row.tag, outcome.digest, outcome.bytes,
                outcome.sent, outcome.skipped,
            )  # fmt: skip
        else:
            log.warning(
                "replication %s: %s:%s attempt %d failed: %s",
                row.rule, row.repository, row.tag, row.attempts + 1, outcome.error,
            )  # fmt: skip

    async def _keep_lease(self, row: Claimed) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            until = now() + timedelta(seconds=self.settings.lease_seconds)
            try:
                await self.database.in_thread(repository.renew, row.id, self.owner, until)
            except Exception as exc:
                unavailable.log_failure(log, "renewing a replication lease failed", exc)

    async def copy(self, rule: Rule, name: str, tag: str) -> Outcome:
        """Copy one tag in the rule's direction; the outcome, never an exception."""
        counted = _Counted()
        try:
            opened = self._clients[rule.name]
            ours = RegistryEnd(opened.registry(self.local_host).repository(name))
            theirs = RegistryEnd(opened.registry(rule.host).repository(name))
            source, destination = (ours, theirs) if rule.direction == PUSH else (theirs, ours)
            copying = _copied(rule, source, destination, tag, counted)
            digest = await counted.paced(copying, rule.settings)
        except pace.TooSlow as slow:
            error = counted.too_slow(slow)
            return Outcome(None, counted.bytes, counted.sent, counted.skipped, error)
        except (client.RegistryError, client.InvalidContent) as exc:
            return Outcome(None, counted.bytes, counted.sent, counted.skipped, _one_line(exc))
        except OSError as exc:
            return Outcome(None, counted.bytes, counted.sent, counted.skipped, _one_line(exc))
        except Exception as exc:
            # A bug: logged with its traceback, and the run still counts the attempt (else it
            # would be tried again at every lease's end, for ever).
            log.exception("replication %s: copying %s:%s failed", rule.name, name, tag)
            error = f"unexpected {type(exc).__name__}: {_one_line(exc)}"
            return Outcome(None, counted.bytes, counted.sent, counted.skipped, error)
        return Outcome(digest, counted.bytes, counted.sent, counted.skipped)

    def _record(
        self, connection: Connection, row: Claimed, rule: Rule | None, outcome: Outcome
    ) -> None:
        values: dict[str, Any] = {
            "bytes": repository.runs.bytes + outcome.bytes,
            "blobs_sent": repository.runs.blobs_sent + outcome.sent,
            "blobs_skipped": repository.runs.blobs_skipped + outcome.skipped,
            "error": outcome.error,
        }
        if outcome.error is None:
            values |= {"state": DONE, "digest": outcome.digest, "finished_at": now()}
        elif rule is not None and row.attempts + 1 < rule.settings.max_attempts:
            settings = rule.settings
            wait = settings.backoff_seconds * 2 ** min(row.attempts, 30)
            later = now() + timedelta(seconds=min(wait, settings.max_backoff_seconds))
            values |= {"state": PENDING, "next_attempt_at": later}
        else:
            values |= {"state": FAILED, "finished_at": now()}
        repository.settle(connection, row.id, self.owner, values)


async def _copied(
    rule: Rule, source: RegistryEnd, destination: RegistryEnd, tag: str, counted: _Counted
) -> str:
    """The tag copied; its digest at the destination."""
    same = await _already_there(rule, source, destination, tag)
    if same is not None:
        # No write: two registries replicating to each other stop here, not in a loop.
        return same
    done = await transfer(
        source, tag, destination, tag,
        platforms=rule.platforms, referrers=rule.settings.referrers, progress=counted,
    )  # fmt: skip
    return str(done.top.digest)


async def _already_there(
    rule: Rule, source: RegistryEnd, destination: RegistryEnd, tag: str
) -> str | None:
    """The digest the tag has on both sides, when it is the same (a copy of the index whole,
    without referrers to bring along); else None."""
    if rule.platforms or rule.settings.referrers:
        return None
    theirs = await destination.repository.head_manifest(tag)
    if theirs is None:
        return None
    ours = await source.repository.head_manifest(tag)
    return str(ours.digest) if ours is not None and ours.digest == theirs.digest else None


def new_run(rule: str, cause: str, name: str, tag: str, moment: datetime) -> dict[str, Any]:
    """A new run's row."""
    return {
        "rule": rule,
        "cause": cause[:400],
        "repository": name,
        "tag": tag,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": moment,
        "created_at": moment,
    }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:ERROR_CHARS]
