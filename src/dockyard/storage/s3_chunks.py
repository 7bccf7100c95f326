"""How the S3 driver lays out an object that is still being written: chunk objects.

S3 cannot append to an object, and a multipart upload cannot span processes without
state kept elsewhere. So `write_at` stores the bytes as ordinary objects named
`<key>.chunks/<start offset>`, each at most `part_size` and, except the last, at least
S3's minimum part size: `publish` can then stitch them together server-side with
UploadPartCopy, and any process can continue an upload another one began.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MIN_PART = 5 * 1024 * 1024
MAX_PART = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10_000
MARK = ".chunks/"


class BrokenChunks(RuntimeError):
    """The chunk objects of a key do not follow each other: something else wrote there."""


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int
    size: int
    name: str  # the object's name in the bucket

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(slots=True)
class WritePlan:
    """What `write_at(offset)` does with the chunks already there."""

    # These stay as they are; the new bytes follow them.
    kept: list[Chunk] = field(default_factory=list)
    # Rewritten: its bytes before `offset` go in front of the new ones, because it
    # reaches past `offset` or is too small to be anything but the last chunk.
    carried: Chunk | None = None
    # Removed first: they start at or past `offset`.
    dropped: list[Chunk] = field(default_factory=list)


def chunk_name(object_name: str, start: int) -> str:
    # Zero-padded, so that the store's lexical listing order is the byte order.
    return f"{object_name}{MARK}{start:020d}"


def chunks_prefix(object_name: str) -> str:
    return object_name + MARK


def logical_name(name: str) -> str:
    """The object a listed name belongs to: itself, or the key its chunks build."""
    return name.split(MARK, 1)[0]


def parse_chunks(listing: Iterable[tuple[str, int]]) -> list[Chunk]:
    """Chunks, in byte order, from (name, size) pairs listed under `chunks_prefix`."""
    chunks = []
    for name, size in listing:
        start = name.rsplit(MARK, 1)[1]
        if start.isdigit():
            chunks.append(Chunk(int(start), size, name))
    chunks.sort(key=lambda chunk: chunk.start)
    return chunks


def total_size(chunks: Sequence[Chunk], key: str) -> int:
    """The bytes the chunks hold together; raises BrokenChunks on a gap or an overlap."""
    position = 0
    for chunk in chunks:
        if chunk.start != position:
            raise BrokenChunks(f"{key}: chunk at {chunk.start}, expected one at {position}")
        position = chunk.end
    return position


def plan_write(chunks: Sequence[Chunk], offset: int, key: str) -> WritePlan:
    size = total_size(chunks, key)
    if offset > size:
        raise ValueError(f"{key}: cannot write at {offset}, the object holds {size} bytes")
    plan = WritePlan()
    for chunk in chunks:
        (plan.kept if chunk.start < offset else plan.dropped).append(chunk)
    if plan.kept and (plan.kept[-1].end > offset or plan.kept[-1].size < MIN_PART):
        plan.carried = plan.kept.pop()
    return plan
