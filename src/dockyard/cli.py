"""The `dockyard` command: the server's commands (serve, gc, fsck, ...) and the registry
client's (login, push, pull, copy, inspect, ...)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dockyard import __version__
from dockyard.client_cli import COMMANDS as CLIENT_COMMANDS
from dockyard.client_cli import add_commands as add_client_commands
from dockyard.client_cli import run_command as run_client_command

# The server's commands by the module that adds them. A command imports its own module only
# (all of them for --help): importing every one took 2.1 s of `dockyard gc`'s 2.6 s start.
SERVER_COMMANDS = {
    "user": "dockyard.index.commands",
    "org": "dockyard.index.commands",
    "token": "dockyard.index.commands",
    "index": "dockyard.index.commands",
    "events": "dockyard.registry.events.commands",
    "gc": "dockyard.registry.collection.commands",
    "fsck": "dockyard.registry.collection.commands",
    "usage": "dockyard.registry.policies.commands",
    "quota": "dockyard.registry.policies.commands",
    "retention": "dockyard.registry.policies.commands",
    "replication": "dockyard.registry.replication.commands",
}


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    first = words[0] if words else None
    if first in CLIENT_COMMANDS:
        # A client command: the server's modules (and their dependencies) are never imported.
        return run_client_command(_parser(modules=()).parse_args(words))
    if first == "serve":
        modules: Iterable[str] = ()
    elif first in SERVER_COMMANDS:
        modules = (SERVER_COMMANDS[first],)
    else:  # --help, --version, a mistake: every command, for the list
        modules = dict.fromkeys(SERVER_COMMANDS.values())
    parser = _parser(modules, client=first not in SERVER_COMMANDS and first != "serve")
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return 2
    from dockyard.config import CannotStart, ConfigError

    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"dockyard: {exc}", file=sys.stderr)
        return 2
    except CannotStart as exc:
        print(f"dockyard: {exc}", file=sys.stderr)
        return 1


def _parser(modules: Iterable[str], client: bool = True) -> argparse.ArgumentParser:
    """The parser with the client's commands (unless `client` is false), `serve`, and those of
    the server's command `modules`."""
    parser = argparse.ArgumentParser(prog="dockyard", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dockyard {__version__}")
    commands = parser.add_subparsers(dest="command")
    if client:
        add_client_commands(commands)
    serve = commands.add_parser("serve", help="run the registry")
    serve.add_argument("--config", type=Path, help="YAML configuration file")
    serve.add_argument("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    serve.add_argument("--data", type=Path, help="data directory (default ./data)")
    serve.set_defaults(run=_serve)
    for module in modules:
        importlib.import_module(module).add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from dockyard.config import load_settings
    from dockyard.logs import configure_logging
    from dockyard.server import serve

    overrides: dict[str, Any] = {}
    if args.addr:
        overrides["http"] = {"addr": args.addr}
    if args.data:
        overrides["data_dir"] = args.data
    settings = load_settings(args.config, **overrides)
    configure_logging(settings.log.level, settings.log.format)
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
