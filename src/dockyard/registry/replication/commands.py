"""`dockyard replication`: each rule with its runs pending, done and failed and the bytes it
moved; `dockyard replication runs`: the latest runs, their state, bytes and last error."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from dockyard.config import Settings, load_settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.replication import repository


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


def rule_lines(settings: Settings, summaries: dict[str, Any]) -> list[dict[str, Any]]:
    """Each configured rule (and any that left runs but is configured no more) with its runs."""
    configured = {rule.name: rule for rule in settings.replication.rules}
    lines = []
    for name in sorted(set(configured) | set(summaries)):
        rule, found = configured.get(name), summaries.get(name)
        lines.append(
            {
                "name": name,
                "direction": rule.direction if rule else "unknown",
                "registry": rule.registry if rule else "",
                "pending": int(found.pending) if found else 0,
                "done": int(found.done) if found else 0,
                "failed": int(found.failed) if found else 0,
                "bytes": int(found.bytes) if found else 0,
                "last_finished_at": _when(found.last_finished_at) if found else None,
            }
        )
    return lines


def run_line(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "repository": row.repository,
        "tag": row.tag,
        "digest": row.digest,
        "state": row.state,
        "attempts": row.attempts,
        "bytes": row.bytes,
        "blobs_sent": row.blobs_sent,
        "blobs_skipped": row.blobs_skipped,
        "error": row.error,
        "created_at": _when(row.created_at),
        "finished_at": _when(row.finished_at),
    }


def _rules(args: argparse.Namespace) -> int:
    settings = _settings(args)
    lines = rule_lines(settings, _in_database(settings, repository.summaries))
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
    rows = _in_database(settings, _latest, args.rule, args.limit)
    lines = [run_line(row) for row in rows]
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


def _latest(connection: Connection, rule: str | None, limit: int) -> list[Any]:
    return repository.runs_of(connection, rule, limit)


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
