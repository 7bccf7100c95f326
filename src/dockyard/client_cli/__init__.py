"""The registry client on the command line: `dockyard login`, `push`, `pull`, `copy`,
`inspect`, `tags`, ... Thin commands over `dockyard.client`; nothing of the server is imported,
so they run on machines without the server's dependencies in use."""

from __future__ import annotations

import argparse
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.client_cli.common import Commands

COMMANDS = frozenset(
    {
        "login",
        "logout",
        "push",
        "pull",
        "copy",
        "inspect",
        "digest",
        "tags",
        "catalog",
        "search",
        "referrers",
        "tag",
        "delete",
        "attach",
    }
)


def add_commands(commands: Commands) -> None:
    # Imported here: the server's commands (`dockyard gc`, `events`, ...) list these names
    # only, and the client library's imports took 0.3 s of their start.
    from dockyard.client_cli import changes, inspect, listing, login, transfer

    for module in (login, transfer, inspect, listing, changes):
        module.add_commands(commands)


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed client command: any failure is one line on stderr and a non-zero exit."""
    from dockyard.client_cli.common import guarded

    # anyio >= 4.14 awaits a task's coroutine from a wrapper: a task cancelled before its first
    # step (httpcore's connection attempts, when a failed transfer cancels the others) leaves
    # its coroutine unawaited, and Python warned of it on stderr as the command exited, after
    # the failure's one line (seen once in a full test run).
    warnings.filterwarnings("ignore", r"coroutine '.*' was never awaited", RuntimeWarning)
    return guarded(lambda: int(args.run(args)))
