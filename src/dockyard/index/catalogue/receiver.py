"""The catalogue as a receiver of registry events: reads what a tag's manifest holds (through a
Content), then applies a batch of events in one transaction, in their order. Applying an event
twice changes nothing more than applying it once, as delivery is at least once."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection

from dockyard.db.engine import Database
from dockyard.index.catalogue import repository
from dockyard.index.catalogue.changes import Change, Deleted, Pulled, Pushed, read_changes
from dockyard.index.catalogue.content import Content
from dockyard.index.catalogue.describe import Description, describe
from dockyard.index.names import canonical
from dockyard.index.repositories.mirrored import MirrorNames
from dockyard.kit import unavailable
from dockyard.registry.events.local import PullCount, manifest_receiver_settings

log = logging.getLogger("dockyard.catalogue")

# The receiver of this process's registry events (outbox rows are kept under this name).
LOCAL_CATALOGUE = "@catalogue"
# The receiver of events other registries POST to /api/events (inbox.py).
REMOTE_CATALOGUE = "@remote-catalogue"
# Descriptions of manifests read lately (a manifest is immutable: its digest says it all).
REMEMBERED = 1024


class CatalogueReceiver:
    def __init__(
        self,
        name: str,
        database: Database,
        content: Content,
        default_visibility: str,
        counts_pulls: bool = False,
        mirrors: MirrorNames | None = None,
    ) -> None:
        self.settings = manifest_receiver_settings(name)
        self.counts_pulls = counts_pulls
        self.database = database
        self.content = content
        self.default_visibility = default_visibility
        self.mirrors = mirrors or MirrorNames()
        self._described: OrderedDict[tuple[str, str], Description] = OrderedDict()

    async def receive(self, bodies: Sequence[str]) -> None:
        changes = list(read_changes(bodies))
        described = {}
        for change in changes:
            if isinstance(change, Pushed) and change.tag is not None:
                key = (change.repository, change.digest)
                described[key] = await self._describe(*key)
        pulls: dict[str, PullCount] = {}
        for change in changes:
            if isinstance(change, Pulled):
                _add_pull(pulls, change.repository, change.at.timestamp())
        await self._apply_all(changes, described)
        if pulls:
            await self.pulled(pulls)

    async def pulled(self, counts: Mapping[str, PullCount]) -> None:
        merged: dict[str, tuple[int, datetime]] = {}
        for name, counted in counts.items():
            full = canonical(name)
            before, last = merged.get(full, (0, None))
            moment = datetime.fromtimestamp(counted.last, UTC)
            merged[full] = (before + counted.count, max(moment, last) if last else moment)
        await self.database.in_thread(repository.count_pulls, merged)

    async def close(self) -> None:
        await self.content.close()

    async def _apply_all(
        self, changes: list[Change], described: dict[tuple[str, str], Description]
    ) -> None:
        """The changes in one transaction. Should it fail otherwise than by the database
        being away, each change is applied alone, and one that fails is passed over (its
        traceback logged) as long as another applies: events come in order, and a fault in
        applying one would hold every later one back for as long as events keep (a year).
        `dockyard index rebuild` reads again what was passed over. When every change fails,
        the fault is the catalogue's, not the events': they are kept, to be tried again."""
        try:
            await self.database.in_thread(self._apply, changes, described)
            return
        except Exception as exc:
            if len(changes) == 1 or unavailable.away(exc) is not None:
                raise
        failed: list[tuple[Change, Exception]] = []
        for change in changes:
            try:
                await self.database.in_thread(self._apply, [change], described)
            except Exception as alone:
                if unavailable.away(alone) is not None:
                    raise
                failed.append((change, alone))
        if len(failed) == len(changes):
            raise failed[0][1]
        for change, fault in failed:
            log.error(
                "the catalogue passed over an event it could not apply (%s of %s; "
                "dockyard index rebuild reads it again)",
                type(change).__name__.lower(), change.repository, exc_info=fault,
            )  # fmt: skip

    async def _describe(self, name: str, digest: str) -> Description:
        key = (name, digest)
        found = self._described.get(key)
        if found is None:
            found = await describe(self.content, name, digest)
            if found.size is not None:
                self._described[key] = found
                while len(self._described) > REMEMBERED:
                    self._described.popitem(last=False)
        return found

    def _apply(
        self,
        connection: Connection,
        changes: list[Change],
        described: dict[tuple[str, str], Description],
    ) -> None:
        touched: set[int] = set()
        for change in changes:
            name = canonical(change.repository)
            if isinstance(change, Pushed):
                visibility = self.mirrors.visibility(
                    change.repository, change.cached, self.default_visibility
                )
                found = repository.ensure_repository(connection, name, visibility)
                repository.pushed(connection, found, change.at)
                if change.tag is not None:
                    description = described[(change.repository, change.digest)]
                    repository.put_tag(
                        connection,
                        found,
                        change.tag,
                        change.digest,
                        change.media_type,
                        description,
                        change.actor,
                        change.at,
                    )
                touched.add(found)
            elif isinstance(change, Deleted):
                if change.digest is None and change.tag is None:
                    repository.forget_repository(connection, name)
                    continue
                known = repository.repository_id(connection, name)
                if known is not None:
                    repository.delete_tags(connection, known, change.tag, change.digest)
                    touched.add(known)
        repository.count_tags(connection, touched)


def _add_pull(pulls: dict[str, PullCount], name: str, moment: float) -> None:
    counted = pulls.get(name)
    if counted is None:
        pulls[name] = PullCount(1, moment)
    else:
        counted.count += 1
        counted.last = max(counted.last, moment)
