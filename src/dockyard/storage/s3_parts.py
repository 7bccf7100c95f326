"""S3's multipart rules, which decide how the S3 driver cuts uploads into pieces.

`compose` joins pieces inside the store with UploadPartCopy, one part per piece, and S3 wants
every part but the last to hold at least 5 MiB. So `append` keeps every piece but the last at
that size or more: a small last piece is read back and written again in front of the next
request's bytes (at most 5 MiB per request).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

from dockyard.storage.base import Piece

MIB = 1024 * 1024
MIN_PART = 5 * MIB
MAX_PART = 5 * 1024 * MIB
MAX_PARTS = 10_000
# Ranges of a piece above MAX_PART (an object written whole, not by `append`).
LARGE_RANGE = 1024 * MIB


def can_copy_parts(pieces: Sequence[Piece]) -> bool:
    """Whether UploadPartCopy can join the pieces: none but the last is below S3's minimum."""
    return all(piece.size >= MIN_PART for piece in pieces[:-1])


def part_ranges(pieces: Sequence[Piece]) -> Iterator[tuple[str, int, int]]:
    """(key, first byte, last byte) of each part: a piece per part, a piece above S3's 5 GiB
    part limit in near-equal ranges of about 1 GiB (so that none falls under 5 MiB)."""
    for piece in pieces:
        count = -(-piece.size // LARGE_RANGE) if piece.size > MAX_PART else 1
        bounds = [piece.size * index // count for index in range(count + 1)]
        for first, end in pairwise(bounds):
            yield piece.key, first, end - 1
