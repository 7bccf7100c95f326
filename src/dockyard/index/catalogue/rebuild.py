"""`dockyard index rebuild`: the catalogue written afresh from this process's registry metadata,
for what events never told it (pushed before the catalogue existed, while index mode was off, or
before a backup was restored).

Repository by repository, each in a transaction of its own (a big registry needs no huge one):
the index's row is created if missing (its settings, when it exists, are the administrators'
and left alone), its last push moves forward to the registry's newest tag or manifest, and its
tags become the registry's. A tag whose digest is unchanged keeps when and by whom it was
pushed; pull counts are kept, as the registry has no record of past pulls. Running it twice
changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, exists, func, or_, select

from dockyard.config import Settings
from dockyard.db.migrate import upgrade
from dockyard.db.tables import manifests, repositories, tags
from dockyard.index.catalogue import repository
from dockyard.index.catalogue.content import RegistryContent
from dockyard.index.catalogue.describe import Description, describe
from dockyard.index.names import canonical
from dockyard.index.repositories.mirrored import MirrorNames
from dockyard.index.tables import catalogue_tags, repository_settings
from dockyard.registry.state import Registry

# Descriptions kept during a run, by digest (a manifest's digest says all it holds): the same
# base image tagged in many repositories is read once.
REMEMBERED = 4096
# A repository whose tags moved between reading them and writing the catalogue is read again.
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RegistryTag:
    name: str
    digest: str
    media_type: str
    updated_at: datetime
    held_by: str  # the registry's name of the repository (`ubuntu` for `library/ubuntu`)


@dataclass(frozen=True, slots=True)
class Held:
    """What the registry holds under one canonical name (`ubuntu` and `library/ubuntu` are one
    repository to the index, as their events are)."""

    names: tuple[str, ...]
    created_at: datetime | None  # None: the registry holds no tag or manifest there
    last_push: datetime | None
    tags: dict[str, RegistryTag]

    def digests(self) -> dict[str, str]:
        return {tag.name: tag.digest for tag in self.tags.values()}


@dataclass(frozen=True, slots=True)
class Outcome:
    tags: int
    added: int = 0
    changed: int = 0
    removed: int = 0

    def line(self, name: str) -> str:
        if not (self.added or self.changed or self.removed):
            return f"{name}: {self.tags} tags, unchanged"
        return (
            f"{name}: {self.tags} tags ({self.added} added, {self.changed} changed, "
            f"{self.removed} removed)"
        )


@dataclass(slots=True)
class Summary:
    repositories: int = 0
    tags: int = 0


class RegistryMoved(Exception):
    """The registry's tags changed while the repository was being rebuilt."""


def run_rebuild(settings: Settings) -> int:
    """The command: one line per repository and a summary on stdout; 1 when refused."""
    refusal = _refusal(settings)
    if refusal is not None:
        print(f"dockyard: {refusal}", file=sys.stderr)
        return 1
    settings.require_registry()
    registry = Registry.from_settings(settings)
    try:
        upgrade(registry.database.engine)
        started = time.monotonic()
        mirrors = MirrorNames.of(settings.mirrors)
        visibility = settings.index.default_visibility
        summary = asyncio.run(_rebuild_and_close(registry, visibility, mirrors))
        seconds = time.monotonic() - started
    except RegistryMoved as exc:
        print(f"dockyard: the tags of {exc} kept changing; run it again", file=sys.stderr)
        return 1
    finally:
        registry.database.dispose()
    print(
        f"rebuilt the catalogue: {summary.repositories} repositories, {summary.tags} tags, "
        f"{seconds:.1f} seconds"
    )
    return 0


def _refusal(settings: Settings) -> str | None:
    if settings.auth.mode != "index":
        return f"index rebuild needs auth.mode index (it is {settings.auth.mode})"
    if settings.index.events.registry is not None:
        # Its repositories are in the catalogue too, and not in this registry: a rebuild from
        # this registry alone would clear their tags.
        return "index rebuild reads this process's registry only; index.events.registry is set"
    return None


async def _rebuild_and_close(registry: Registry, visibility: str, mirrors: MirrorNames) -> Summary:
    try:
        return await rebuild(registry, visibility, print, mirrors)
    finally:
        await registry.driver.close()
        await registry.cache.close()


async def rebuild(
    registry: Registry,
    visibility: str,
    say: Callable[[str], None],
    mirrors: MirrorNames | None = None,
) -> Summary:
    """Rebuild every repository the registry holds or the catalogue lists, saying a line each.
    A repository it creates gets the visibility of the prefix mirror rule covering it, if any
    (what the default rule cached cannot be told from a push here), else `visibility`."""
    run, summary = _Run(registry, visibility, mirrors or MirrorNames()), Summary()
    for name, held_as in sorted((await registry.database.run(_repositories)).items()):
        outcome = await run.repository(name, held_as)
        summary.repositories += 1
        summary.tags += outcome.tags
        say(outcome.line(name))
    return summary


