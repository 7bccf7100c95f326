"""`dockyard events`: each endpoint's backlog, oldest pending event and last failure; `retry`
ends an endpoint's back-off, `discard` forgets its failed (or all its pending) events."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from dockyard.config import EndpointSettings, Settings, load_settings
from dockyard.db.engine import Database
from dockyard.db.migrate import upgrade
from dockyard.registry.events import outbox
from dockyard.registry.metadata import now


def add_commands(commands: Any) -> None:
    """Register `dockyard events` on the `dockyard` parser's subparsers."""
    events = commands.add_parser("events", help="registry events: backlog, retry, discard")
    _common(events)
    events.set_defaults(run=_status, events_command=None)
    actions = events.add_subparsers(dest="events_command")
    status = actions.add_parser("status", help="each endpoint's backlog and last failure")
    _common(status)
    status.set_defaults(run=_status)
    retry = actions.add_parser("retry", help="send an endpoint's failed events now")
    retry.add_argument("endpoint")
    _common(retry)
    retry.set_defaults(run=_retry)
    discard = actions.add_parser("discard", help="forget an endpoint's failed events")
    discard.add_argument("endpoint")
    discard.add_argument("--all", action="store_true", help="every pending event, not only failed")
    _common(discard)
    discard.set_defaults(run=_discard)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data", type=Path, help="data directory (default ./data)")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": args.data} if args.data else {}
    return load_settings(args.config, **overrides)


def _in_database(args: argparse.Namespace, fn: Any, *fn_args: Any) -> Any:
    settings = _settings(args)
    settings.require_registry()
    database = Database(settings.database_url)
    try:
        upgrade(database.engine)
        with database.engine.begin() as connection:
            return fn(connection, *fn_args)
    finally:
        database.dispose()


def _status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configured = {e.name: e for e in settings.notifications.endpoints}
    found = {s.name: s for s in _in_database(args, outbox.statuses)}
    moment = now()
    print(
        f"{'ENDPOINT':<20} {'STATE':<12} {'BACKLOG':>8} {'FAILED':>7}  OLDEST PENDING  LAST FAILURE"
    )
    for name in sorted(set(configured) | set(found)):
        status = found.get(name)
        endpoint = configured.get(name)
        state = _state(name, endpoint)
        waiting = status and status.next_attempt_at and _aware(status.next_attempt_at) > moment
        if waiting and state != "removed":  # a removed one is sent nothing, backing off or not
            state = "backing-off"
        backlog = status.backlog if status else 0
        failed = status.failed if status else 0
        oldest = _age(status.oldest, moment) if status and status.oldest else "-"
        failure = "-"
        if status and status.last_failure_at:
            failure = f"{_when(status.last_failure_at)} {status.last_error or ''}".strip()
        print(f"{name:<20} {state:<12} {backlog:>8} {failed:>7}  {oldest:<14}  {failure}")
    return 0


def _state(name: str, endpoint: EndpointSettings | None) -> str:
    if name.startswith("@"):
        return "built-in"  # a receiver of Dockyard's own: the catalogue, webhooks, replication
    if endpoint is None:
        return "removed"  # its backlog stays until discarded (or until `maxage`)
    return "disabled" if endpoint.disabled else "enabled"


def _retry(args: argparse.Namespace) -> int:
    if not _known(args):
        return 1
    count = _in_database(args, outbox.retry_now, args.endpoint)
    print(f"{count} failed events of {args.endpoint} will be sent at the next attempt")
    return 0


def _discard(args: argparse.Namespace) -> int:
    if not _known(args):
        return 1
    count = _in_database(args, _discard_in, args.endpoint, args.all)
    kind = "pending" if args.all else "failed"
    print(f"discarded {count} {kind} events of {args.endpoint}")
    return 0


def _known(args: argparse.Namespace) -> bool:
    """Whether the endpoint named is configured or has events; if not, say so (a mistyped name
    would otherwise be told "0 events")."""
    configured = {e.name for e in _settings(args).notifications.endpoints}
    if args.endpoint in configured or args.endpoint in {
        s.name for s in _in_database(args, outbox.statuses)
    }:
        return True
    print(
        f"dockyard: no endpoint {args.endpoint!r} is configured or has events"
        " (`dockyard events status` lists them)",
        file=sys.stderr,
    )
    return False


def _discard_in(connection: Connection, endpoint: str, everything: bool) -> int:
    return outbox.discard(connection, endpoint, everything)


def _age(moment: datetime, reference: datetime) -> str:
    seconds = max(0, int((reference - _aware(moment)).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _when(moment: datetime) -> str:
    return _aware(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
