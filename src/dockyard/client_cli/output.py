"""Output of the client commands: aligned tables for people, JSON for scripts, sizes in the
units docker shows."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def note(message: str) -> None:
    """Progress words for people; on stderr, so stdout stays what a script reads."""
    print(message, file=sys.stderr)
