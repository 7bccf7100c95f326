"""The one byte range (RFC 9110) a blob GET may ask for, when the driver streams it."""

from __future__ import annotations

import re

from dockyard.kit.numbers import parse_decimal
from dockyard.registry.errors import ErrorCode, RegistryError

_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")


def byte_range(header: str, size: int) -> tuple[int, int]:
    """Inclusive (start, end) within a blob of `size` bytes, or 416."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        raise _unsatisfiable(size, f"unsupported Range header {header[:80]!r}")
    first, last = match.groups()
    # Positions past the blob mean the same as its size: capped there, whatever their length.
    if first == "":  # a suffix: the last N bytes
        start, end = size - _position(last, size), size - 1
    else:
        start = _position(first, size)
        end = min(_position(last, size), size - 1) if last else size - 1
    if start >= size or start > end:
        raise _unsatisfiable(size, f"range {header[:80]!r} is outside the blob's {size} bytes")
    return start, end


def _position(digits: str, size: int) -> int:
    value = parse_decimal(digits, size)
    assert value is not None  # the pattern took ASCII digits only
    return value


def _unsatisfiable(size: int, message: str) -> RegistryError:
    return RegistryError(
        ErrorCode.RANGE_INVALID, message, headers={"Content-Range": f"bytes */{size}"}
    )
