"""Progress bars (rich) for pushes, pulls and copies: one bar per blob, only when stderr is a
terminal; otherwise nothing, so logs and scripts stay clean."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dockyard.client.images import Descriptor
from dockyard.client.transfer import NoProgress, Progress

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID


class Bars:
    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}

    def start(self, blob: Descriptor) -> None:
        label = blob.digest.hex[:12]
        self.tasks[str(blob.digest)] = self.bars.add_task(label, total=blob.size or None)

    def advance(self, blob: Descriptor, count: int) -> None:
        self.bars.advance(self.tasks[str(blob.digest)], count)

    def finish(self, blob: Descriptor, how: str) -> None:
        task = self.tasks[str(blob.digest)]
        self.bars.update(task, completed=blob.size, description=f"{blob.digest.hex[:12]} {how}")


@contextmanager
def progress(enabled: bool) -> Iterator[Progress]:
    if not enabled or not sys.stderr.isatty():
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as bars:
        yield Bars(bars)
