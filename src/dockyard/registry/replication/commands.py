"""`dockyard replication`: each rule with its runs pending, done and failed and the bytes it
moved; `dockyard replication runs`: the latest runs, their state, bytes and last error."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from dockyard.config import Settings, load_settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.replication.status import latest_runs, rules_status


def add_commands(commands: Any) -> None:
    """Register `dockyard replication` on the `dockyard` parser's subparsers."""
    replication = commands.add_parser("replication", help="replication rules and their runs")
    _common(replication)
    replication.set_defaults(run=_one_line_errors(_rules), replication_command=None)
    actions = replication.add_subparsers(dest="replication_command")
    rules = actions.add_parser("rules", help="each rule, its runs and the bytes it moved")
    _common(rules)
    rules.set_defaults(run=_one_line_errors(_rules))
    runs = actions.add_parser("runs", help="the latest runs, newest first")
    runs.add_argument("--rule", help="of this rule only")
    runs.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    _common(runs)
    runs.set_defaults(run=_one_line_errors(_runs))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data", type=Path, help="data directory (default ./data)")
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": args.data} if args.data else {}
    return load_settings(args.config, **overrides)


class Unreadable(Exception):
    """The database cannot be read: one line, and exit 1."""


def _in_database(settings: Settings, fn: Any, *fn_args: Any) -> Any:
    settings.require_registry()
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
        with database.engine.begin() as connection:
            return fn(connection, *fn_args)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise Unreadable(f"cannot read the database {database.engine.url!r}: {reason}") from None
    finally:
        database.dispose()


def _one_line_errors(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except Unreadable as exc:
            print(f"dockyard: {exc}", file=sys.stderr)
            return 1

    return run


def _rules(args: argparse.Namespace) -> int:
    settings = _settings(args)
    found = _in_database(settings, rules_status, settings.replication)
    lines = [rule.as_dict() for rule in found]
    if args.json:
        print(json.dumps(lines, indent=2))
        return 0
    print(
        f"{'RULE':<20} {'DIRECTION':<9} {'PENDING':>7} {'DONE':>6} {'FAILED':>6} {'BYTES':>12}"
        "  REGISTRY"
    )
    for line in lines:
        print(
            f"{line['name']:<20} {line['direction']:<9} {line['pending']:>7} {line['done']:>6}"
            f" {line['failed']:>6} {line['bytes']:>12}  {line['registry']}"
        )
    return 0


def _runs(args: argparse.Namespace) -> int:
    settings = _settings(args)
    names = {rule.name for rule in settings.replication.rules}
    if args.rule is not None and args.rule not in names:
        print(f"dockyard: no replication rule named {args.rule!r} is configured", file=sys.stderr)
        return 1
    if args.limit < 1:
        print("dockyard: --limit must be at least 1", file=sys.stderr)
        return 1
    found = _in_database(settings, latest_runs, args.rule, args.limit)
    lines = [run.as_dict() for run in found]
    if args.json:
        print(json.dumps(lines, indent=2))
        return 0
    print(f"{'ID':>6} {'RULE':<16} {'STATE':<8} {'TRIES':>5} {'BYTES':>12}  IMAGE  ERROR")
    for line in lines:
        image = f"{line['repository']}:{line['tag']}"
        print(
            f"{line['id']:>6} {line['rule']:<16} {line['state']:<8} {line['attempts']:>5}"
            f" {line['bytes']:>12}  {image}  {line['error'] or ''}".rstrip()
        )
    return 0
