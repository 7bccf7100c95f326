"""The one byte range (RFC 9110) a blob GET may ask for, when the driver streams it."""

from __future__ import annotations

import re

from dockyard.registry.errors import ErrorCode, RegistryError

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> tuple[int, int]:
    """Inclusive (start, end) within a blob of `size` bytes, or 416."""
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise _unsatisfiable(size, f"unsupported Range header {header!r}")
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise _unsatisfiable(size, f"range {header!r} is outside the blob's {size} bytes")
    return start, end


def _unsatisfiable(size: int, message: str) -> RegistryError:
    return RegistryError(
        ErrorCode.RANGE_INVALID, message, headers={"Content-Range": f"bytes */{size}"}
    )