class _Run:
    def __init__(self, registry: Registry, visibility: str, mirrors: MirrorNames) -> None:
        self.database = registry.database
        self.content = RegistryContent(registry)
        self.visibility = visibility
        self.mirrors = mirrors
        self.described: OrderedDict[str, Description] = OrderedDict()

    async def repository(self, name: str, held_as: list[str]) -> Outcome:
        visibility = self.mirrors.visibility((held_as or [name])[0], False, self.visibility)
        for attempt in range(1, ATTEMPTS + 1):
            held = await self.database.run(_held, held_as)
            described = {tag.digest: await self.describe(tag) for tag in held.tags.values()}
            try:
                return await self.database.run(_apply, name, held, described, visibility)
            except RegistryMoved:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def describe(self, tag: RegistryTag) -> Description:
        found = self.described.get(tag.digest)
        if found is None:
            found = await describe(self.content, tag.held_by, tag.digest)
            if found.size is not None:  # unreadable here: maybe readable in another repository
                self.described[tag.digest] = found
                while len(self.described) > REMEMBERED:
                    self.described.popitem(last=False)
        return found


# Reading the registry's metadata (its tables, read only).


def _repositories(connection: Connection) -> dict[str, list[str]]:
    """Canonical name → the registry's names for it, of every repository the registry holds a
    tag or manifest in, or whose catalogue entry has tags to clear."""
    r = repositories.c
    holding = select(r.name).where(
        or_(
            exists().where(tags.c.repository_id == r.id),
            exists().where(manifests.c.repository_id == r.id),
        )
    )
    found: dict[str, list[str]] = {}
    for held in connection.execute(holding).scalars():
        found.setdefault(canonical(held), []).append(held)
    s = repository_settings.c
    listed = select(s.name).where(
        or_(s.tag_count != 0, exists().where(catalogue_tags.c.repository_id == s.id))
    )
    for name in connection.execute(listed).scalars():
        found.setdefault(name, [])
    return found


def _held(connection: Connection, names: list[str]) -> Held:
    r, t, m = repositories.c, tags.c, manifests.c
    rows = connection.execute(
        select(r.name, t.name, t.digest, m.media_type, t.updated_at)
        .select_from(
            tags.join(repositories, r.id == t.repository_id).join(
                manifests, and_(m.repository_id == t.repository_id, m.digest == t.digest)
            )
        )
        .where(r.name.in_(names))
    )
    found: dict[str, RegistryTag] = {}
    for held_by, tag, digest, media_type, updated_at in rows:
        candidate = RegistryTag(tag, digest, media_type, _aware(updated_at), held_by)
        other = found.get(tag)
        # The same tag in `ubuntu` and `library/ubuntu`: the later push is the index's, as
        # its event would have been applied last.
        if other is None or other.updated_at < candidate.updated_at:
            found[tag] = candidate
    created, pushed = connection.execute(
        select(func.min(r.created_at), func.max(m.created_at))
        .select_from(repositories.join(manifests, m.repository_id == r.id))
        .where(r.name.in_(names))
    ).one()
    moments = [tag.updated_at for tag in found.values()]
    if pushed is not None:
        moments.append(_aware(pushed))
    last_push = max(moments, default=None)
    return Held(tuple(names), _aware(created) if created else None, last_push, found)


# Writing the catalogue.


def _apply(
    connection: Connection,
    name: str,
    held: Held,
    described: dict[str, Description],
    visibility: str,
) -> Outcome:
    # Read again in this transaction: a push since the first read would be undone by writing
    # what that read found (its event may be applied already).
    if _held(connection, list(held.names)).digests() != held.digests():
        raise RegistryMoved(name)
    if held.created_at is not None:
        found = repository.ensure_repository(connection, name, visibility)
        if held.last_push is not None:
            repository.pushed(connection, found, held.last_push)
    else:
        known = repository.repository_id(connection, name)
        if known is None:
            return Outcome(0)
        found = known
    outcome = _replace_tags(connection, found, held, described)
    repository.count_tags(connection, [found])
    return outcome


def _replace_tags(
    connection: Connection, found: int, held: Held, described: dict[str, Description]
) -> Outcome:
    c = catalogue_tags.c
    existing = {
        row.tag: row
        for row in connection.execute(
            select(
                c.tag, c.digest, c.media_type, c.size, c.platforms, c.pushed_at, c.pushed_by
            ).where(c.repository_id == found)
        )
    }
    added = changed = 0
    for tag in held.tags.values():
        description = described[tag.digest]
        before = existing.get(tag.name)
        at, actor = tag.updated_at, None
        if before is not None and before.digest == tag.digest:
            if (before.media_type, before.size, json.loads(before.platforms)) == (
                tag.media_type,
                description.size,
                [p.to_json() for p in description.platforms],
            ):
                continue
            at, actor = before.pushed_at, before.pushed_by
        repository.put_tag(
            connection, found, tag.name, tag.digest, tag.media_type, description, actor, at
        )
        if before is None:
            added += 1
        else:
            changed += 1
    gone = sorted(set(existing) - set(held.tags))
    for tag_name in gone:
        repository.delete_tags(connection, found, tag_name, None)
    return Outcome(len(held.tags), added, changed, len(gone))


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
