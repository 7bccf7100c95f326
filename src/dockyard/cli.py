"""The `dockyard` command: the server's commands (serve, gc, fsck, ...) and the registry
client's (login, push, pull, copy, inspect, ...)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dockyard import __version__
from dockyard.client_cli import COMMANDS as CLIENT_COMMANDS
from dockyard.client_cli import add_commands as add_client_commands
from dockyard.client_cli import run_command as run_client_command


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    if words and words[0] in CLIENT_COMMANDS:
        # A client command: the server's modules (and their dependencies) are never imported.
        return run_client_command(_parser(server=False).parse_args(words))
    parser = _parser()
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help()
        return 2
    from dockyard.config import ConfigError

    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"dockyard: {exc}", file=sys.stderr)
        return 2


def _parser(server: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dockyard", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dockyard {__version__}")
    commands = parser.add_subparsers(dest="command")
    add_client_commands(commands)
    if not server:
        return parser
    serve = commands.add_parser("serve", help="run the registry")
    serve.add_argument("--config", type=Path, help="YAML configuration file")
    serve.add_argument("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    serve.add_argument("--data", type=Path, help="data directory (default ./data)")
    serve.set_defaults(run=_serve)
    from dockyard.index.commands import add_commands
    from dockyard.registry.collection.commands import add_commands as add_collection_commands
    from dockyard.registry.events.commands import add_commands as add_event_commands
    from dockyard.registry.policies.commands import add_commands as add_policy_commands
    from dockyard.registry.replication.commands import add_commands as add_replication_commands

    add_commands(commands)
    add_event_commands(commands)
    add_collection_commands(commands)
    add_policy_commands(commands)
    add_replication_commands(commands)
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
