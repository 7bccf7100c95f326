"""`dockyard gc [--dry-run]` and `dockyard fsck [--repair]`, with the configuration of
`dockyard serve` (file, environment, --data); both may run while the server serves."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from dockyard.config import Settings, load_settings
from dockyard.db.migrate import upgrade
from dockyard.registry.collection.collector import LeaseLost, collect, summary
from dockyard.registry.collection.consistency import ConsistencyCheck
from dockyard.registry.state import Registry

T = TypeVar("T")


def add_commands(commands: Any) -> None:
    """Register `dockyard gc` and `dockyard fsck` on the `dockyard` parser's subparsers."""
    gc = commands.add_parser(
        "gc", help="delete what no repository uses (online: pushes and pulls go on)"
    )
    gc.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    gc.add_argument(
        "--wait",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="while another process is collecting, wait up to this long for it to finish",
    )
    _common(gc)
    gc.set_defaults(run=_gc)
    fsck = commands.add_parser("fsck", help="check blobs, references and storage agree")
    fsck.add_argument("--repair", action="store_true", help="remove what is provably garbage")
    _common(fsck)
    fsck.set_defaults(run=_fsck)


def _seconds(text: str) -> float:
    """A number of seconds, 0 or more (`nan` would never be reached)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more: {text!r}")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML configuration file")
    parser.add_argument("--data", type=Path, help="data directory (default ./data)")


def _gc(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        report = _with_registry(
            settings,
            lambda registry: collect(registry, settings.registry.gc, args.dry_run, args.wait),
        )
    except LeaseLost as exc:
        print(f"dockyard gc: {exc}", file=sys.stderr)
        return 1
    verb = "would delete" if report.dry_run else "deleted"
    for item in report.deleted:
        size = "" if item.kind == "manifest" else f" ({item.size} bytes)"
        print(f"{verb} {item.kind} {item.name}{size}")
    print(summary(report))
    return 0


def _fsck(args: argparse.Namespace) -> int:
    settings = _settings(args)
    findings = _with_registry(
        settings,
        lambda registry: ConsistencyCheck(registry, settings.registry.gc, args.repair).run(),
    )
    for problem in findings.problems:
        print(problem.line())
    left = len(findings.unrepaired)
    repaired = len(findings.problems) - left
    print(
        f"checked {findings.checked_blobs} blobs and {findings.checked_objects} objects: "
        f"{len(findings.problems)} problems, {repaired} repaired, {left} left"
    )
    return 1 if left else 0


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {"data_dir": args.data} if args.data else {}
    return load_settings(args.config, **overrides)


def _with_registry(settings: Settings, work: Callable[[Registry], Awaitable[T]]) -> T:
    settings.require_registry()
    registry = Registry.from_settings(settings)
    upgrade(registry.database.engine)

    async def main() -> T:
        try:
            return await work(registry)
        finally:
            await registry.driver.close()
            await registry.cache.close()

    try:
        return asyncio.run(main())
    finally:
        registry.database.dispose()
