"""The encoded answers of `GET /v2/<name>/tags/list` without `n` or `last` (what clients ask),
kept by each process while the repository's `tags_version` stays: sending 10,000 tags again
costs one indexed read instead of reading and encoding them all (docs/decisions/0028)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TagList:
    version: int
    body: bytes
    headers: dict[str, str]  # Link, when the list goes on past the first page


class TagLists:
    """Least recently used first out, past `capacity` bytes of bodies."""

    # Lists shorter than this are read and encoded about as fast as they are looked up.
    SMALLEST = 100

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._lists: OrderedDict[int, TagList] = OrderedDict()

    def get(self, repository: int, version: int) -> TagList | None:
        found = self._lists.get(repository)
        if found is None or found.version != version:
            return None
        self._lists.move_to_end(repository)
        return found

    def put(self, repository: int, found: TagList, tags: int) -> None:
        if tags < self.SMALLEST or len(found.body) > self.capacity:
            return
        old = self._lists.pop(repository, None)
        if old is not None:
            self.held -= len(old.body)
        self._lists[repository] = found
        self.held += len(found.body)
        while self.held > self.capacity:
            _, dropped = self._lists.popitem(last=False)
            self.held -= len(dropped.body)
